"""Full fine-tuning: every weight trains."""


def apply(model, cfg):
    for parameter in model.parameters():
        parameter.requires_grad = True
    return model
