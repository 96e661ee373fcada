"""The chart functions (workbench/ui/charts.py) on metrics rows written by real training runs.

tests/ui/data/ holds two metrics.jsonl files copied from run folders of the bundled MiniLM on
SST-2: a full fine-tuning run (1 epoch, 250 steps, logged every 10 steps, 4 evaluations) and a
4-step LoRA run (logged and evaluated every step). Both end the way the trainer ends every run: a
train summary row and the final evaluation written twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from workbench.ui import charts

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


@pytest.fixture(scope="module")
def full():
    return load("sst2_full_metrics.jsonl")


@pytest.fixture(scope="module")
def lora():
    return load("sst2_lora_metrics.jsonl")


def trace(fig, name):
    found = [t for t in fig.data if t.name == name]
    assert found, f"no trace {name!r}; traces: {[t.name for t in fig.data]}"
    return found[0]


# ---- picking rows ----------------------------------------------------------------------------------

def test_train_rows_are_the_logged_losses(full):
    rows = charts.train_rows(full)
    assert [r["step"] for r in rows] == [1] + list(range(10, 251, 10))
    assert all("eval_loss" not in r and "train_runtime" not in r for r in rows)


def test_eval_rows_one_per_step_with_the_final_evaluation_merged(full):
    evals = charts.eval_rows(full)
    assert [r["step"] for r in evals] == [63, 126, 189, 250]
    assert evals[-1]["eval_epoch"] == 1.0  # the last of the three step-250 rows is merged in
    assert evals[1]["eval_accuracy"] == pytest.approx(0.819954128440367)


def test_eval_metric_names_leave_out_bookkeeping(full):
    assert charts.eval_metric_names(full) == ["eval_accuracy", "eval_f1_macro"]


def test_series_skips_missing_and_non_finite_values():
    rows = [{"step": 1, "loss": 1.0}, {"step": 2, "loss": float("nan")}, {"step": 3}, {"step": 4, "loss": 0.5},
            {"step": 5, "loss": True}]
    assert charts.series(rows, "loss") == ([1, 4], [1.0, 0.5])


def test_best_eval_is_the_highest_accuracy(full, lora):
    assert charts.best_eval(full) == ("accuracy", pytest.approx(0.823394495412844))  # step 189, not the last
    assert charts.best_eval(lora) == ("accuracy", 0.640625)
    assert charts.best_eval([{"step": 3, "eval_loss": 0.7}, {"step": 6, "eval_loss": 0.4}]) == ("loss", 0.4)
    assert charts.best_eval(charts.train_rows(full)) is None


# ---- smoothing ------------------------------------------------------------------------------------

def test_smoothing_zero_is_the_raw_curve(full):
    _, losses = charts.series(charts.train_rows(full), "loss")
    assert charts.smooth(losses, 0) == losses


def test_smoothing_is_a_debiased_moving_average():
    values = [1.0, 0.0, 0.0, 1.0]
    out = charts.smooth(values, 0.5)
    assert out[0] == 1.0  # debiased: the start is not pulled towards 0
    # EMA 0.5, 0.25, 0.125, 0.5625 divided by (1 - 0.5^i)
    assert out == pytest.approx([1.0, 0.25 / 0.75, 0.125 / 0.875, 0.5625 / 0.9375])


def test_smoothing_flattens_the_real_loss_curve(full):
    _, losses = charts.series(charts.train_rows(full), "loss")
    smoothed = charts.smooth(losses, 0.8)

    def wiggle(values):
        return sum(abs(b - a) for a, b in zip(values, values[1:]))

    assert wiggle(smoothed) < 0.5 * wiggle(losses)
    assert min(losses) <= min(smoothed) and max(smoothed) <= max(losses)


@pytest.mark.parametrize("weight", [-0.1, 1.0, 2])
def test_smoothing_weight_out_of_range(weight):
    with pytest.raises(ValueError, match="smoothing"):
        charts.smooth([1.0, 2.0], weight)


# ---- figures ------------------------------------------------------------------------------------------

def test_loss_figure_has_raw_smoothed_and_eval_loss(full):
    fig = charts.loss_figure(full, smoothing=0.6)
    raw, smoothed, evals = (trace(fig, n) for n in ("train loss", "train loss (smoothed)", "eval loss"))
    steps, losses = charts.series(charts.train_rows(full), "loss")
    assert list(raw.x) == steps and list(raw.y) == losses
    assert list(smoothed.x) == steps
    assert list(smoothed.y) == pytest.approx(charts.smooth(losses, 0.6))
    assert list(evals.x) == [63, 126, 189, 250]
    assert list(evals.y) == pytest.approx([0.565731406211853, 0.3921850919723511, 0.3788350522518158,
                                           0.4036213457584381])
    assert fig.layout.yaxis.type == "linear"
    assert fig.layout.showlegend is True
    assert not fig.layout.annotations


def test_loss_figure_log_scale_and_no_smoothing(full):
    fig = charts.loss_figure(full, smoothing=0, log_scale=True)
    assert fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == ["train loss", "eval loss"]


def test_loss_figure_grows_with_the_rows(full):
    """What the monitor sees while a run trains: each new row is one more point."""
    for n in (1, 5, 12):
        fig = charts.loss_figure(full[:n])
        assert len(trace(fig, "train loss").x) == len(charts.train_rows(full[:n]))
    # One logged step: the raw point and no smoothed line yet.
    assert [t.name for t in charts.loss_figure(full[:1]).data] == ["train loss"]


def test_empty_loss_figure_says_it_is_waiting():
    fig = charts.loss_figure([])
    assert not fig.data
    assert "waiting" in fig.layout.annotations[0].text
    assert fig.layout.xaxis.visible is False


def test_eval_metrics_figure(full):
    fig = charts.eval_metrics_figure(full)
    assert [t.name for t in fig.data] == ["accuracy", "f1_macro"]
    accuracy = trace(fig, "accuracy")
    assert list(accuracy.x) == [63, 126, 189, 250]
    assert accuracy.y[-1] == pytest.approx(0.8130733944954128)
    assert "markers" in accuracy.mode


def test_the_checkpoint_a_run_kept_is_marked_on_its_evaluations(full):
    fig = charts.eval_metrics_figure(full, kept_step=189)
    assert [(shape.x0, shape.x1, shape.line.dash) for shape in fig.layout.shapes] == [(189, 189, "dash")]
    assert [a.text for a in fig.layout.annotations] == ["kept: step 189"]
    assert not charts.eval_metrics_figure(full).layout.shapes
    assert not charts.eval_metrics_figure(full[:7], kept_step=189).layout.shapes  # nothing to mark yet


def test_eval_metrics_figure_before_the_first_evaluation(full):
    fig = charts.eval_metrics_figure(full[:7])  # rows up to step 60
    assert not fig.data
    assert fig.layout.annotations[0].text == "no evaluation yet"


def test_learning_rate_grad_norm_and_throughput(full):
    lr = charts.learning_rate_figure(full, log_scale=True)
    assert lr.layout.yaxis.type == "log"
    x, y = list(lr.data[0].x), list(lr.data[0].y)
    assert x[0] == 1 and y[0] == 0.0 and max(y) == pytest.approx(9.822222222222223e-05)  # warmup then decay
    grad = charts.grad_norm_figure(full)
    assert list(grad.data[0].y)[:2] == pytest.approx([0.7646448612213135, 2.2925288677215576])
    speed = charts.throughput_figure(full)
    assert len(speed.data[0].x) == 26 and all(v > 0 for v in speed.data[0].y)


def test_compare_figure_overlays_runs(full, lora):
    fig = charts.compare_figure({"full": full, "lora": lora}, "loss", smoothing=0.6)
    names = [t.name for t in fig.data]
    assert names == ["full (raw)", "full", "lora (raw)", "lora"]
    assert trace(fig, "full").line.color != trace(fig, "lora").line.color
    assert list(trace(fig, "lora").x) == [1, 2, 3, 4]
    assert list(trace(fig, "lora (raw)").y) == pytest.approx([0.7077533006668091, 0.6787921786308289,
                                                             0.6779116988182068, 0.5980105996131897])
    assert trace(fig, "full (raw)").showlegend is False
    assert fig.layout.showlegend is True


def test_compare_figure_eval_metric_is_not_smoothed(full, lora):
    fig = charts.compare_figure({"full": full, "lora": lora}, "eval_accuracy", smoothing=0.9, log_scale=True)
    assert [t.name for t in fig.data] == ["full", "lora"]
    assert list(trace(fig, "full").y) == pytest.approx([r["eval_accuracy"] for r in charts.eval_rows(full)])
    assert list(trace(fig, "lora").x) == [1, 2, 3, 4]
    assert fig.layout.yaxis.type == "log"


def test_compare_figure_skips_runs_without_the_metric(full):
    fig = charts.compare_figure({"full": full, "no evals yet": full[:3]}, "eval_loss")
    assert [t.name for t in fig.data] == ["full"]
    empty = charts.compare_figure({"no evals yet": full[:3]}, "eval_loss")
    assert not empty.data and "pick runs" in empty.layout.annotations[0].text


def test_metric_choices(full, lora):
    assert charts.metric_choices([full, lora]) == ["loss", "eval_loss", "eval_accuracy", "eval_f1_macro",
                                                    "learning_rate", "grad_norm"]
    assert charts.metric_choices([full[:3]]) == ["loss", "learning_rate", "grad_norm"]


def test_label_distribution_figure():
    fig = charts.label_distribution_figure({"train": {"billing": 50, "delivery": 30},
                                            "validation": {"delivery": 4, "refund": 2}})
    train, validation = fig.data
    assert list(train.x) == ["billing", "delivery", "refund"]
    assert list(train.y) == [50, 30, 0]
    assert list(validation.y) == [0, 4, 2]
    assert fig.layout.barmode == "group"
    # Splits in the order a run uses them, whatever order the files came in (a folder lists test first).
    fig = charts.label_distribution_figure({"test": {"a": 1}, "train": {"a": 5}, "validation": {"a": 2}})
    assert [trace.name for trace in fig.data] == ["train", "validation", "test"]
    # Labels in the model's class order (AG News: World, Sports, Business, Sci/Tech), not A to Z.
    names = ["World", "Sports", "Business", "Sci/Tech"]
    fig = charts.label_distribution_figure({"train": dict.fromkeys(sorted(names), 10)}, names)
    assert list(fig.data[0].x) == names


def test_figures_serialise_to_json(full):
    """gr.Plot sends figures as JSON: no NaN or numpy leftovers that would break the page."""
    for fig in (charts.loss_figure(full), charts.eval_metrics_figure(full), charts.compare_figure({"a": full})):
        payload = json.loads(fig.to_json())
        for data in payload["data"]:
            assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in data["y"])


def test_a_lone_point_is_drawn_as_a_marker(full):
    one = charts.loss_figure(full[:1])
    assert one.data[0].mode == "lines+markers"  # a line through one point would draw nothing
    assert charts.loss_figure(full[:2]).data[0].mode == "lines"
    assert charts.grad_norm_figure(full[:1]).data[0].mode == "lines+markers"
