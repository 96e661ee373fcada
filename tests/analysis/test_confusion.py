"""Confusion matrix equal to scikit-learn's; a cell's examples; unknown classes are errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from analysis_helpers import three_class_predictions

from workbench.analysis import cell_examples, confusion_figure, confusion_matrix
from workbench.errors import WorkbenchError


def test_counts_equal_scikit_learn_on_the_run(sst2_predictions):
    predictions, labels = sst2_predictions
    cm = confusion_matrix(predictions, labels)
    expected = sk_confusion_matrix(predictions["gold"], predictions["predicted"], labels=labels)
    np.testing.assert_array_equal(cm.counts, expected)
    assert cm.counts.sum() == len(predictions)
    assert cm.counts[0, 1] > 0 and cm.counts[1, 0] > 0, "the fixture model makes both kinds of mistakes"


def test_rates_are_row_normalised_with_empty_classes_kept_at_zero():
    predictions, names = three_class_predictions()
    cm = confusion_matrix(predictions, names)
    np.testing.assert_allclose(cm.rates, sk_confusion_matrix(predictions["gold_id"], predictions["predicted_id"],
                                                             labels=[0, 1, 2], normalize="true"))
    np.testing.assert_allclose(cm.rates.sum(axis=1), 1.0)
    assert cm.counts[:, 2].sum() == 0  # "business" is never predicted: a zero column, not a missing one
    only_two = predictions[predictions["gold_id"] < 2]
    rates = confusion_matrix(only_two, names).rates
    assert rates[2].tolist() == [0, 0, 0] and not np.isnan(rates).any()
    table = cm.table(normalize=True)
    assert list(table.columns) == ["gold \\ predicted", "→ world", "→ sports", "→ business"]
    assert table["gold \\ predicted"].tolist() == names


def test_heatmap_shows_the_counts_or_rates(sst2_predictions):
    predictions, labels = sst2_predictions
    cm = confusion_matrix(predictions, labels)
    counts = confusion_figure(cm).data[0]
    assert np.array_equal(np.asarray(counts.z), cm.counts) and list(counts.x) == labels
    assert counts.text[0][1] == str(cm.counts[0, 1])
    rates = confusion_figure(cm, normalize=True).data[0]
    np.testing.assert_allclose(np.asarray(rates.z), cm.rates)
    assert rates.text[1][1].endswith("%") and rates.zmax == 1


def test_a_cells_examples_most_confident_first(sst2_predictions):
    predictions, labels = sst2_predictions
    cm = confusion_matrix(predictions, labels)
    for gold in range(2):
        for predicted in range(2):
            by_name = cell_examples(predictions, labels[gold], labels[predicted], limit=None)
            by_id = cell_examples(predictions, gold, predicted, limit=None)
            assert len(by_name) == len(by_id) == cm.counts[gold, predicted]
            assert (by_name["gold"] == labels[gold]).all() and (by_name["predicted"] == labels[predicted]).all()
            assert by_name["confidence"].is_monotonic_decreasing
            assert list(by_name.columns) == ["index", "text", "gold", "predicted", "confidence"]
    assert len(cell_examples(predictions, "negative", "positive", limit=5)) == min(5, cm.counts[0, 1])


def test_unknown_classes_are_errors(sst2_predictions):
    predictions, labels = sst2_predictions
    with pytest.raises(WorkbenchError, match=r"unknown class 'neutral'; the run's classes are \['negative', 'positive'\]"):
        cell_examples(predictions, "neutral", "positive")
    with pytest.raises(WorkbenchError, match="class id 5 is out of range 0-1"):
        cell_examples(predictions, 0, 5)
