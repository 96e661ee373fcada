"""LoRA (peft): low-rank adapters on the encoder's linear layers; the new head trains in full."""

from peft import LoraConfig, get_peft_model
from torch import nn

from workbench.methods.freeze import transformer_layers


def default_target_modules(model) -> list[str]:
    """Every kind of linear layer inside the transformer blocks (query, key, value, dense...).

    Adapting all of them, not only query/value, is what lets LoRA match full fine-tuning.
    """
    names = set()
    for layer in transformer_layers(model):
        for name, module in layer.named_modules():
            if isinstance(module, nn.Linear):
                names.add(name.split(".")[-1])
    return sorted(names)


def apply(model, cfg):
    settings = cfg.method.lora
    targets = settings.target_modules
    if targets == "auto":
        targets = default_target_modules(model)
    elif isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    lora = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=targets, modules_to_save=["classifier"])
    return get_peft_model(model, lora)
