"""Training charts as plain functions: metrics.jsonl rows in, plotly figures out.

The app and the notebooks call the same functions, so a chart looks the same everywhere:

    from workbench.runs.store import get_run
    from workbench.ui import charts
    charts.loss_figure(get_run("runs", run_id).metrics())

Rows are the records the trainer appends to metrics.jsonl: training rows carry `loss`,
`learning_rate`, `grad_norm`, `samples_per_second`; evaluation rows carry `eval_*` keys. The x
axis is always the optimizer step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go

HEIGHT = 300
# Evaluation keys that describe the evaluation itself, not the model.
EVAL_BOOKKEEPING = {"eval_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second",
                    "eval_epoch"}
GRID = "#EBF0F8"
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


# ---- picking rows -------------------------------------------------------------------------------

def train_rows(rows: Iterable[Mapping]) -> list[Mapping]:
    """Rows logged during training (one per logging step)."""
    return [r for r in rows if _is_number(r.get("loss"))]


def eval_rows(rows: Iterable[Mapping]) -> list[Mapping]:
    """One evaluation row per step; a later row for the same step (the final evaluation) wins."""
    by_step: dict[int, Mapping] = {}
    for row in rows:
        if _is_number(row.get("eval_loss")):
            by_step[row["step"]] = {**by_step.get(row["step"], {}), **row}
    return [by_step[step] for step in sorted(by_step)]


def eval_metric_names(rows: Iterable[Mapping]) -> list[str]:
    """The model-quality metrics the evaluations report (eval_accuracy, eval_f1_macro, ...)."""
    names: dict[str, None] = {}
    for row in eval_rows(rows):
        for key, value in row.items():
            if key.startswith("eval_") and key not in EVAL_BOOKKEEPING and _is_number(value):
                names[key] = None
    return list(names)


def series(rows: Iterable[Mapping], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one key, skipping rows without a finite value for it."""
    steps, values = [], []
    for row in rows:
        value = row.get(key)
        if _is_number(value):
            steps.append(row["step"])
            values.append(float(value))
    return steps, values


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing (the start is not pulled to 0).

    weight 0 returns the values unchanged; 0.9 averages over about the last ten points.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight ** i))
    return out


def best_eval(rows: Iterable[Mapping], metric: str = "eval_accuracy") -> tuple[str, float] | None:
    """The best value of an evaluation metric over a run: (name without eval_, value)."""
    evals = eval_rows(rows)
    for key in (metric, "eval_f1_macro"):
        values = [r[key] for r in evals if _is_number(r.get(key))]
        if values:
            return key.removeprefix("eval_"), max(values)
    losses = [r["eval_loss"] for r in evals]
    return ("loss", min(losses)) if losses else None


# ---- figures --------------------------------------------------------------------------------------

def loss_figure(rows: Iterable[Mapping], smoothing: float = 0.6, log_scale: bool = False,
                title: str = "Loss") -> go.Figure:
    """Training loss (raw and smoothed) and evaluation loss against the step."""
    rows = list(rows)
    steps, losses = series(train_rows(rows), "loss")
    fig = _figure(title, "loss", log_scale)
    if steps:
        fig.add_trace(go.Scatter(x=steps, y=losses, name="train loss", mode=_line_mode(steps),
                                 line={"color": PALETTE[0], "width": 1}, opacity=0.35))
        if smoothing > 0 and len(losses) > 1:
            fig.add_trace(go.Scatter(x=steps, y=smooth(losses, smoothing), name="train loss (smoothed)",
                                     mode="lines", line={"color": PALETTE[0], "width": 2.5}))
    eval_steps, eval_losses = series(eval_rows(rows), "eval_loss")
    if eval_steps:
        fig.add_trace(go.Scatter(x=eval_steps, y=eval_losses, name="eval loss", mode="lines+markers",
                                 line={"color": PALETTE[1], "width": 2}))
    return _finish(fig, bool(steps or eval_steps), "waiting for the first logged step")


