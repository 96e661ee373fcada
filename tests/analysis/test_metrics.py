"""Metrics from saved predictions: equal to scikit-learn's, ECE by hand, clear errors on bad runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from analysis_helpers import set_status, three_class_predictions
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from workbench.analysis import (calibration, check_analysable, classification_metrics, load_predictions,
                                per_class_figure, reliability_figure)
from workbench.errors import WorkbenchError


def test_metrics_equal_scikit_learn_on_the_run(sst2_predictions):
    predictions, labels = sst2_predictions
    report = classification_metrics(predictions, labels)
    gold, predicted = predictions["gold_id"], predictions["predicted_id"]
    assert labels == ["negative", "positive"] and report.n == len(predictions) == 200
    assert report.accuracy == pytest.approx(accuracy_score(gold, predicted))
    assert report.accuracy > 0.7, "the fixture model learned SST-2"
    for average in ("macro", "micro", "weighted"):
        assert report.__dict__[average]["f1"] == pytest.approx(f1_score(gold, predicted, average=average))
    p, r, f, s = precision_recall_fscore_support(gold, predicted)
    np.testing.assert_allclose(report.per_class[["precision", "recall", "f1"]].to_numpy(), np.column_stack([p, r, f]))
    assert report.per_class["support"].tolist() == s.tolist()
    assert report.summary()["average"].tolist() == ["macro", "micro", "weighted"]


def test_a_class_never_predicted_counts_as_zero_not_missing():
    predictions, names = three_class_predictions()
    assert 2 not in set(predictions["predicted_id"])
    report = classification_metrics(predictions, names)
    gold, predicted = predictions["gold_id"], predictions["predicted_id"]
    assert report.macro["f1"] == pytest.approx(f1_score(gold, predicted, average="macro", labels=[0, 1, 2],
                                                        zero_division=0))
    assert report.micro["f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    business = report.per_class.set_index("label").loc["business"]
    assert business["precision"] == 0 and business["recall"] == 0 and business["support"] == (gold == 2).sum()


def test_expected_calibration_error_by_hand():
    # Two bins used: (0.5, 0.6] holds 0.55 x2 (1 right) and (0.9, 1.0] holds 0.95, 1.0 (both right).
    confidence = np.array([0.55, 0.55, 0.95, 1.0])
    correct = np.array([True, False, True, True])
    ece, bins = calibration(confidence, correct, n_bins=10)
    expected = 2 / 4 * abs(0.5 - 0.55) + 2 / 4 * abs(1.0 - 0.975)
    assert ece == pytest.approx(expected)
    assert bins["count"].sum() == 4 and bins.loc[9, "count"] == 2 and bins.loc[5, "count"] == 2
    # A confidence exactly on an edge belongs to the bin that ends there: (0.5, 0.6] ends at 0.6.
    _, edge = calibration(np.array([0.6]), np.array([True]), n_bins=10)
    assert edge.loc[5, "count"] == 1


def test_ece_of_the_run_and_its_charts(sst2_predictions):
    predictions, labels = sst2_predictions
    report = classification_metrics(predictions, labels)
    correct = (predictions["gold_id"] == predictions["predicted_id"]).to_numpy()
    confidence = predictions["confidence"].to_numpy()
    edges = np.linspace(0, 1, 11)
    manual = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            manual += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    assert report.ece == pytest.approx(manual)
    assert 0 <= report.ece < 0.3
    diagram = reliability_figure(report)
    accuracy_bars = diagram.data[0]
    assert len(accuracy_bars.x) == (report.reliability["count"] > 0).sum() >= 2
    assert f"{report.ece:.3f}" in diagram.layout.title.text
    bars = per_class_figure(report)
    assert [t.name for t in bars.data] == ["precision", "recall", "f1"] and list(bars.data[2].x) == labels


def test_ids_outside_the_label_names_are_an_error():
    predictions, names = three_class_predictions(20)
    with pytest.raises(WorkbenchError, match="class id 2 is not one of the run's 2 classes"):
        classification_metrics(predictions, names[:2])
    with pytest.raises(WorkbenchError, match="no predictions"):
        classification_metrics(predictions.iloc[:0], names)


@pytest.mark.parametrize("state, words", [
    ({"status": "running", "pid": None}, "is running"),
    ({"status": "queued"}, "is queued"),
    ({"status": "failed", "error": "CUDA out of memory"}, "is failed: CUDA out of memory"),
    ({"status": "aborted"}, "is aborted"),
])
def test_a_run_that_did_not_finish_cannot_be_analysed(copied_run, state, words):
    set_status(copied_run, **state)
    with pytest.raises(WorkbenchError, match=f"{words}.*Only finished runs can be analysed"):
        load_predictions(copied_run)
    with pytest.raises(WorkbenchError, match="Only finished runs"):
        check_analysable(copied_run)


def test_runs_without_usable_predictions(copied_run):
    set_status(copied_run, task="ner")
    with pytest.raises(WorkbenchError, match="ner run; these views analyse classifiers"):
        load_predictions(copied_run)
    set_status(copied_run, task="classification")
    lines = copied_run.predictions_path.read_text().splitlines()
    copied_run.predictions_path.write_text("\n".join(lines[:3] + ["{not json"]) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 4, is not valid JSON \(.*\); `workbench eval "
                                             rf"{copied_run.id} --data PATH --output .*predictions.jsonl` writes "
                                             r"it again$"):
        load_predictions(copied_run)
    rows = [json.loads(line) for line in lines[:3]]
    copied_run.predictions_path.write_text("\n".join(json.dumps({k: v for k, v in r.items() if k != "confidence"})
                                                     for r in rows))
    with pytest.raises(WorkbenchError, match=r"lacks the columns \['confidence'\]"):
        load_predictions(copied_run)
    copied_run.predictions_path.write_text("")
    with pytest.raises(WorkbenchError, match="holds no predictions"):
        load_predictions(copied_run)
    copied_run.predictions_path.unlink()
    with pytest.raises(WorkbenchError, match="has no predictions.jsonl"):
        load_predictions(copied_run)


def test_label_names_come_from_the_run(copied_run, sst2_predictions):
    predictions, labels = load_predictions(copied_run)
    assert labels == sst2_predictions[1]
    frame, from_file = load_predictions(copied_run.predictions_path)  # a bare file: names from probabilities
    assert from_file == labels and len(frame) == len(predictions)
