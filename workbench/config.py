"""RunConfig: the one contract between the front ends (UI, CLI, notebooks) and the trainer.

A config is a tree of small dataclasses. It loads from and saves to YAML, `resolve()` fills the
"auto" values with defaults that suit the model, task and method, and `validate()` reports every
bad field at once, each with the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from workbench.errors import ConfigError

TASKS = ("classification",)
METHODS = ("full", "freeze", "lora")
# Named in the product's plan but not built yet: asking for one says so, rather than "not a method".
PLANNED_TASKS = ("causal_lm", "masked_lm", "tokenizer", "ner", "sft", "dpo", "reward")
PLANNED_METHODS = ("qlora", "prefix", "prompt", "p-tuning", "ia3")
POOLINGS = ("auto", "cls", "mean", "last")
class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading 1e-6 as a number as YAML 1.2 does. PyYAML follows YAML 1.1,
    where a float needs a dot: `adam_epsilon: 1e-6` was the string '1e-6', which typed fields
    convert but free ones (train.trainer_arguments) handed to the Trainer as text."""

    def construct_mapping(self, node, deep=False):
        """A key given twice is refused: PyYAML keeps the last silently, so a second `train:`
        section further down dropped every setting of the first."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue  # `<<: *base` merges may repeat keys on purpose; the explicit one wins
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"'{key}' is given twice (also on line {seen[key].start_mark.line + 1}); "
                        "keep one", key_node.start_mark)
                seen[key] = key_node
        return super().construct_mapping(node, deep)


class _YamlDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting the text _YamlLoader reads as a number: a label name, run name
    or column '1e3' was saved bare and loaded back as 1000.0, so a saved config did not load."""


for _resolving in (_YamlLoader, _YamlDumper):
    _resolving.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"))


def load_yaml(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_YamlLoader)


SCHEDULERS = ("linear", "cosine", "constant_with_warmup")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BEST_METRICS = ("none", "accuracy", "f1_macro", "loss")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass
class ModelConfig:
    # A bundled name (minilm-l6, smollm2-135m-instruct), a local folder, a Hub id, or run:<id>.
    name: str = "minilm-l6"
    trust_remote_code: bool = False


@dataclass
class TaskConfig:
    type: str = "classification"
    # How a sequence becomes one vector. "auto" reads the checkpoint: sentence-transformers
    # checkpoints were trained with mean pooling, so their [CLS] vector is not a sentence summary;
    # a causal decoder (SmolLM2, Llama, GPT-2) sums up the text only in its last token ("last").
    pooling: str = "auto"
    max_length: int = 128


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # "auto": every linear layer of the encoder blocks (found from the architecture).
    target_modules: list[str] | str = "auto"


@dataclass
class FreezeConfig:
    # Train the top N transformer layers plus the head; the rest stays frozen.
    trainable_layers: int = 2


@dataclass
class MethodConfig:
    type: str = "full"
    lora: LoraConfig = field(default_factory=LoraConfig)
    freeze: FreezeConfig = field(default_factory=FreezeConfig)


@dataclass
class DataConfig:
    # A file (csv, tsv, json, jsonl, parquet), a folder whose files are named by split
    # (train / dev or validation / test), or hub:<dataset id>, with :<subset> for a dataset that has
    # several (its configurations), e.g. hub:nyu-mll/glue:sst2.
    path: str = ""
    text_column: str = "auto"
    text_pair_column: str | None = "auto"
    label_column: str = "auto"
    # Names for integer labels 0..K-1 (or 1..K), e.g. [negative, positive]. Hub ClassLabel names
    # and a classes.txt beside the data are used when this is empty.
    label_names: list[str] | None = None
    validation_fraction: float = 0.1  # carved from train (seeded) when there is no validation split
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    min_rows_per_class: int = 2
    # Seed of the train sample and of a carved validation split; empty: train.seed. Fix it to
    # compare training seeds on the same rows.
    seed: int | None = None


