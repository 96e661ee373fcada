"""Metrics from a run's saved predictions: accuracy, macro/micro and per-class P/R/F1, calibration.

Everything is computed from predictions.jsonl (no model needed), with scikit-learn for the counts
so the numbers agree with what anyone would compute by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from workbench.errors import WorkbenchError


@dataclass
class MetricsReport:
    accuracy: float
    macro: dict[str, float]          # precision, recall, f1
    micro: dict[str, float]
    weighted: dict[str, float]
    per_class: pd.DataFrame          # label, precision, recall, f1, support
    ece: float                       # expected calibration error of the top-class confidence
    reliability: pd.DataFrame        # bin_low, bin_high, count, confidence, accuracy
    n: int

    def summary(self) -> pd.DataFrame:
        """One row per averaging scheme: what a results table shows."""
        rows = [{"average": name, **values} for name, values in
                (("macro", self.macro), ("micro", self.micro), ("weighted", self.weighted))]
        return pd.DataFrame(rows)[["average", "precision", "recall", "f1"]]


def classification_metrics(predictions: pd.DataFrame, label_names: list[str], n_bins: int = 10) -> MetricsReport:
    """All the metrics of the predictions table (columns gold_id, predicted_id, confidence)."""
    gold, predicted = class_ids(predictions, label_names)
    labels = list(range(len(label_names)))

    def averaged(average: str) -> dict[str, float]:
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, labels=labels, average=average,
                                                     zero_division=0)
        return {"precision": float(p), "recall": float(r), "f1": float(f)}

    p, r, f, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    per_class = pd.DataFrame({"label": label_names, "precision": p, "recall": r, "f1": f,
                              "support": support.astype(int)})
    correct = gold == predicted
    confidence = predictions["confidence"].to_numpy(float)
    ece, bins = calibration(confidence, correct, n_bins)
    return MetricsReport(accuracy=float(accuracy_score(gold, predicted)), macro=averaged("macro"),
                         micro=averaged("micro"), weighted=averaged("weighted"), per_class=per_class,
                         ece=ece, reliability=bins, n=len(gold))


def class_ids(predictions: pd.DataFrame, label_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(gold ids, predicted ids), checked against the label names: scikit-learn would silently
    leave out an id that is not among the labels and report metrics over the rest."""
    if len(predictions) == 0:
        raise WorkbenchError("there are no predictions to measure")
    if not label_names:
        raise WorkbenchError("the run has no label names")
    gold = predictions["gold_id"].to_numpy(int)
    predicted = predictions["predicted_id"].to_numpy(int)
    for name, ids in (("gold", gold), ("predicted", predicted)):
        bad = ids[(ids < 0) | (ids >= len(label_names))]
        if len(bad):
            raise WorkbenchError(f"{name} class id {int(bad[0])} is not one of the run's {len(label_names)} "
                                 f"classes {list(label_names)}")
    return gold, predicted


def calibration(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> tuple[float, pd.DataFrame]:
    """Expected calibration error (Guo et al. 2017) over equal-width confidence bins, and the bins.

    ECE = sum over bins of (bin size / n) * |accuracy in bin - mean confidence in bin|.
    Bins are right-closed, (lo, hi], with the first one closed at 0, as in the usual definition.
    """
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # np.digitize with right=True puts a confidence of exactly hi in the bin (lo, hi].
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows, ece = [], 0.0
    for b in range(n_bins):
        members = which == b
        count = int(members.sum())
        conf = float(confidence[members].mean()) if count else float("nan")
        acc = float(correct[members].mean()) if count else float("nan")
        if count:
            ece += count / len(confidence) * abs(acc - conf)
        rows.append({"bin_low": edges[b], "bin_high": edges[b + 1], "count": count,
                     "confidence": conf, "accuracy": acc})
    return float(ece), pd.DataFrame(rows)


def reliability_figure(report: MetricsReport) -> go.Figure:
    """Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration."""
    bins = report.reliability
    filled = bins[bins["count"] > 0]
    centers = (filled["bin_low"] + filled["bin_high"]) / 2
    width = float(bins["bin_high"].iloc[0] - bins["bin_low"].iloc[0])
    fig = go.Figure()
    fig.add_bar(x=centers, y=filled["accuracy"], width=width * 0.95, name="accuracy",
                marker_color="#4c78a8", customdata=np.stack([filled["count"], filled["confidence"]], -1),
                hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.3f}<br>mean confidence "
                              "%{customdata[1]:.3f}<br>%{customdata[0]} examples<extra></extra>")
    fig.add_bar(x=centers, y=filled["confidence"] - filled["accuracy"], base=filled["accuracy"],
                width=width * 0.95, name="gap to confidence", marker_color="rgba(228,87,86,0.35)",
                hoverinfo="skip")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line=dict(dash="dash", color="#555"))
    fig.update_layout(title=f"Reliability diagram (ECE {report.ece:.3f})", barmode="overlay",
                      xaxis=dict(title="confidence of the predicted class", range=[0, 1]),
                      yaxis=dict(title="accuracy", range=[0, 1]), height=380,
                      margin=dict(l=50, r=20, t=50, b=45), legend=dict(orientation="h", y=-0.2))
    return fig


def per_class_figure(report: MetricsReport) -> go.Figure:
    """Grouped bars of precision, recall and F1 per class, support in the hover."""
    frame = report.per_class
    fig = go.Figure()
    for metric, color in (("precision", "#4c78a8"), ("recall", "#f58518"), ("f1", "#54a24b")):
        fig.add_bar(x=frame["label"], y=frame[metric], name=metric, marker_color=color,
                    customdata=frame["support"],
                    hovertemplate="%{x}<br>" + metric + " %{y:.3f}<br>support %{customdata}<extra></extra>")
    fig.update_layout(title="Per-class precision, recall and F1", barmode="group", height=340,
                      yaxis=dict(range=[0, 1]), margin=dict(l=50, r=20, t=50, b=40))
    return fig
