"""The Train form <-> RunConfig, as pure functions (no gradio here, so they are easy to test).

The form is a flat dict {field key: widget value}. `FIELDS` says, for each key, which RunConfig
field it edits and how the widget's value converts (a learning-rate textbox holds "auto" or a
number, an optional row limit holds a number or nothing, ...). The Train tab builds its widgets
in the order of `FIELDS` and passes their values back in that order.

Adding a task or a method is adding its fields here with `group="task:<name>"` or
`group="method:<name>"`; the Train tab shows a group only while its task or method is chosen.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import yaml

from workbench.config import RunConfig, load_yaml
from workbench.errors import ConfigError

NO_COLUMN = "(none)"  # the text-pair dropdown's choice for "single sentences"
AUTO = "auto"


@dataclass(frozen=True)
class Field:
    key: str  # the form's name for it
    path: str  # the dotted RunConfig field it edits
    kind: str  # how the widget value converts; see _to_config and _to_form
    group: str  # where the Train tab shows it: model, task:<t>, method:<m>, data, basic, advanced, run


FIELDS: tuple[Field, ...] = (
    Field("model", "model.name", "text", "model"),
    Field("trust_remote_code", "model.trust_remote_code", "bool", "advanced"),
    Field("task", "task.type", "choice", "model"),
    Field("pooling", "task.pooling", "choice", "task:classification"),
    Field("max_length", "task.max_length", "int", "task:classification"),
    Field("method", "method.type", "choice", "model"),
    Field("lora_r", "method.lora.r", "int", "method:lora"),
    Field("lora_alpha", "method.lora.alpha", "int", "method:lora"),
    Field("lora_dropout", "method.lora.dropout", "float", "method:lora"),
    Field("lora_target_modules", "method.lora.target_modules", "target_modules", "method:lora"),
    Field("freeze_trainable_layers", "method.freeze.trainable_layers", "int", "method:freeze"),
    Field("data_path", "data.path", "text", "data"),
    Field("text_column", "data.text_column", "column", "data"),
    Field("text_pair_column", "data.text_pair_column", "pair_column", "data"),
    Field("label_column", "data.label_column", "column", "data"),
    Field("label_names", "data.label_names", "name_list", "data"),
    Field("validation_fraction", "data.validation_fraction", "float", "advanced"),
    Field("max_train_samples", "data.max_train_samples", "optional_int", "advanced"),
    Field("max_eval_samples", "data.max_eval_samples", "optional_int", "advanced"),
    Field("min_rows_per_class", "data.min_rows_per_class", "int", "advanced"),
    Field("epochs", "train.epochs", "float", "basic"),
    Field("max_steps", "train.max_steps", "int", "basic"),
    Field("learning_rate", "train.learning_rate", "auto_float", "basic"),
    Field("batch_size", "train.batch_size", "int", "basic"),
    Field("head_learning_rate", "train.head_learning_rate", "auto_float", "advanced"),
    Field("eval_batch_size", "train.eval_batch_size", "int", "advanced"),
    Field("gradient_accumulation_steps", "train.gradient_accumulation_steps", "int", "advanced"),
    Field("weight_decay", "train.weight_decay", "float", "advanced"),
    Field("layer_decay", "train.layer_decay", "float", "advanced"),
    Field("warmup", "train.warmup", "float", "advanced"),
    Field("scheduler", "train.scheduler", "choice", "advanced"),
    Field("max_grad_norm", "train.max_grad_norm", "float", "advanced"),
    Field("logging_steps", "train.logging_steps", "auto_int", "advanced"),
    Field("eval_steps", "train.eval_steps", "auto_int", "advanced"),
    Field("save_steps", "train.save_steps", "auto_int", "advanced"),
    Field("save_total_limit", "train.save_total_limit", "int", "advanced"),
    Field("class_weights", "train.class_weights", "choice", "advanced"),
    Field("select_best", "train.select_best", "choice", "advanced"),
    Field("early_stopping_patience", "train.early_stopping_patience", "int", "advanced"),
    Field("seed", "train.seed", "int", "advanced"),
    Field("data_seed", "data.seed", "optional_int", "advanced"),
    Field("precision", "train.precision", "choice", "advanced"),
    Field("group_by_length", "train.group_by_length", "bool", "advanced"),
    Field("dataloader_workers", "train.dataloader_workers", "int", "advanced"),
    Field("activation_checkpointing", "train.activation_checkpointing", "bool", "advanced"),
    Field("trainer_arguments", "train.trainer_arguments", "mapping", "advanced"),
    Field("devices", "devices", "devices", "run"),
    Field("name", "name", "optional_text", "run"),
)
FORM_KEYS = tuple(f.key for f in FIELDS)
BY_KEY = {f.key: f for f in FIELDS}
# RunConfig fields the form does not edit: the app decides where runs live.
NOT_IN_FORM = ("runs_dir",)


def form_to_config(values: dict[str, Any], runs_dir: str = "runs",
                   detected_modules: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """A RunConfig from form values. Raises ConfigError naming every field it cannot read.

    `detected_modules` are the LoRA target modules found in the model: ticking all of them is
    saved as "auto", so the config stays right if the base model changes.
    """
    data: dict[str, Any] = {"runs_dir": runs_dir}
    problems: list[tuple[str, str]] = []
    uses_lora = values.get("method", "lora") == "lora"
    for field in FIELDS:
        if field.key not in values:
            continue
        try:
            value = _to_config(field.kind, values[field.key], detected_modules, uses_lora)
        except ValueError as err:
            problems.append((field.path, str(err)))
            continue
        _set(data, field.path, value)
    if problems:
        raise ConfigError(problems)
    return RunConfig.from_dict(data)


def config_to_form(cfg: RunConfig, detected_modules: list[str] | tuple[str, ...] = (),
                   gpu_indices: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The form values that show a RunConfig (the inverse of form_to_config). Raises ConfigError
    when a field the form shows as a choice holds a value that is not one.

    `gpu_indices` are the GPUs this machine has: devices "auto" ticks all of them.
    """
    from workbench.config import validation_problems

    # A choice widget cannot show a value outside its choices (gradio then fails every event that
    # reads it), so a config with one (method qlora, from a newer version or a typo) is refused.
    choices = {f.path for f in FIELDS if f.kind == "choice"}
    wrong = [(path, message) for path, message in validation_problems(cfg) if path in choices]
    if wrong:
        raise ConfigError(wrong)
    data = cfg.to_dict()
    return {f.key: _to_form(f.kind, _get(data, f.path), detected_modules, gpu_indices) for f in FIELDS}


