"""Confusion matrix of saved predictions, as counts or row-normalised rates, and a cell's examples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from workbench.analysis.metrics import class_ids
from workbench.errors import WorkbenchError


@dataclass
class Confusion:
    counts: np.ndarray        # [gold, predicted]
    label_names: list[str]

    @property
    def rates(self) -> np.ndarray:
        """Row-normalised: the share of each gold class that went to each predicted class (recall
        on the diagonal). A class with no examples keeps a row of zeros rather than NaN."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, totals, out=np.zeros(self.counts.shape, float), where=totals > 0)

    def table(self, normalize: bool = False) -> pd.DataFrame:
        """The matrix as a table whose first column names the gold class (what the UI shows)."""
        values = np.round(self.rates, 3) if normalize else self.counts
        frame = pd.DataFrame(values, columns=[f"→ {name}" for name in self.label_names])
        frame.insert(0, "gold \\ predicted", self.label_names)
        return frame


def confusion_matrix(predictions: pd.DataFrame, label_names: list[str]) -> Confusion:
    gold, predicted = class_ids(predictions, label_names)
    counts = sk_confusion_matrix(gold, predicted, labels=list(range(len(label_names))))
    return Confusion(counts=counts, label_names=list(label_names))


def confusion_figure(result: Confusion, normalize: bool = False) -> go.Figure:
    """Heatmap with gold classes as rows (top to bottom) and predicted classes as columns."""
    z = result.rates if normalize else result.counts
    text = [[f"{v:.1%}" if normalize else f"{int(v)}" for v in row] for row in z]
    counts = result.counts
    fig = go.Figure(go.Heatmap(
        z=z, x=result.label_names, y=result.label_names, text=text, texttemplate="%{text}",
        customdata=counts, colorscale="Blues", zmin=0, zmax=1 if normalize else None,
        hovertemplate="gold %{y}<br>predicted %{x}<br>%{customdata} examples<extra></extra>",
        colorbar=dict(title="rate" if normalize else "count")))
    size = max(320, min(900, 80 * len(result.label_names) + 200))
    fig.update_layout(title="Confusion matrix" + (" (row-normalised)" if normalize else " (counts)"),
                      xaxis=dict(title="predicted", side="bottom"),
                      yaxis=dict(title="gold", autorange="reversed"),
                      height=size, margin=dict(l=80, r=20, t=50, b=60))
    return fig


def cell_examples(predictions: pd.DataFrame, gold: str | int, predicted: str | int,
                  limit: int | None = 200, label_names: list[str] | None = None) -> pd.DataFrame:
    """The examples in one cell, most confident first (confident mistakes are the interesting ones).

    gold and predicted are class names or class ids; a class the run does not have is an error
    (an empty table would read as "no confusions here")."""
    names = list(label_names) if label_names else _label_names(predictions)
    gold_id, predicted_id = _class_id(gold, names), _class_id(predicted, names)
    rows = predictions[(predictions["gold_id"] == gold_id) & (predictions["predicted_id"] == predicted_id)]
    columns = ["index", "text"] + (["text_pair"] if "text_pair" in rows else []) + \
        ["gold", "predicted", "confidence"]
    rows = rows.sort_values("confidence", ascending=False, kind="stable")[[c for c in columns if c in rows]]
    rows = rows.assign(confidence=rows["confidence"].round(4))
    return rows.head(limit) if limit else rows


def _label_names(predictions: pd.DataFrame) -> list[str]:
    """Class names in id order, from the probabilities the model wrote (they cover every class)."""
    if "probabilities" in predictions and len(predictions):
        return list(predictions["probabilities"].iloc[0])
    pairs = pd.concat([predictions[["gold_id", "gold"]].set_axis(["id", "name"], axis=1),
                       predictions[["predicted_id", "predicted"]].set_axis(["id", "name"], axis=1)])
    by_id = dict(zip(pairs["id"].astype(int), pairs["name"].astype(str)))
    return [by_id.get(i, str(i)) for i in range(max(by_id, default=-1) + 1)]


def _class_id(value: str | int, names: list[str]) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if 0 <= int(value) < len(names):
            return int(value)
        raise WorkbenchError(f"class id {value} is out of range 0-{len(names) - 1}")
    if value in names:
        return names.index(value)
    raise WorkbenchError(f"unknown class '{value}'; the run's classes are {names}")
