"""The Analyze tab's pure helpers (its views are driven in a real browser in tests/browser)."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
import pandas as pd

from workbench.ui.analyze_tab import (MAX_LINES, _example_text, one_input, predictions_table, require_single_texts,
                                    split_lines)


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


def test_a_pair_model_is_shown_and_asked_both_texts_and_explainers_refuse_it():
    # MRPC-like predictions: the example offered for attention is both sentences, as the box takes them.
    predictions = pd.DataFrame({"text": ["He said so .", "It rained ."], "text_pair": ["He did say it .", "Sun ."],
                                "gold_id": [1, 0], "predicted_id": [0, 0], "confidence": [0.9, 0.8]})
    example = _example_text(predictions)
    assert example == "He said so . ||| He did say it ."
    assert one_input(example, pairs=True) == ("He said so .", "He did say it .")
    assert one_input("a text ||| with bars", pairs=False) == ("a text ||| with bars", None)
    with pytest.raises(WorkbenchError, match="trained on text pairs: write the example as first text ||| second"):
        one_input("only one sentence", pairs=True)
    with pytest.raises(WorkbenchError, match="token attributions are computed for single-text classifiers"):
        require_single_texts(True)
    require_single_texts(False)
    assert _example_text(predictions.drop(columns="text_pair")) == "He said so ."