# ---- conversions, one per widget kind ------------------------------------------------------------

def _to_config(kind: str, value: Any, detected_modules, uses_lora: bool = True) -> Any:
    if kind == "text":
        return str(value or "").strip()
    if kind == "optional_text":
        text = str(value or "").strip()
        return text or None
    if kind == "choice":
        return value
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return whole_number(value)
    if kind == "optional_int":  # a text box: empty is "none", and 0 stays a number (data seed 0)
        text = str(value if value is not None else "").strip()
        return None if text == "" else whole_number(text)
    if kind == "float":
        if value in (None, ""):
            raise ValueError("is empty; give a number")
        return float(value)
    if kind in ("auto_float", "auto_int"):
        text = str(value if value is not None else "").strip().lower()
        if text in ("", AUTO):
            return AUTO
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"'{value}' is not a number or auto") from None
        return whole_number(number) if kind == "auto_int" else number
    if kind == "column":
        return value or AUTO
    if kind == "pair_column":
        return None if value in (None, NO_COLUMN) else value or AUTO
    if kind == "name_list":
        names = [n.strip() for n in str(value or "").split(",") if n.strip()]
        return names or None
    if kind == "target_modules":
        chosen = sorted(value or [])
        if detected_modules and chosen == sorted(detected_modules):
            return AUTO
        if not chosen:
            # Nothing ticked only matters when LoRA is the method (and the model is known).
            if uses_lora and detected_modules:
                raise ValueError("no module ticked; tick the layers LoRA should adapt")
            return AUTO
        return chosen
    if kind == "devices":
        return devices_to_config(value)
    if kind == "mapping":  # YAML typed in a text box: {optim: adafactor, label_smoothing_factor: 0.1}
        text = str(value or "").strip()
        try:
            mapping = load_yaml(text) if text else {}
        except yaml.YAMLError as err:
            raise ValueError(f"'{text}' cannot be read ({getattr(err, 'problem', None) or 'not YAML'}); write "
                             "name: value pairs in braces, e.g. {optim: adafactor, label_smoothing_factor: 0.1}") from None
        if not isinstance(mapping, dict):
            raise ValueError(f"'{text}' is not name: value pairs; write them in braces, e.g. {{optim: adafactor}}")
        return mapping
    raise AssertionError(f"unknown field kind {kind}")