@dataclass
class TrainConfig:
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float | str = "auto"
    head_learning_rate: float | str = "auto"  # the new head starts from random: it learns faster
    batch_size: int = 16
    eval_batch_size: int = 64
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    # Layer-wise learning-rate decay: the top layer trains at learning_rate, each layer below at
    # layer_decay times the one above, the embeddings below them all (ELECTRA and DeBERTa-v3 were
    # fine-tuned with 0.8-0.9). 1: one rate for the whole body. Off by default: on the SST-2 benchmark
    # (five seeds) 0.9 at 1.5e-4 gave 0.854 and 0.8 at 2e-4 0.851, the flat 1e-4 0.854.
    layer_decay: float = 1.0
    warmup: float = 0.1  # fraction of the steps (< 1) or a number of steps (>= 1)
    scheduler: str = "linear"
    max_grad_norm: float = 1.0  # 0 turns clipping off (as in transformers)
    logging_steps: int | str = "auto"  # "auto": every 10 steps, more often in short runs (~20 points)
    eval_steps: int | str = "auto"  # "auto": about 4 evaluations a run (with select_best, at least 1 an epoch)
    save_steps: int | str = "auto"
    save_total_limit: int = 2
    seed: int = 42
    precision: str = "auto"  # fp32 on CPU, bf16 on a GPU that has it
    # Batches sorted by length within random windows of 8 batches (train/sampler.py): on SST-2
    # they pad 26 % instead of 164 % and train ~1.5x faster; accuracy moves within the seed
    # spread (0.854 vs 0.846 at 4,000 sentences, 0.796 vs 0.805 at 1,000). transformers' own
    # grouping (windows of 50) cost 2 points there.
    group_by_length: bool = True
    dataloader_workers: int = 0
    # Activation (gradient) checkpointing: each layer's activations are recomputed in the backward
    # pass instead of kept, for long texts or large models that do not fit in memory otherwise.
    # Same gradients; at 512 tokens peak memory fell by about half on MiniLM-L6 and SmolLM2-135M,
    # full and LoRA, and a step took 10-35 % longer (bench/bench_memory.py).
    activation_checkpointing: bool = False
    # Any other field of transformers' TrainingArguments, passed through as given, e.g.
    # {optim: adafactor, label_smoothing_factor: 0.1, torch_compile: true}. The fields the run sets
    # from this config (learning rate, batch size, precision...) are refused here with the one to set
    # instead (train/arguments.py checks them before the run).
    trainer_arguments: dict[str, Any] = field(default_factory=dict)
    # "balanced": each class's training loss weighs rows / (classes x its rows), so a rare class
    # counts as much as a common one (scikit-learn's "balanced"). Evaluation loss stays unweighted.
    class_weights: str = "none"
    # Keep the checkpoint that scored best on the validation split by this metric and make it the
    # run's model ("none": the model at the last step). Chosen on validation, its validation
    # metrics are optimistic: judge it on a test split.
    select_best: str = "none"
    # Stop after this many evaluations in a row without improvement of select_best (0: never).
    early_stopping_patience: int = 0


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    devices: str = "auto"  # auto | cpu | comma-separated GPU indices, e.g. "0,1"
    runs_dir: str = "runs"
    name: str | None = None  # a label for the run; the id is always generated

    @property
    def data_seed(self) -> int:
        """The seed that picks the train sample and carves validation: data.seed, else train.seed."""
        return self.train.seed if self.data.seed is None else self.data.seed

    # ---- YAML -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        problems: list[tuple[str, str]] = []
        cfg = _build(cls, data or {}, "", problems)
        if problems:
            raise ConfigError(problems)
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        if path.is_dir():  # a run folder, given to re-run it: its config is inside
            inside = path / "config.yaml"
            hint = f", e.g. {inside}" if inside.is_file() else " inside it"
            raise ConfigError([("config", f"{path} is a folder; give the path of a YAML config file{hint}")])
        if not path.is_file():
            raise ConfigError([("config", f"file {path} does not exist; give the path of a YAML config")])
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise ConfigError([("config", f"{path} cannot be read ({err.strerror}); check its permissions")]) from None
        try:
            data = load_yaml(raw)  # bytes: PyYAML reads UTF-8 and, by its byte-order mark, UTF-16
        except yaml.reader.ReaderError as err:
            raise ConfigError([("config", _unreadable_text(path, raw, err))]) from None
        except yaml.YAMLError as err:
            raise ConfigError([("config", f"{path} is not valid YAML ({_yaml_problem(err)}); fix the syntax")]) from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError([("config", f"{path} must hold a mapping of sections (model:, data:, ...)")])
        return cls.from_dict(data or {})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.dump(self.to_dict(), Dumper=_YamlDumper, sort_keys=False)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_yaml())
        tmp.replace(path)

    def override(self, assignments: list[str]) -> "RunConfig":
        """Apply `key=value` overrides (dotted keys, YAML-parsed values) and return a new config."""
        data = self.to_dict()
        for assignment in assignments:
            if "=" not in assignment:
                raise ConfigError([("--set", f"'{assignment}' is not key=value, e.g. train.epochs=2")])
            key, raw = assignment.split("=", 1)
            node, cls = data, RunConfig
            parts = key.strip().split(".")
            for depth, part in enumerate(parts[:-1]):
                if get_origin(cls) is dict:
                    mapping = ".".join(parts[:depth])
                    raise ConfigError([(key, f"{mapping} takes names one level deep: {mapping}.<name>=<value>, "
                                             f"or {mapping}={{<name>: {{...}}}} for a nested value")])
                if part in node and not isinstance(node[part], dict):  # train.epochs.x: a value, not a section
                    field_path = ".".join(parts[:depth + 1])
                    raise ConfigError([(key, f"{field_path} is a single value with no fields under it; give "
                                             f"{field_path}=<value>")])
                if part not in node:
                    raise ConfigError([(key, _unknown_key_message(part, node, _dotted(parts[:depth])))])
                node, cls = node[part], get_type_hints(cls)[part]
            if get_origin(cls) is dict:  # a free mapping (train.trainer_arguments): any key; null drops it
                value = _override_value(key.strip(), raw, Any)
                node.pop(parts[-1], None) if value is None else node.__setitem__(parts[-1], value)
                continue
            if parts[-1] not in node:
                raise ConfigError([(key, _unknown_key_message(parts[-1], node, _dotted(parts[:-1])))])
            node[parts[-1]] = _override_value(key.strip(), raw, get_type_hints(cls)[parts[-1]])
        return RunConfig.from_dict(data)

    # ---- defaults and checks ---------------------------------------------------------------
    def validate(self) -> None:
        problems = validation_problems(self)
        if problems:
            raise ConfigError(problems)

    def resolve(self) -> "RunConfig":
        """A copy with every "auto" training value replaced by the default for this method."""
        cfg = RunConfig.from_dict(self.to_dict())
        t = cfg.train
        if cfg.method.type not in METHODS:
            return cfg  # no defaults for it: validate() names the methods there are
        if "auto" in (t.learning_rate, t.head_learning_rate):
            from workbench.catalog import model_width

            width = model_width(cfg.model.name, cfg.runs_dir, cfg.model.trust_remote_code)
            body, head = default_learning_rates(cfg.method.type, width)
            if t.learning_rate == "auto":
                t.learning_rate = body
            if t.head_learning_rate == "auto":
                t.head_learning_rate = head
        return cfg


