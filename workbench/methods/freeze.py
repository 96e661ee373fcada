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


def apply(model, cfg):
    layers = transformer_layers(model)
    keep = cfg.method.freeze.trainable_layers
    if keep > len(layers):
        raise ConfigError([("method.freeze.trainable_layers",
                            f"{keep} is more than the model's {len(layers)} layers; use at most "
                            f"{len(layers)}, or method full")])
    for parameter in model.parameters():
        parameter.requires_grad = False
    for layer in list(layers)[len(layers) - keep:]:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    for name, parameter in model.named_parameters():
        if not name.startswith(model.encoder_prefix + "."):  # the head (classifier)
            parameter.requires_grad = True
    return model