def eval_metrics_figure(rows: Iterable[Mapping], title: str = "Evaluation metrics",
                        kept_step: int | None = None) -> go.Figure:
    """Every model-quality evaluation metric (accuracy, macro F1, ...) against the step; a dashed
    line at `kept_step`, the checkpoint a run kept as its model (train.select_best)."""
    rows = list(rows)
    evals = eval_rows(rows)
    fig = _figure(title, "value", False)
    for i, name in enumerate(eval_metric_names(rows)):
        steps, values = series(evals, name)
        fig.add_trace(go.Scatter(x=steps, y=values, name=name.removeprefix("eval_"), mode="lines+markers",
                                 line={"color": PALETTE[(i + 2) % len(PALETTE)], "width": 2}))
    if kept_step is not None and fig.data:
        fig.add_vline(x=kept_step, line={"dash": "dash", "color": "#555", "width": 1},
                      annotation_text=f"kept: step {kept_step}", annotation_position="top left")
    return _finish(fig, bool(fig.data), "no evaluation yet")


def learning_rate_figure(rows: Iterable[Mapping], log_scale: bool = False) -> go.Figure:
    return _single_series(rows, "learning_rate", "Learning rate", PALETTE[3], log_scale)


def grad_norm_figure(rows: Iterable[Mapping], log_scale: bool = False) -> go.Figure:
    return _single_series(rows, "grad_norm", "Gradient norm", PALETTE[4], log_scale)


def throughput_figure(rows: Iterable[Mapping]) -> go.Figure:
    return _single_series(rows, "samples_per_second", "Samples / s", PALETTE[5], False)


def compare_figure(runs: Mapping[str, Iterable[Mapping]], metric: str = "loss", smoothing: float = 0.6,
                   log_scale: bool = False) -> go.Figure:
    """One metric of several runs overlaid, one colour per run (legend: the run label)."""
    fig = _figure(f"{metric} by run", metric, log_scale)
    for i, (label, rows) in enumerate(runs.items()):
        rows = list(rows)
        source = eval_rows(rows) if metric.startswith("eval_") else train_rows(rows)
        steps, values = series(source, metric)
        if not steps:
            continue
        color = PALETTE[i % len(PALETTE)]
        if smoothing > 0 and not metric.startswith("eval_") and len(values) > 1:
            fig.add_trace(go.Scatter(x=steps, y=values, mode="lines", line={"color": color, "width": 1},
                                     opacity=0.3, showlegend=False, name=f"{label} (raw)"))
            values = smooth(values, smoothing)
        mode = "lines+markers" if metric.startswith("eval_") else _line_mode(steps)
        fig.add_trace(go.Scatter(x=steps, y=values, name=label, mode=mode, line={"color": color, "width": 2}))
    fig = _finish(fig, bool(fig.data), "pick runs that logged this metric")
    fig.update_layout(showlegend=bool(fig.data))  # name the run even when there is one
    return fig


def metric_choices(runs: Iterable[Iterable[Mapping]]) -> list[str]:
    """The metrics worth overlaying across these runs, training loss first."""
    names: dict[str, None] = {"loss": None}
    for rows in runs:
        rows = list(rows)
        if any(_is_number(r.get("eval_loss")) for r in rows):
            names["eval_loss"] = None
        names.update(dict.fromkeys(eval_metric_names(rows)))
    names.update(dict.fromkeys(["learning_rate", "grad_norm"]))
    return list(names)


# ---- helpers --------------------------------------------------------------------------------------

def _single_series(rows, key: str, title: str, color: str, log_scale: bool) -> go.Figure:
    steps, values = series(train_rows(rows), key)
    fig = _figure(title, key, log_scale)
    if steps:
        fig.add_trace(go.Scatter(x=steps, y=values, name=key, mode=_line_mode(steps),
                                 line={"color": color, "width": 2}))
    return _finish(fig, bool(steps), "waiting for the first logged step")


def _line_mode(steps: list) -> str:
    """A line through one point draws nothing: show a lone point as a marker."""
    return "lines+markers" if len(steps) == 1 else "lines"