def ignored_method_settings(cfg: RunConfig) -> list[str]:
    """A sentence for each setting of a method other than cfg's that differs from its default
    (`--method lora --set method.freeze.trainable_layers=4`): the run will not read it, and a
    setting that does nothing without a word looks like one that took effect."""
    default = MethodConfig()
    notes = []
    for other in ("lora", "freeze"):
        if other == cfg.method.type:
            continue
        given, unset = dataclasses.asdict(getattr(cfg.method, other)), dataclasses.asdict(getattr(default, other))
        changed = [f"method.{other}.{key}={value}" for key, value in given.items() if value != unset[key]]
        if changed:
            verb, them = ("is", "it") if len(changed) == 1 else ("are", "them")
            notes.append(f"{', '.join(changed)} {verb} ignored: the method is {cfg.method.type}, and only a "
                         f"{other} run reads method.{other}; give --method {other} to use {them}, or drop {them}")
    return notes


# Defaults measured on MiniLM-L6 / SST-2 (bench/, README). LoRA trains few parameters, each of
# which must move further, so it wants a learning rate ~10x the full fine-tuning one.
DEFAULT_LEARNING_RATE = {"full": 1e-4, "freeze": 2e-4, "lora": 1e-3}
DEFAULT_HEAD_LEARNING_RATE = {"full": 1e-3, "freeze": 1e-3, "lora": 3e-3}
# Wider models want smaller steps: with Adam, the learning rate that works shrinks about as
# 1 / hidden size (muP, Yang et al. 2022). Up to BERT-base's width the measured rates stand: on
# SmolLM2-135M (576 wide), 1,000 SST-2 sentences, full fine-tuning at 1e-4 beat 6.7e-5 (the 1/width
# rate from MiniLM's 384) on both seeds tried. Beyond it they shrink as 768 / width, which gives a
# 7B decoder (4096) 1.9e-5 full and 1.9e-4 with LoRA: the rates Alpaca and QLoRA trained those
# models at. One flat 1e-4 was 5x above them.
SCALE_ABOVE_WIDTH = 768


