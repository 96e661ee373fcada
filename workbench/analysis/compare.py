"""Two runs on the same eval examples, side by side: the accuracy and macro F1 of each, where they
agree and disagree, and whether the difference is more than chance.

Two accuracies a point apart on a few hundred examples are often the same model up to noise. The
test that fits paired predictions is McNemar's (exact form): only the examples on which the runs
disagree carry information, and under "no difference" each of them is a coin flip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
from scipy.stats import binomtest
from sklearn.metrics import f1_score

from workbench.analysis.run_data import load_predictions
from workbench.errors import WorkbenchError
from workbench.runs.store import Run, as_run


@dataclass
class RunComparison:
    run_a: str
    run_b: str
    examples: int
    accuracy_a: float
    accuracy_b: float
    f1_macro_a: float
    f1_macro_b: float
    both_right: int
    only_a_right: int
    only_b_right: int
    both_wrong: int
    p_value: float  # exact two-sided McNemar test on the examples where exactly one run is right
    disagreements: pd.DataFrame  # text, [text_pair,] gold, predicted_a, predicted_b, confidence_a, confidence_b

    def summary(self) -> dict:
        return {"runs": [self.run_a, self.run_b], "examples": self.examples,
                "accuracy": [self.accuracy_a, self.accuracy_b], "f1_macro": [self.f1_macro_a, self.f1_macro_b],
                "both_right": self.both_right, "only_a_right": self.only_a_right,
                "only_b_right": self.only_b_right, "both_wrong": self.both_wrong,
                "predictions_differ": len(self.disagreements), "p_value": self.p_value}

    def verdict(self) -> str:
        gap = abs(self.accuracy_a - self.accuracy_b)
        if self.p_value < 0.05:
            better = self.run_a if self.accuracy_a > self.accuracy_b else self.run_b
            return f"{better} is more accurate by {gap:.3f}, more than chance explains (p = {self.p_value:.3g})"
        return (f"the accuracies differ by {gap:.3f}, within what chance gives on {self.examples} examples "
                f"(p = {self.p_value:.3g})")


def compare_runs(a: Run | str | os.PathLike, b: Run | str | os.PathLike) -> RunComparison:
    """Compare two finished runs on their eval predictions, which must be of the same examples."""
    a, b = as_run(a), as_run(b)
    pa, labels_a = load_predictions(a)
    pb, labels_b = load_predictions(b)
    key = ["text", "text_pair"] if "text_pair" in pa.columns and "text_pair" in pb.columns else ["text"]
    same_rows = len(pa) == len(pb) and pa[key].astype(str).equals(pb[key].astype(str))
    if not same_rows:
        raise WorkbenchError(
            f"runs {a.id} and {b.id} were evaluated on different examples ({len(pa)} and {len(pb)}); "
            "compare runs whose validation rows are the same: the same data, data.seed and max_eval_samples")
    gold, predicted_a, predicted_b = pa["gold"].astype(str), pa["predicted"].astype(str), pb["predicted"].astype(str)
    if not gold.equals(pb["gold"].astype(str)):
        raise WorkbenchError(f"runs {a.id} and {b.id} give the same examples different gold labels "
                             f"({', '.join(labels_a)} vs {', '.join(labels_b)}); compare runs trained on the same labels")
    right_a, right_b = (predicted_a == gold).to_numpy(), (predicted_b == gold).to_numpy()
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p_value = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    differ = (predicted_a != predicted_b).to_numpy()
    disagreements = pd.DataFrame({
        **{column: pa[column][differ] for column in key},  # a pair model's examples are both texts
        "gold": pa["gold"][differ],
        "predicted_a": pa["predicted"][differ], "predicted_b": pb["predicted"][differ],
        "confidence_a": pa["confidence"][differ].round(4), "confidence_b": pb["confidence"][differ].round(4),
    }).reset_index(drop=True)
    return RunComparison(
        a.id, b.id, len(pa), float(right_a.mean()), float(right_b.mean()),
        float(f1_score(gold, predicted_a, average="macro", zero_division=0)),
        float(f1_score(gold, predicted_b, average="macro", zero_division=0)),
        int((right_a & right_b).sum()), only_a, only_b, int((~right_a & ~right_b).sum()), float(p_value),
        disagreements)
