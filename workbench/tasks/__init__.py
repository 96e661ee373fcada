"""Tasks: what a model learns to do. Each module knows its head, preprocessing, metrics and
predictions. Only classification exists so far; NER, CLM, MLM, SFT, DPO and reward come next."""

from workbench.tasks import classify

TASKS = {classify.NAME: classify}
