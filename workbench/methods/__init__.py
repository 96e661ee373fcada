"""Methods only transform a model: which weights train, and how they are saved.

Each module has `apply(model, cfg) -> model`; lora also saves an adapter instead of full weights.
"""

from workbench.methods import freeze, full, lora

METHODS = {"full": full, "freeze": freeze, "lora": lora}


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