def _to_form(kind: str, value: Any, detected_modules, gpu_indices) -> Any:
    if kind in ("text", "optional_text"):
        return value or ""
    if kind == "optional_int":
        return "" if value is None else str(value)
    if kind in ("auto_float", "auto_int"):
        return AUTO if value == AUTO else f"{value:g}"
    if kind == "pair_column":
        return NO_COLUMN if value is None else value
    if kind == "name_list":
        return ", ".join(value or [])
    if kind == "target_modules":
        if value == AUTO:
            return list(detected_modules)
        return [m.strip() for m in value.split(",")] if isinstance(value, str) else list(value)
    if kind == "devices":
        return devices_to_form(value, gpu_indices)
    if kind == "mapping":
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip() if value else ""
    return value


def whole_number(value: Any) -> int:
    if value is None or value == "":
        raise ValueError("is empty; give a whole number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a whole number") from None
    if not number.is_integer():
        raise ValueError(f"{value} is not a whole number")
    return int(number)


# ---- devices -----------------------------------------------------------------------------------

def devices_to_config(selected: list[str] | None) -> str:
    """Ticked devices -> RunConfig.devices: ["cpu"] -> "cpu", ["0", "1"] -> "0,1", [] -> "auto"."""
    selected = list(selected or [])
    gpus = sorted((d for d in selected if d != "cpu"), key=int)
    if "cpu" in selected and gpus:
        raise ValueError("tick either the CPU or GPUs, not both")
    if "cpu" in selected:
        return "cpu"
    return ",".join(gpus) if gpus else AUTO


def devices_to_form(devices: str, gpu_indices: list[str] | tuple[str, ...] = ()) -> list[str]:
    """RunConfig.devices -> ticked devices; "auto" means every GPU there is, else the CPU."""
    if devices == AUTO:
        return list(gpu_indices) or ["cpu"]
    if devices == "cpu":
        return ["cpu"]
    return [d.strip() for d in devices.split(",") if d.strip()]


# ---- the equivalent command line -----------------------------------------------------------------

def cli_command(cfg: RunConfig) -> str:
    """`workbench train ...` that builds the same config: a flag or --set for each non-default."""
    from workbench.cli import FLAGS

    flag_for = {path: flag for flag, path in FLAGS.items()}
    current, default = _flatten(cfg.to_dict()), _flatten(RunConfig().to_dict())
    parts = ["workbench", "train"]
    for path, value in current.items():
        if value == default.get(path):
            continue
        literal = _yaml_literal(value)
        if path in flag_for and value is not None and not isinstance(value, (list, bool)) \
                and load_yaml(str(value)) == value:
            parts += [f"--{flag_for[path].replace('_', '-')}", shlex.quote(str(value))]
        else:
            parts += ["--set", shlex.quote(f"{path}={literal}")]
    return " ".join(parts)


def _yaml_literal(value: Any) -> str:
    """The text that `RunConfig.override` parses back into this value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)  # JSON is YAML
    return value if load_yaml(value) == value else json.dumps(value)


# Free mappings: their names are set one level deep (--set train.trainer_arguments.optim=...), and
# a value that is itself a mapping is set whole.
FREE_MAPPINGS = ("train.trainer_arguments.",)


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and not prefix.startswith(FREE_MAPPINGS):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def _get(data: dict, path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def _set(data: dict, path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value
