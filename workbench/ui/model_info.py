"""What the Train form shows about a base model before launch: its LoRA target modules and how
many parameters a method trains.

The model is built on PyTorch's "meta" device (tasks/classify.meta_model, which the disk check
before a run uses too): the same classes the trainer builds (the task's head, then the method),
with shapes but no weights, so counting takes a fraction of a second and reads no weight file.
The counts equal those the training process logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from workbench.config import RunConfig


@dataclass(frozen=True)
class ModelInfo:
    path: str
    source: str  # bundled | run | folder | gguf | hub
    model_type: str
    layers: int | None
    target_modules: tuple[str, ...]  # every linear layer kind inside the transformer blocks


@dataclass(frozen=True)
class ParameterCount:
    trainable: int
    total: int

    @property
    def share(self) -> float:
        return self.trainable / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.trainable:,} of {self.total:,} parameters train ({100 * self.share:.2f}%)"


@lru_cache(maxsize=32)
def model_info(name: str, runs_dir: str, trust_remote_code: bool = False) -> ModelInfo:
    """Raises WorkbenchError (ModelNotFoundError) with a message when the model cannot be found."""
    from workbench.catalog import resolve_model
    from workbench.methods.freeze import transformer_layers
    from workbench.methods.lora import default_target_modules
    from workbench.tasks.classify import check_architecture, load_tokenizer, meta_model, model_config

    cfg = RunConfig.from_dict({"model": {"name": name, "trust_remote_code": trust_remote_code},
                               "method": {"type": "full"}, "runs_dir": runs_dir})
    resolved = resolve_model(cfg.model.name, cfg.runs_dir)
    load_tokenizer(cfg, resolved)  # a folder without its tokenizer is named when it is picked
    config = model_config(cfg, resolved)
    check_architecture(config, cfg.model.name)  # an encoder-decoder is named when it is picked
    model = meta_model(cfg, resolved, 2, with_method=False)
    try:
        layers = len(transformer_layers(model))
        targets = tuple(default_target_modules(model))
    except Exception:  # an architecture without a recognisable layer stack
        layers, targets = None, ()
    return ModelInfo(resolved.path, resolved.source, getattr(config, "model_type", "?"), layers, targets)


def parameter_count(cfg: RunConfig, num_labels: int) -> ParameterCount:
    """Trainable and total parameters of cfg's model with cfg's method, for num_labels classes."""
    key = (cfg.model.name, cfg.runs_dir, cfg.model.trust_remote_code, cfg.task.type, cfg.method.type,
           repr(cfg.method.lora) if cfg.method.type == "lora" else "",
           cfg.method.freeze.trainable_layers if cfg.method.type == "freeze" else 0, max(2, num_labels))
    return _count(key, cfg)


_counts: dict[tuple, ParameterCount] = {}


def _count(key: tuple, cfg: RunConfig) -> ParameterCount:
    if key not in _counts:
        from workbench.catalog import resolve_model
        from workbench.methods import trainable_parameters
        from workbench.tasks.classify import meta_model

        model = meta_model(cfg, resolve_model(cfg.model.name, cfg.runs_dir), key[-1])
        _counts[key] = ParameterCount(*trainable_parameters(model))
    return _counts[key]


def warm_up(runs_dir: str) -> None:
    """Import torch and transformers and inspect the default model, so the form answers at once."""
    try:
        info = model_info("minilm-l6", runs_dir)
        cfg = RunConfig.from_dict({"runs_dir": runs_dir})
        parameter_count(cfg, 2)
        del info
    except Exception:  # the form reports problems itself when the user gets there
        pass
