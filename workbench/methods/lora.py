"""LoRA (peft): low-rank adapters on the encoder's linear layers; the new head trains in full."""

from peft import LoraConfig, get_peft_model
from torch import nn
from transformers.pytorch_utils import Conv1D

from workbench.errors import ConfigError
from workbench.methods.freeze import transformer_layers


# GPT-2 and its kin build their projections as transformers' Conv1D (a linear layer with its
# weight transposed); peft adapts those too. Missing them, "auto" found nothing to adapt in GPT-2.
LINEAR_LAYERS = (nn.Linear, Conv1D)


def default_target_modules(model) -> list[str]:
    """Every kind of linear layer inside the transformer blocks (query, key, value, dense...).

    Adapting all of them, not only query/value, is what lets LoRA match full fine-tuning.
    """
    names = set()
    for layer in transformer_layers(model):
        for name, module in layer.named_modules():
            if isinstance(module, LINEAR_LAYERS):
                names.add(name.split(".")[-1])
    return sorted(names)


def transposed_weights(model, targets: list[str]) -> bool:
    """Whether the targeted layers are Conv1D, whose weights peft must read as (in, out)."""
    return any(isinstance(module, Conv1D) for name, module in model.named_modules()
               if name.split(".")[-1] in targets)


def target_modules(setting: list[str] | str, model) -> list[str]:
    """The module names LoRA adapts for method.lora.target_modules ("auto", a list, or "a, b").
    Raises ConfigError naming the ones the model lacks: peft's own error comes mid-run and does
    not say which name is wrong."""
    if setting == "auto":
        found = default_target_modules(model)
        if not found:
            raise ConfigError([("method.lora.target_modules", (
                "auto found no linear layers in this model's blocks; name the modules to adapt "
                "(e.g. q_proj, v_proj), or use method full or freeze"))])
        return found
    targets = [t.strip() for t in setting.split(",") if t.strip()] if isinstance(setting, str) else list(setting)
    # peft matches a name as the whole module path or its last parts ("value", "attention.self.value").
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        listed = ", ".join(repr(t) for t in missing)
        raise ConfigError([("method.lora.target_modules", (
            f"{listed} {'is not a module' if len(missing) == 1 else 'are not modules'} of this model; its "
            f"layers have {', '.join(default_target_modules(model))}: pick from those, or auto"))])
    return targets


def apply(model, cfg):
    settings = cfg.method.lora
    targets = target_modules(settings.target_modules, model)
    lora = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=targets, modules_to_save=["classifier"],
                      fan_in_fan_out=transposed_weights(model, targets))
    return get_peft_model(model, lora)
