"""The Analyze tab's pure helpers (its views are driven in a real browser in tests/browser)."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.ui.analyze_tab import MAX_LINES, predictions_table, split_lines


def test_lines_are_texts_and_blank_lines_are_skipped():
    assert split_lines(" good film \n\n  bad film\n", pairs=False) == (["good film", "bad film"], None)


def test_a_pair_model_takes_two_texts_per_line_and_names_the_lines_without():
    texts, pairs = split_lines("a cat sat ||| a cat was sitting\nit rained ||| it was dry", pairs=True)
    assert texts == ["a cat sat", "it rained"] and pairs == ["a cat was sitting", "it was dry"]
    with pytest.raises(WorkbenchError, match=r"first text \|\|\| second text \(line 2, 3\)"):
        split_lines("a ||| b\nno second text\nc |||", pairs=True)


@pytest.mark.parametrize("text, words", [("", "Type a text"), ("\n \n", "Type a text"),
                                         ("x\n" * (MAX_LINES + 1), "label them as a file")])
def test_nothing_or_too_much_to_label_says_what_to_do(text, words):
    with pytest.raises(WorkbenchError, match=words):
        split_lines(text, pairs=False)


def test_the_table_puts_the_label_before_the_text():
    labelled = [{"predicted": "positive", "confidence": 0.91234,
                 "probabilities": {"negative": 0.08766, "positive": 0.91234}}]
    table = predictions_table([{"text": "a good film"}], labelled)
    assert list(table.columns) == ["predicted", "confidence", "text", "p_negative", "p_positive"]
    assert table.iloc[0].tolist() == ["positive", 0.9123, "a good film", 0.0877, 0.9123]
