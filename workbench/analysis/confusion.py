"""Confusion matrix of saved predictions, as counts or row-normalised rates, and a cell's examples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import confusion_matrix as sk_confusion_matrix


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
    gold = predictions["gold_id"].to_numpy(int)
    predicted = predictions["predicted_id"].to_numpy(int)
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
                  limit: int | None = 200) -> pd.DataFrame:
    """The examples in one cell, most confident first (confident mistakes are the interesting ones)."""
    gold_col = "gold_id" if isinstance(gold, (int, np.integer)) else "gold"
    pred_col = "predicted_id" if isinstance(predicted, (int, np.integer)) else "predicted"
    rows = predictions[(predictions[gold_col] == gold) & (predictions[pred_col] == predicted)]
    columns = ["index", "text"] + (["text_pair"] if "text_pair" in rows else []) + \
        ["gold", "predicted", "confidence"]
    rows = rows.sort_values("confidence", ascending=False)[[c for c in columns if c in rows]]
    rows = rows.assign(confidence=rows["confidence"].round(4))
    return rows.head(limit) if limit else rows