def default_learning_rates(method: str, width: int | None) -> tuple[float, float]:
    """The body and head learning rates "auto" means for `method` on a model of hidden size
    `width` (None: not known, the measured values)."""
    scale = min(1.0, SCALE_ABOVE_WIDTH / width) if width else 1.0

    def rounded(rate: float) -> float:
        return float(f"{rate * scale:.2g}")

    return rounded(DEFAULT_LEARNING_RATE[method]), rounded(DEFAULT_HEAD_LEARNING_RATE[method])


def _not_one_of(value, kind: str, known: tuple[str, ...], planned: tuple[str, ...]) -> str:
    if str(value).lower() in planned:
        return f"'{value}' is not available yet; choose one of {', '.join(known)}"
    return f"'{value}' is not a {kind}; choose one of {', '.join(known)}"


def validation_problems(cfg: RunConfig) -> list[tuple[str, str]]:
    """Every problem of a config, as (field, message-with-fix). Empty when the config is fine."""
    p: list[tuple[str, str]] = []
    if not cfg.model.name.strip():
        p.append(("model.name", "is empty; give a bundled model (minilm-l6), a folder, a Hub id or run:<id>"))
    if cfg.task.type not in TASKS:
        p.append(("task.type", _not_one_of(cfg.task.type, "task", TASKS, PLANNED_TASKS)))
    if cfg.task.pooling not in POOLINGS:
        p.append(("task.pooling", f"'{cfg.task.pooling}' is not a pooling; choose one of {', '.join(POOLINGS)}"))
    if cfg.task.max_length < 8:
        p.append(("task.max_length", f"{cfg.task.max_length} is too short; use at least 8 tokens (128 suits most sentences)"))
    if cfg.method.type not in METHODS:
        p.append(("method.type", _not_one_of(cfg.method.type, "method", METHODS, PLANNED_METHODS)))
    lora = cfg.method.lora
    if lora.r < 1:
        p.append(("method.lora.r", f"{lora.r} must be a positive rank, e.g. 8 or 16"))
    if lora.alpha <= 0:
        p.append(("method.lora.alpha", f"{lora.alpha} must be positive; 2 x r is the usual choice"))
    if not 0 <= lora.dropout < 1:
        p.append(("method.lora.dropout", f"{lora.dropout} must be in [0, 1), e.g. 0.05"))
    if isinstance(lora.target_modules, list) and not lora.target_modules:
        p.append(("method.lora.target_modules", "is an empty list; name modules (e.g. [query, value]) or use auto"))
    if cfg.method.freeze.trainable_layers < 0:
        p.append(("method.freeze.trainable_layers", "must be 0 (head only) or more"))
    if not cfg.data.path.strip():
        p.append(("data.path", "is empty; give a CSV/TSV/JSON/JSONL/Parquet file, a folder of split files or hub:<id>"))
    if not 0 < cfg.data.validation_fraction < 1:
        p.append(("data.validation_fraction", f"{cfg.data.validation_fraction} must be between 0 and 1, e.g. 0.1"))
    for name in ("max_train_samples", "max_eval_samples"):
        value = getattr(cfg.data, name)
        if value is not None and value < 1:
            p.append((f"data.{name}", f"{value} must be a positive number of rows, or empty for all"))
    t = cfg.train
    if t.epochs <= 0 and t.max_steps <= 0:
        p.append(("train.epochs", f"{t.epochs} must be positive (or set train.max_steps)"))
    if t.max_steps == 0 or t.max_steps < -1:  # -1 (the default) means: train for train.epochs
        p.append(("train.max_steps", f"{t.max_steps} must be a positive number of steps, or -1 to train "
                                     "for train.epochs"))
    for name in ("learning_rate", "head_learning_rate"):
        value = getattr(t, name)
        if value != "auto" and (not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0):
            p.append((f"train.{name}", f"{value} must be a positive number such as 1e-4, or auto"))
        elif value != "auto" and value > 1:
            p.append((f"train.{name}", f"{value} is far too large; learning rates are usually 1e-5 to 1e-2"))
    for name in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "save_total_limit"):
        if getattr(t, name) < 1:
            p.append((f"train.{name}", f"{getattr(t, name)} must be at least 1"))
    for name in ("logging_steps", "eval_steps", "save_steps"):
        value = getattr(t, name)
        if value != "auto" and (not isinstance(value, int) or value < 1):
            p.append((f"train.{name}", f"{value} must be a positive number of steps, or auto"))
    if t.weight_decay < 0:
        p.append(("train.weight_decay", f"{t.weight_decay} must be 0 or more, e.g. 0.01"))
    if not 0 < t.layer_decay <= 1:
        p.append(("train.layer_decay", f"{t.layer_decay} must be above 0 and at most 1: 1 trains every layer at "
                                       "the learning rate, 0.8 to 0.95 lowers it layer by layer downwards"))
    if t.warmup < 0:
        p.append(("train.warmup", f"{t.warmup} must be 0 or more: a fraction of the steps (< 1) or a step count"))
    if t.scheduler not in SCHEDULERS:
        p.append(("train.scheduler", f"'{t.scheduler}' is not a schedule; choose one of {', '.join(SCHEDULERS)}"))
    if t.precision not in PRECISIONS:
        p.append(("train.precision", f"'{t.precision}' is not a precision; choose one of {', '.join(PRECISIONS)}"))
    if t.max_grad_norm < 0:
        p.append(("train.max_grad_norm", f"{t.max_grad_norm} cannot be negative: 1.0 clips the gradient "
                                         "norm at 1, 0 turns clipping off"))
    if t.dataloader_workers < 0:
        p.append(("train.dataloader_workers", f"{t.dataloader_workers} cannot be negative: 0 loads batches "
                                              "in the training process, N > 0 in N worker processes"))
    if t.class_weights not in CLASS_WEIGHTS:
        p.append(("train.class_weights", f"'{t.class_weights}' is not a weighting; choose one of "
                                         f"{', '.join(CLASS_WEIGHTS)}"))
    if t.select_best not in BEST_METRICS:
        p.append(("train.select_best", f"'{t.select_best}' is not a metric to select by; choose one "
                                       f"of {', '.join(BEST_METRICS)}"))
    if t.early_stopping_patience < 0:
        p.append(("train.early_stopping_patience", f"{t.early_stopping_patience} must be 0 (never "
                                                   "stop early) or a number of evaluations"))
    elif t.early_stopping_patience > 0 and t.select_best == "none":
        p.append(("train.early_stopping_patience", "stopping early needs a metric to watch: set "
                                                   "train.select_best to accuracy, f1_macro or loss"))
    if t.select_best != "none" and isinstance(t.eval_steps, int) and isinstance(t.save_steps, int) \
            and t.eval_steps > 0 and t.save_steps % t.eval_steps:
        p.append(("train.save_steps", f"{t.save_steps} is not a multiple of train.eval_steps "
                                      f"({t.eval_steps}); keeping the best checkpoint needs a checkpoint "
                                      "at evaluations: make it a multiple, or auto"))
    if cfg.devices not in ("auto", "cpu") and not all(d.strip().isdigit() for d in cfg.devices.split(",")):
        p.append(("devices", f"'{cfg.devices}' is not auto, cpu or GPU indices like 0,1"))
    for name, value in (("train.seed", t.seed), ("data.seed", cfg.data.seed)):
        if value is not None and not 0 <= value <= MAX_SEED:  # what numpy's seed takes
            p.append((name, f"{value} must be a whole number from 0 to {MAX_SEED:,}, e.g. 42"))
    if cfg.name is not None and (not cfg.name.isprintable() or len(cfg.name) > MAX_NAME_LENGTH):
        # A label shown on one line in run lists, tables and menus: a line break splits the table.
        p.append(("name", f"must be one line of at most {MAX_NAME_LENGTH} characters, without line breaks, "
                          "tabs or other control characters, e.g. 'lora r16 on tickets'"))
    cores = os.cpu_count() or 1
    if t.dataloader_workers > cores:  # each worker is a process: 100,000 of them hang the machine
        p.append(("train.dataloader_workers", f"{t.dataloader_workers} is more worker processes than this "
                                              f"machine's {cores} cores; use at most {cores} (0 to 2 suit most runs)"))
    named = {path for path, _ in p}
    p += [(path, message) for path, message in _out_of_range_numbers(cfg) if path not in named]
    return p


