"""How many optimizer steps a run makes, and a warning when that is too few to learn from (or
all of it is warmup).

Light on imports (no transformers) so the pre-flight of the CLI and the app can ask before a run
exists; the training process uses the same count for its evaluation and logging cadence.
"""

from __future__ import annotations

import math

import torch

from workbench.config import RunConfig
from workbench.train.launch import gpu_indices


def _world_size(cfg: RunConfig) -> int:
    """The processes that share each step's rows: one per GPU the run trains on (launch.py)."""
    if cfg.devices == "cpu" or not torch.cuda.is_available():
        return 1
    return len(gpu_indices(cfg.devices)) or max(1, int(torch.cuda.device_count()))


def steps_per_epoch(cfg: RunConfig, train_rows: int) -> int:
    t = cfg.train
    return max(1, math.ceil(train_rows / (t.batch_size * t.gradient_accumulation_steps * _world_size(cfg))))


def planned_steps(cfg: RunConfig, train_rows: int) -> int:
    """Optimizer steps the run will make, as the Trainer counts them."""
    t = cfg.train
    return t.max_steps if t.max_steps > 0 else max(1, math.ceil(steps_per_epoch(cfg, train_rows) * t.epochs))


def eval_and_save_steps(cfg: RunConfig, train_rows: int) -> tuple[int, int]:
    """(eval_steps, save_steps) with "auto" worked out: about four evaluations a run, and a
    checkpoint at each. With select_best the best is chosen among checkpoints: evaluate at each
    one, and at least once an epoch, so a long run (and its early stopping) has more than four
    candidates."""
    t = cfg.train
    eval_steps = t.eval_steps if t.eval_steps != "auto" else max(1, math.ceil(planned_steps(cfg, train_rows) / 4))
    if t.select_best != "none" and t.eval_steps == "auto":
        eval_steps = t.save_steps if t.save_steps != "auto" else min(eval_steps, steps_per_epoch(cfg, train_rows))
    save_steps = t.save_steps if t.save_steps != "auto" else eval_steps
    return eval_steps, save_steps


def step_count_warning(cfg: RunConfig, train_rows: int) -> str | None:
    """A run of a handful of steps ends before warmup and decay mean anything; say so, with the
    fix, unless max_steps was set by hand (then a short run is what was asked for). A warmup of
    more steps than the run has never lets the learning rate reach its peak: say that too."""
    t = cfg.train
    steps = planned_steps(cfg, train_rows)
    if t.warmup >= 1 and t.warmup >= steps:
        return (f"train.warmup is {t.warmup:g} steps but this run makes {steps}: the learning rate never "
                "reaches its peak; give warmup as a fraction of the steps (0.1 = the first 10 %) or "
                f"fewer than {steps} steps")
    if t.max_steps > 0 or steps >= 10:
        return None
    per_step = t.batch_size * t.gradient_accumulation_steps * _world_size(cfg)
    # The knob that made the step large: the batch, or the batches accumulated into one step.
    knob = "train.gradient_accumulation_steps" if t.gradient_accumulation_steps > 1 else "train.batch_size"
    if per_step >= train_rows:
        fix = f"lower {knob}" + (f" below {train_rows}" if knob == "train.batch_size" else
                                 f" (each step takes {t.batch_size} x {t.gradient_accumulation_steps} rows)")
        how = f"a batch of {per_step} takes all {train_rows} training rows at once"
    else:
        fix = f"raise train.epochs (e.g. {math.ceil(t.epochs * 10 / steps)}) or lower {knob}"
        how = f"{train_rows} training rows in batches of {per_step}"
    return (f"this run makes only {steps} optimizer step{'s' if steps > 1 else ''} ({how}, "
            f"{t.epochs:g} epoch{'s' if t.epochs != 1 else ''}): too few to learn from; {fix}")


def run_length_warning(cfg: RunConfig, split_rows: dict[str, int], classes: int = 0) -> str | None:
    """step_count_warning for data a pre-flight report counted (rows per split, classes), before
    the run exists."""
    from workbench.data.prepare import expected_train_rows  # datasets and sklearn: only when asked

    return step_count_warning(cfg, expected_train_rows(cfg.data, split_rows, classes))
