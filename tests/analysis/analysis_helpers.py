"""Small helpers shared by the analysis tests (plain functions, not fixtures)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from workbench.runs.store import Run, write_json_atomic


def set_status(run: Run, **fields) -> None:
    """Rewrite some fields of a run's status.json."""
    write_json_atomic(run.status_path, {**json.loads(run.status_path.read_text()), **fields})


def three_class_predictions(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """Random but realistic predictions over three classes, one of them never predicted."""
    rng = np.random.default_rng(seed)
    names = ["world", "sports", "business"]
    gold = rng.integers(0, 3, n)
    predicted = np.where(rng.random(n) < 0.7, gold, rng.integers(0, 2, n))  # 70% right, else world/sports
    predicted[predicted == 2] = rng.integers(0, 2, (predicted == 2).sum())  # business: never predicted
    confidence = rng.uniform(0.34, 1.0, n)
    return pd.DataFrame({"text": [f"text {i}" for i in range(n)], "gold": [names[g] for g in gold],
                         "gold_id": gold, "predicted": [names[p] for p in predicted], "predicted_id": predicted,
                         "confidence": confidence}), names
