"""Freeze: train the top N transformer layers and the head; the rest keeps its pretrained weights.

Lower layers hold general features a small dataset cannot improve; freezing them saves memory
(no optimizer state) and guards against forgetting.
"""

from torch import nn

from workbench.errors import ConfigError


def transformer_layers(model) -> nn.ModuleList:
    """The stack of transformer blocks: the ModuleList as long as config.num_hidden_layers."""
    depth = getattr(model.config, "num_hidden_layers", None)
    stacks = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) == depth]
    if not stacks:
        raise ConfigError([("method.type", "freeze cannot find this architecture's layer stack; "
                            "use full or lora")])
    return stacks[0]


def check_depth(trainable_layers: int, depth: int | None) -> None:
    """Refuse more trainable layers than the model has (checked before a run, and again here)."""
    if depth is not None and trainable_layers > depth:
        raise ConfigError([("method.freeze.trainable_layers",
                            f"{trainable_layers} is more than the model's {depth} layers; use at most "
                            f"{depth}, or method full")])


def apply(model, cfg):
    layers = transformer_layers(model)
    keep = cfg.method.freeze.trainable_layers
    check_depth(keep, len(layers))
    for parameter in model.parameters():
        parameter.requires_grad = False
    for layer in list(layers)[len(layers) - keep:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    for name, parameter in model.named_parameters():
        if not name.startswith(model.encoder_prefix + "."):  # the head (classifier)
            parameter.requires_grad = True
    return model
