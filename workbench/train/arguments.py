"""A run's transformers TrainingArguments: set from its RunConfig, plus `train.trainer_arguments`
passed through as given.

The pass-through is for what transformers offers beyond the config's fields (another optimizer,
label smoothing, torch.compile, NEFTune noise, report_to tensorboard...), as LLaMA-Factory's extra
arguments are. It cannot set what the run sets itself: a field with its own config key is refused
with that key, and the few the run folder depends on with the reason, so there is one place for
each setting. A name TrainingArguments does not have, or a value it refuses, is reported before
the run exists (preflight.check_settings), and again by the run for a config edited in its folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tempfile
import types
import typing

import torch
from transformers import TrainingArguments

from workbench.config import OTHER_TOOLS_NAMES, RunConfig
from workbench.errors import ConfigError
from workbench.runs.store import Run
from workbench.train.steps import eval_and_save_steps, planned_steps

# TrainingArguments the run sets from a config field: the field to set instead.
FROM_CONFIG = {
    "num_train_epochs": "train.epochs", "max_steps": "train.max_steps",
    "per_device_train_batch_size": "train.batch_size", "per_device_eval_batch_size": "train.eval_batch_size",
    "gradient_accumulation_steps": "train.gradient_accumulation_steps", "learning_rate": "train.learning_rate",
    "weight_decay": "train.weight_decay", "warmup_steps": "train.warmup", "lr_scheduler_type": "train.scheduler",
    "max_grad_norm": "train.max_grad_norm", "logging_steps": "train.logging_steps",
    "eval_steps": "train.eval_steps", "save_steps": "train.save_steps", "save_total_limit": "train.save_total_limit",
    "seed": "train.seed", "data_seed": "train.seed", "dataloader_num_workers": "train.dataloader_workers",
    "activation_checkpointing": "train.activation_checkpointing",
    "gradient_checkpointing": "train.activation_checkpointing",
    "bf16": "train.precision", "fp16": "train.precision", "use_cpu": "devices",
    "load_best_model_at_end": "train.select_best", "metric_for_best_model": "train.select_best",
    "greater_is_better": "train.select_best", "train_sampling_strategy": "train.group_by_length",
    "group_by_length": "train.group_by_length",
    "restore_callback_states_from_checkpoint": "train.early_stopping_patience",
}
# TrainingArguments the run folder depends on: why they stay as the run sets them.
SET_BY_RUN = {
    "output_dir": "checkpoints go into the run folder, where resume and the Runs tab find them",
    "eval_strategy": "the run evaluates every train.eval_steps steps: set that",
    "save_strategy": "the run checkpoints every train.save_steps steps: set that",
    "remove_unused_columns": "the length-grouped batches read each row's token count from its own column",
}


# Ways of training the run's saving and evaluation are not built for: the final model is written
# by the first process alone, while a sharded model needs every process to gather it.
SHARDED = "is not supported: several GPUs train data-parallel, each holding the whole model (DDP); " \
          "for a model too large for one GPU use method lora or train.activation_checkpointing"
UNSUPPORTED = {"fsdp": f"sharded training (FSDP) {SHARDED}", "fsdp_config": f"sharded training (FSDP) {SHARDED}",
               "deepspeed": f"DeepSpeed {SHARDED}"}


def on_cpu(cfg: RunConfig) -> bool:
    return cfg.devices == "cpu" or not torch.cuda.is_available()


def precision_flags(cfg: RunConfig) -> dict:
    precision = cfg.train.precision
    if precision == "auto":
        precision = "bf16" if not on_cpu(cfg) and torch.cuda.is_bf16_supported() else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


# What the run sets that the pass-through may change: they only say how the run reports.
REPORTING = ("logging_first_step", "report_to", "disable_tqdm")


def training_arguments(cfg: RunConfig, run: Run, train_rows: int) -> TrainingArguments:
    require_trainer_arguments(cfg)
    return TrainingArguments(**run_arguments(cfg, run, train_rows), **cfg.train.trainer_arguments)


def run_arguments(cfg: RunConfig, run: Run, train_rows: int) -> dict:
    """The TrainingArguments the run sets: from its config, and for its folder. The pass-through
    may only change REPORTING among them (checked by trainer_argument_problems)."""
    t = cfg.train
    total = planned_steps(cfg, train_rows)
    select_best = t.select_best != "none"
    eval_steps, save_steps = eval_and_save_steps(cfg, train_rows)
    # Every 10 steps, but a short run (a few hundred rows) still draws a curve of ~20 points.
    logging_steps = t.logging_steps if t.logging_steps != "auto" else max(1, min(10, math.ceil(total / 20)))
    arguments = {
        "output_dir": str(run.checkpoints_dir),
        "num_train_epochs": t.epochs,
        "max_steps": t.max_steps,
        "per_device_train_batch_size": t.batch_size,
        "per_device_eval_batch_size": t.eval_batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "learning_rate": t.learning_rate,
        "weight_decay": t.weight_decay,
        "warmup_steps": t.warmup,
        "lr_scheduler_type": t.scheduler,
        "max_grad_norm": t.max_grad_norm,
        "logging_steps": logging_steps,
        "logging_first_step": True,
        "eval_strategy": "steps",
        "eval_steps": eval_steps,
        "save_strategy": "steps",
        "save_steps": save_steps,
        "save_total_limit": t.save_total_limit,
        # The Trainer keeps the best checkpoint out of the save_total_limit rotation.
        "load_best_model_at_end": select_best,
        "metric_for_best_model": t.select_best if select_best else None,
        "greater_is_better": t.select_best != "loss" if select_best else None,
        # The early-stopping counter lives in the checkpoint, so resume carries on counting.
        "restore_callback_states_from_checkpoint": t.early_stopping_patience > 0,
        "seed": t.seed,
        "data_seed": t.seed,
        # Length grouping is WorkbenchTrainer's own (train/sampler.py), not transformers' sampler.
        "train_sampling_strategy": "random",
        "remove_unused_columns": False,  # keep "length" for the sampler; forward ignores it
        "dataloader_num_workers": t.dataloader_workers,
        "use_cpu": on_cpu(cfg),
        "activation_checkpointing": t.activation_checkpointing,
        "report_to": [],  # the run folder records the metrics; trainer_arguments may add a tracker
        "disable_tqdm": True,
        **precision_flags(cfg),
    }
    # The pass-through's REPORTING names replace the run's; any other it holds was refused.
    return {name: value for name, value in arguments.items() if name not in t.trainer_arguments}


def trainer_argument_problems(cfg: RunConfig) -> list[tuple[str, str]]:
    """(field, message with the fix) for each name in train.trainer_arguments that is not a
    TrainingArguments field or is one the run sets; then, if the names are fine, what
    TrainingArguments says of the values."""
    passed = cfg.train.trainer_arguments
    if not passed:
        return []
    known = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
    problems = []
    for name in passed:
        path = f"train.trainer_arguments.{name}"
        if name in FROM_CONFIG:
            problems.append((path, f"the run sets it from {FROM_CONFIG[name]}: set that instead"))
        elif name in SET_BY_RUN:
            problems.append((path, f"the run sets it itself: {SET_BY_RUN[name]}"))
        elif name in UNSUPPORTED:
            problems.append((path, UNSUPPORTED[name]))
        elif name not in known:
            problems.append((path, f"is not an argument of transformers' TrainingArguments; {_closest(name, known)}"))
        else:
            problems += _type_problems(name, passed[name])
    if "report_to" in passed:
        problems += _tracker_problems(passed["report_to"])
    if problems:
        return problems
    try:
        with tempfile.TemporaryDirectory() as folder:
            args = TrainingArguments(**{"output_dir": folder, "report_to": [], **precision_flags(cfg),
                                        "lr_scheduler_type": cfg.train.scheduler, **passed, "use_cpu": on_cpu(cfg)})
    except (ValueError, TypeError, ImportError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return [("train.trainer_arguments", f"TrainingArguments refused {passed}: {first}")]
    return _optimizer_problems(args, passed)


def _closest(name: str, known: set[str]) -> str:
    """The argument meant, and where to set it when the run sets that one itself: warmup_ratio (gone
    in transformers 5) was "did you mean 'warmup_steps'?", which was then refused for train.warmup."""
    other = OTHER_TOOLS_NAMES.get(name, "")
    if other and not other.startswith("train.trainer_arguments."):  # lr, warmup_ratio, max_seq_length
        return f"set {other} instead"
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if not close:
        return "see the TrainingArguments documentation of transformers"
    meant = close[0]
    if meant in FROM_CONFIG:
        return f"if you meant '{meant}', set {FROM_CONFIG[meant]} instead (the run sets it from there)"
    if meant in SET_BY_RUN:
        return f"if you meant '{meant}', the run sets it itself: {SET_BY_RUN[meant]}"
    return f"did you mean '{meant}'?"


# The plain types a TrainingArguments field may have, as a config's message names them. Fields of
# other types (enums, dicts, lists) are checked by TrainingArguments itself.
PLAIN_TYPES = {bool: "true or false", int: "a whole number", float: "a number", str: "text", type(None): "empty"}


def _type_problems(name: str, value) -> list[tuple[str, str]]:
    """A value of the wrong type for a plain field: TrainingArguments keeps it as given, and the run
    failed at its first step (label_smoothing_factor: abc -> TypeError in the loss)."""
    hint = typing.get_type_hints(TrainingArguments).get(name)
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if not options or not all(option in PLAIN_TYPES for option in options):
        return []
    fits = {bool: lambda v: isinstance(v, bool), int: lambda v: isinstance(v, int) and not isinstance(v, bool),
            float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            str: lambda v: isinstance(v, str), type(None): lambda v: v is None}
    if any(fits[option](value) for option in options):
        return []
    wanted = " or ".join(PLAIN_TYPES[option] for option in options)
    return [(f"train.trainer_arguments.{name}", f"{value!r} is not {wanted}")]


# Optimizers built from the model itself (the layers they project or fuse): a stand-in cannot check them.
MODEL_BOUND_OPTIMIZERS = ("galore", "apollo", "lomo")


def _optimizer_problems(args: TrainingArguments, passed: dict) -> list[tuple[str, str]]:
    """Some values TrainingArguments takes fail only when the Trainer builds its optimizer and
    schedule, minutes into the run (optim_args: 5, lr_scheduler_kwargs: 5): build both here for a
    one-weight stand-in model."""
    import torch
    from transformers import Trainer, get_scheduler

    if any(family in str(args.optim) for family in MODEL_BOUND_OPTIMIZERS):
        return []
    stand_in = torch.nn.Linear(1, 1)
    try:
        optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, stand_in)
        optimizer = optimizer_cls(stand_in.parameters(), **optimizer_kwargs)
        get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=1, num_training_steps=10,
                      scheduler_specific_kwargs=args.lr_scheduler_kwargs)
    except Exception as err:  # whatever the optimizer's or schedule's own code raises for a bad value
        first = (str(err).strip().splitlines() or [""])[0]
        return [("train.trainer_arguments", f"the optimizer or learning-rate schedule cannot be built from "
                 f"{passed}: {type(err).__name__}: {first}")]
    return []


def _tracker_problems(report_to) -> list[tuple[str, str]]:
    """Trackers that transformers does not know, or whose package is not installed: the Trainer
    would fail as it starts, after the data was read and the model loaded."""
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK, get_available_reporting_integrations

    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    installed = set(get_available_reporting_integrations())
    problems = []
    for name in names:
        if name in ("none", "all"):
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            problems.append(("train.trainer_arguments.report_to", f"'{name}' is not a tracker transformers reports "
                             f"to; choose from {', '.join(INTEGRATION_TO_CALLBACK)}"))
        elif name not in installed:
            package = {"comet_ml": "comet-ml", "azure_ml": "azureml-core"}.get(name, name)
            problems.append(("train.trainer_arguments.report_to", f"'{name}' is not installed here: "
                             f"`pip install {package}`, or leave it out (the run folder records the metrics anyway)"))
    return problems


def require_trainer_arguments(cfg: RunConfig) -> None:
    problems = trainer_argument_problems(cfg)
    if problems:
        raise ConfigError(problems)