def _figure(title: str, y_title: str, log_scale: bool) -> go.Figure:
    # The look of plotly's "plotly_white" spelled out: assigning the template itself deep-copies
    # it (25 ms a figure, and 7 KB in every update the monitor sends twice a second).
    axis = {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "zerolinewidth": 2, "automargin": True,
            "ticks": "", "title": {"standoff": 12}}
    return go.Figure(layout={
        "title": {"text": title, "x": 0.01, "font": {"size": 14}}, "height": HEIGHT, "template": "none",
        "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#2a3f5f"},
        "hovermode": "x", "margin": {"l": 55, "r": 15, "t": 40, "b": 40},
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        # Keep the user's zoom and hidden traces when new points arrive.
        "uirevision": title,
        "xaxis": {**axis, "title": {**axis["title"], "text": "step"}},
        "yaxis": {**axis, "title": {**axis["title"], "text": y_title}, "type": "log" if log_scale else "linear"},
    })


def _finish(fig: go.Figure, has_data: bool, empty_message: str) -> go.Figure:
    if not has_data:
        fig.add_annotation(text=empty_message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                           font={"color": "#6b7280"})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    fig.update_layout(showlegend=len(fig.data) > 1)
    return fig


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def label_distribution_figure(label_counts: Mapping[str, Mapping[str, int]],
                              label_names: Sequence[str] = ()) -> go.Figure:
    """Rows per label, one bar group per split (the pre-flight report's label_counts), the labels
    in the model's class order (label_names) as the check and the Analyze tab list them."""
    fig = _figure("Label distribution", "rows", False)
    labels: dict[str, None] = dict.fromkeys(label_names)
    for counts in label_counts.values():
        labels.update(dict.fromkeys(sorted(counts)))
    order = {"train": 0, "validation": 1, "test": 2}  # the order a run uses them, not the files'
    splits = sorted(label_counts, key=lambda split: order.get(split, len(order)))
    for i, split in enumerate(splits):
        counts = label_counts[split]
        fig.add_trace(go.Bar(x=list(labels), y=[counts.get(label, 0) for label in labels], name=split,
                             marker_color=PALETTE[i % len(PALETTE)]))
    # No x-axis title: the chart's title names the labels, and the split legend sits below the axis.
    fig.update_layout(barmode="group", xaxis={"title": {"text": ""}, "type": "category"})
    fig = _finish(fig, bool(fig.data), "no labels to count")
    fig.update_layout(showlegend=bool(fig.data))
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A chart with nothing to draw, saying why."""
    return _finish(_figure(title, "", False), False, message)


def token_length_figure(lengths: Mapping, max_length: int) -> go.Figure:
    """Texts per token count, one bar series per split (data/lengths.TokenLengths, sampled), and
    the line where task.max_length cuts them. Binned here, so the page gets ~40 bars, not 5,000
    numbers a split."""
    import numpy as np

    fig = _figure("Token lengths", "texts", False)
    order = {"train": 0, "validation": 1, "test": 2}
    splits = sorted(lengths, key=lambda split: order.get(split, len(order)))
    longest = max((int(lengths[s].lengths.max()) for s in splits if len(lengths[s].lengths)), default=0)
    width = max(1, math.ceil(max(longest, max_length) / 40))
    edges = np.arange(0, max(longest, max_length) + 2 * width, width)
    for i, split in enumerate(splits):
        counts, _ = np.histogram(lengths[split].lengths, bins=edges)
        sampled = " (sample)" if lengths[split].sampled else ""
        fig.add_trace(go.Bar(x=(edges[:-1] + width / 2).tolist(), y=counts.tolist(), width=width,
                             name=f"{split}{sampled}", marker_color=PALETTE[i % len(PALETTE)], opacity=0.75))
    train = lengths.get("train")
    cut = f" cuts {100 * train.share_cut(max_length):.1f} % of train" if train is not None else ""
    fig.add_vline(x=max_length, line={"color": "#111827", "dash": "dash", "width": 1.5},
                  annotation={"text": f"max_length {max_length}{cut}", "font": {"size": 11}},
                  annotation_position="top left" if max_length > longest / 2 else "top right")
    fig.update_layout(barmode="overlay", xaxis={"title": {"text": "tokens"}}, hovermode="closest")
    fig = _finish(fig, bool(fig.data), "no texts to measure")
    fig.update_layout(showlegend=bool(fig.data))
    return fig
