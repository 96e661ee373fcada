"""How much disk a run writes, checked against the free space before training starts.

A full fine-tuning checkpoint holds the weights and AdamW's two moments: three copies of the model
(MiniLM-L6: 90 + 181 MB). The Trainer writes a new checkpoint before it deletes the oldest, so
save_total_limit + 1 of them exist at once. A disk that fills at the first checkpoint wastes the
training done until then and leaves a half-written checkpoint; refusing to start costs nothing.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from workbench.config import RunConfig
from workbench.errors import WorkbenchError
from workbench.runs.store import Run, human_size

ADAM_MOMENTS = 2  # AdamW keeps exp_avg and exp_avg_sq per trainable parameter
FREEING = ("delete runs you no longer need, or the checkpoints of finished runs: "
           "`workbench delete RUN --checkpoints`, or the Runs tab")
NEARLY_FULL = 32 * 2**20  # less free than this after a failed write: the disk is why it failed
SMALL_FILES = 2 * 2**20  # tokenizer, config, trainer state, rng state: about 1 MB with MiniLM's vocabulary


def saved_bytes(model) -> int:
    """Bytes of the weights a save writes: all of them, or only the trainable ones of a peft model
    (its adapter and the head)."""
    from peft import PeftModel

    adapter_only = isinstance(model, PeftModel)
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad or not adapter_only)


def checkpoint_bytes(model) -> int:
    optimizer = sum(ADAM_MOMENTS * p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return saved_bytes(model) + optimizer + SMALL_FILES


def disk_needed(model, cfg: RunConfig, train_rows: int, complete_checkpoints: int = 0) -> int:
    """Bytes the run will still add: the checkpoints at their peak (less those already on disk,
    which the rotation deletes) and the final model."""
    from workbench.train.steps import eval_and_save_steps, planned_steps

    _, save_steps = eval_and_save_steps(cfg, train_rows)
    saves = planned_steps(cfg, train_rows) // save_steps
    at_once = cfg.train.save_total_limit + 1 + (cfg.train.select_best != "none")  # the best is kept aside
    new_checkpoints = max(0, min(at_once, saves) - complete_checkpoints)
    return new_checkpoints * checkpoint_bytes(model) + saved_bytes(model) + SMALL_FILES


def require_disk_for(cfg: RunConfig, split_rows: dict[str, int], num_labels: int) -> None:
    """The same check before the run exists (the CLI's train and check, the app's Start), on the
    model built on the meta device: a run refused for space is then a message, not a failed run."""
    from workbench.catalog import resolve_model
    from workbench.data.prepare import expected_train_rows
    from workbench.tasks.classify import meta_model

    try:
        model = meta_model(cfg, resolve_model(cfg.model.name, cfg.runs_dir), num_labels)
    except WorkbenchError:
        raise
    except Exception:  # a model whose code cannot be built on the meta device: the run checks itself
        return
    rows = expected_train_rows(cfg.data, split_rows, num_labels)
    require_disk_space(Path(cfg.runs_dir).absolute(), disk_needed(model, cfg, rows))


def free_space(folder: Path) -> int:
    """Free bytes on the disk that holds `folder`, or would hold it (a folder not made yet)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def require_disk_space(folder: Path, needed: int) -> None:
    free = free_space(folder)
    if free < needed:
        raise WorkbenchError(
            f"not enough disk space: this run writes about {human_size(needed)} (its checkpoints and the "
            f"final model) and the disk holding {folder} has {human_size(free)} free; free some space "
            f"({FREEING}), set train.save_total_limit to 1, or set runs_dir to a folder on a larger disk")


def is_disk_full(err: BaseException, folder: Path | None = None) -> bool:
    """ENOSPC, however it arrives: an OSError from Python, a message from safetensors' Rust writer
    ("I/O error: No space left on device (os error 28)"), or, as torch.save reports it, an error
    that names no cause ("basic_ios::clear: iostream error") on a disk with next to nothing left."""
    if folder is not None and _free(folder) < NEARLY_FULL:
        return True
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(err) or "Disk quota exceeded" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def remove_partial_saves(run: Run) -> None:
    """Delete what a full disk cut short (a checkpoint without its trainer state, a half-saved
    model): useless for resuming, and the space lets the run's status be written."""
    complete = set(run.complete_checkpoints())
    partial = [p for p in run.checkpoints_dir.glob("checkpoint-*") if p.is_dir() and p not in complete]
    for folder in partial + [run.model_dir.with_name("model.tmp")]:
        shutil.rmtree(folder, ignore_errors=True)


def _free(folder: Path) -> float:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return float("inf")


def disk_full_message(folder: Path) -> str:
    free = _free(folder)
    free = f" ({human_size(free)} free now)" if free != float("inf") else ""
    return (f"the disk holding {folder} is full{free}: free some space ({FREEING}), "
            "then resume the run: it continues from its last complete checkpoint")