# Any setting past this is a typo (a batch of 2**31 rows, a rank of a billion, 1e30 epochs), and
# Python's own limits start soon after (islice, numpy seeds): refuse it before the run.
MAX_WHOLE_NUMBER = 2**31 - 1
MAX_NAME_LENGTH = 100
MAX_SEED = 2**32 - 1


def _out_of_range_numbers(node: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Every number in the config that is not finite (NaN or infinity: a NaN weight decay turns
    every weight into NaN, an infinite epoch count cannot become steps), or a whole number past
    MAX_WHOLE_NUMBER, whole or not (seeds are checked on their own range)."""
    problems = []
    for f in fields(node):
        value, path = getattr(node, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            problems += _out_of_range_numbers(value, path + ".")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((path, f"{value} is not a number that can be used; give a finite number"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_WHOLE_NUMBER \
                and not path.endswith("seed"):
            problems.append((path, f"{value:,} is far too large; check for a typo"))
    return problems


# ---- building dataclasses from plain dicts, with messages that name the field ------------------

def _build(cls, data: Any, prefix: str, problems: list[tuple[str, str]]):
    if not isinstance(data, dict):
        problems.append((prefix.rstrip(".") or "config", _not_a_section(data, prefix.rstrip("."))))
        return cls()
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            problems.append((prefix + str(key), _unknown_key_message(str(key), known, prefix)))
            continue
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _build(kind, value if value is not None else {}, f"{prefix}{key}.", problems)
            continue
        ok, converted = _coerce(value, kind)
        if ok:
            kwargs[key] = converted
        else:
            problems.append((prefix + key, _wrong_type(value, kind, prefix + key)))
    return cls(**kwargs)


# The field a section's value most likely means (`model: minilm-l6`, `--set method=lora`).
MAIN_FIELD = {"model": "name", "task": "type", "method": "type", "data": "path"}


def _not_a_section(value: Any, path: str) -> str:
    """A section (model:, method:...) given a value: the field it most likely meant, written both ways."""
    main = MAIN_FIELD.get(path)
    if main and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return (f"is a section, not a value: write {path}: {{{main}: {value}}}, or --set {path}.{main}={value} "
                "on the command line")
    return f"must be a mapping of its fields (name: value), got {type(value).__name__}"


def _wrong_type(value: Any, kind, path: str) -> str:
    """'big' is not a whole number. A value whose repr is long (a DataFrame's runs to thousands of
    characters) is named by its type; data.path given an object says how to give its rows."""
    if path == "data.path" and isinstance(value, (list, tuple)):  # [train.csv, dev.csv], as other tools take them
        return (f"{_shown(value)} is several paths; the data is one: put the files in one folder named by split "
                "(train.csv, validation.csv, test.csv) and give the folder, or give the train file alone")
    if path == "data.path":
        from workbench.data.load import data_path_text  # pandas loads only for this mistake
        from workbench.errors import DataError

        try:
            data_path_text(value)
        except DataError as err:
            return str(err)
    return f"{_shown(value)} is not {_describe(kind)}"


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else "a " + type(value).__name__


def _coerce(value: Any, kind) -> tuple[bool, Any]:
    options = get_args(kind) if get_origin(kind) in (UnionType, Union) else (kind,)
    if get_origin(kind) is dict:  # a free mapping of names; empty in YAML (`key:`) is an empty one
        if value is None:
            return True, {}
        return isinstance(value, dict) and all(isinstance(k, str) for k in value), value
    if value is None:
        return (type(None) in options), None
    # Numbers written as strings ("1e-4" parses as a string in YAML 1.1) are numbers.
    if isinstance(value, str):
        for option in options:
            if option in (int, float):
                try:
                    return True, (float(value) if option is float else _whole(float(value)))
                except ValueError:
                    continue
    # A whole number written with a point (16.0: a JSON dump, a spreadsheet) is that number; it was
    # "16.0 is not a whole number", and eval_steps: 100.0 "must be a positive number of steps".
    if int in options and isinstance(value, float) and value.is_integer():
        value = int(value)
    for option in options:
        if option is type(None):
            continue
        if option is bool and isinstance(value, bool):
            return True, value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        if option is str and isinstance(value, str):
            return True, value
        if option is str and isinstance(value, os.PathLike):  # data.path=Path(...) from Python
            return True, os.fspath(value)
        if get_origin(option) is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True, list(value)
    # A text field given a bare number (`devices: 0`, `--devices 0`, `name: 2024`): YAML read it
    # as a number, but the user meant its text.
    if str in options and isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, str(value)
    return False, None


def _whole(number: float) -> int:
    if not number.is_integer():  # 16.5 rows; inf and nan are not whole either
        raise ValueError(number)
    return int(number)


def _describe(kind) -> str:
    if get_origin(kind) is dict:
        return "a mapping of names to values, like {optim: adafactor}"
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", type(None): "empty"}
    options = get_args(kind) if get_origin(kind) in (UnionType, Union) else (kind,)
    return " or ".join(names.get(o, "a list of names") for o in options)


def _override_value(key: str, raw: str, kind) -> Any:
    """A --set value: YAML (numbers, lists, null), except in a text field, which takes the text as
    typed. YAML would read the path 'hub:org/data:' as a mapping, cut 'reviews #2.csv' at its '#'
    comment and refuse '!draft.csv' as a tag."""
    text = raw.strip()
    if kind in (str, str | None):
        if text in ("", "null", "~"):
            return None if kind != str else ""
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":  # quoted on purpose
            return text[1:-1]
        return text
    if not text:
        return None
    try:
        return load_yaml(text)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError([(key, f"'{raw}' cannot be read ({problem}); give a number, true/false, a "
                            "list like [a, b], or text")]) from None


def _unreadable_text(path: Path, raw: bytes, err: yaml.reader.ReaderError) -> str:
    """A config that is not text YAML reads: bytes that are not UTF-8 (Latin-1 or cp1252 from an old
    editor, UTF-16 without its byte-order mark) or a control character (PyYAML's encoding 'unicode')."""
    if err.encoding != "unicode":
        line = raw[:err.position].count(b"\n") + 1
        return f"{path} is not UTF-8 text (byte {err.character:#x} on line {line}); save it as UTF-8"
    if err.character == 0:
        return f"{path} holds NUL bytes: it is UTF-16 without a byte-order mark, or not text; save it as UTF-8"
    line = raw.decode("utf-8", "replace")[:err.position].count("\n") + 1
    return (f"{path} holds the control character U+{err.character:04X} on line {line}, which YAML does "
            "not allow; delete it")


def _dotted(parts: list[str]) -> str:
    """The prefix of a field's path: ["train"] -> "train.", [] -> ""."""
    return "".join(f"{part}." for part in parts)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """Where and what, on one line: PyYAML's own text spans several lines with a caret drawing."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


# What other fine-tuning tools (transformers' TrainingArguments, LLaMA-Factory, AutoTrain, H2O LLM
# Studio, peft) call a setting the workbench has: a config written for one of them, or a habit from
# one, gets the workbench's name instead of a guess (per_device_train_batch_size was "did you mean
# 'eval_batch_size'?").
OTHER_TOOLS_NAMES = {
    "model_name_or_path": "model.name", "model_name": "model.name", "base_model": "model.name",
    "llm_backbone": "model.name", "backbone": "model.name",
    "max_seq_length": "task.max_length", "max_seq_len": "task.max_length", "cutoff_len": "task.max_length",
    "model_max_length": "task.max_length", "max_len": "task.max_length",
    "finetuning_type": "method.type", "peft": "method.type", "use_peft": "method.type",
    "lora_r": "method.lora.r", "lora_rank": "method.lora.r", "rank": "method.lora.r",
    "lora_alpha": "method.lora.alpha", "lora_dropout": "method.lora.dropout",
    "lora_target": "method.lora.target_modules", "lora_target_modules": "method.lora.target_modules",
    "dataset": "data.path", "data_path": "data.path", "train_file": "data.path", "train_dataframe": "data.path",
    "target_column": "data.label_column", "val_size": "data.validation_fraction",
    "max_samples": "data.max_train_samples",
    "num_train_epochs": "train.epochs", "num_epochs": "train.epochs",
    "lr": "train.learning_rate",
    "per_device_train_batch_size": "train.batch_size", "train_batch_size": "train.batch_size",
    "per_device_eval_batch_size": "train.eval_batch_size",
    "gradient_accumulation": "train.gradient_accumulation_steps", "grad_accumulation": "train.gradient_accumulation_steps",
    "warmup_ratio": "train.warmup", "warmup_steps": "train.warmup",
    "lr_scheduler_type": "train.scheduler", "schedule": "train.scheduler",
    "gradient_clip": "train.max_grad_norm",
    "bf16": "train.precision", "fp16": "train.precision", "mixed_precision": "train.precision",
    "gradient_checkpointing": "train.activation_checkpointing",
    "dataloader_num_workers": "train.dataloader_workers", "num_workers": "train.dataloader_workers",
    "load_best_model_at_end": "train.select_best", "metric_for_best_model": "train.select_best",
    "optim": "train.trainer_arguments.optim", "optimizer": "train.trainer_arguments.optim",
    "output_dir": "runs_dir", "project_name": "name", "run_name": "name", "experiment_name": "name",
    "device": "devices", "gpus": "devices",
}


def _unknown_key_message(key: str, known, prefix: str = "") -> str:
    """Where a setting the config does not have at `prefix` goes: a field of another section
    (`learning_rate` at the top level), another tool's name for a field, a typo, or any other
    TrainingArguments setting (train.trainer_arguments)."""
    elsewhere = [path for path in _field_paths(RunConfig) if path.rsplit(".", 1)[-1] == key]
    if elsewhere:
        where = f"in {prefix.rstrip('.')}" if prefix else "at the top level"
        return f"unknown field '{key}' {where}; it is {' or '.join(elsewhere)}"
    if key in OTHER_TOOLS_NAMES:
        return f"unknown field '{key}'; the workbench calls it {OTHER_TOOLS_NAMES[key]}"
    close = difflib.get_close_matches(key, list(known), n=1)
    if close:
        return f"unknown field '{key}'; did you mean '{close[0]}'?"
    if prefix in ("", "train.") and key in _training_argument_names():
        return (f"unknown field '{key}'; other settings of transformers' TrainingArguments go under "
                f"train.trainer_arguments: train.trainer_arguments.{key}")
    return f"unknown field '{key}'; known fields: {', '.join(sorted(known))}"


def _field_paths(cls, prefix: str = "") -> list[str]:
    """Every field of a config class as a dotted path: model.name, ..., method.lora.r, ..."""
    paths = []
    for name, kind in get_type_hints(cls).items():
        paths += _field_paths(kind, f"{prefix}{name}.") if dataclasses.is_dataclass(kind) else [prefix + name]
    return paths


def _training_argument_names() -> set[str]:
    """The fields of transformers' TrainingArguments, imported only to explain an unknown key."""
    try:
        from transformers import TrainingArguments
    except ImportError:
        return set()
    return {f.name for f in fields(TrainingArguments) if f.init}
