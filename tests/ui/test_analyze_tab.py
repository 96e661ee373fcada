"""The Analyze tab's pure helpers, and its views of token attributions and faithfulness on a pair
run (every view is driven in a real browser in tests/browser)."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
import pandas as pd

from workbench.ui.analyze_tab import (MAX_LINES, PREDICTED, _example_text, attribution_costs, attributions_html,
                                    faithfulness_estimate, faithfulness_report, one_input, predictions_table,
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


def test_a_pair_model_is_shown_and_asked_both_texts():
    # MRPC-like predictions: the example offered for attention is both sentences, as the box takes them.
    predictions = pd.DataFrame({"text": ["He said so .", "It rained ."], "text_pair": ["He did say it .", "Sun ."],
                                "gold_id": [1, 0], "predicted_id": [0, 0], "confidence": [0.9, 0.8]})
    example = _example_text(predictions)
    assert example == "He said so . ||| He did say it ."
    assert one_input(example, pairs=True) == ("He said so .", "He did say it .")
    assert one_input("a text ||| with bars", pairs=False) == ("a text ||| with bars", None)
    with pytest.raises(WorkbenchError, match="trained on text pairs: write the example as first text ||| second"):
        one_input("only one sentence", pairs=True)
    assert _example_text(predictions.drop(columns="text_pair")) == "He said so ."


PAIR_EXAMPLE = "The cat sat on the mat . ||| A cat was sitting on the mat ."


def test_a_pair_run_gets_attributions_of_both_texts(mrpc_run):
    runs_dir, run_id = str(mrpc_run.dir.parent), mrpc_run.id
    costs = attribution_costs(runs_dir, run_id, PAIR_EXAMPLE, 100, 8)
    # [CLS] 7 pieces [SEP] 8 pieces [SEP]: both texts are read, as training read them.
    assert costs["what runs"].iloc[1] == "8 interpolation steps of 18 word pieces, forward and backward"
    page = attributions_html(runs_dir, run_id, PAIR_EXAMPLE, PREDICTED, ["SHAP", "Integrated Gradients"], 100, 8,
                             False)
    assert page.count(">Text 1</span>") == page.count(">Text 2</span>") == 2  # one pair of lines per explainer
    assert ">sitting</span>" in page and "[SEP]" not in page
    for typed in ("The cat sat on the mat .", "The cat sat on the mat . |||  ", ""):
        with pytest.raises(WorkbenchError, match=r"trained on text pairs: write the example as first text "
                                                 r"\|\|\| second text"):
            attributions_html(runs_dir, run_id, typed, PREDICTED, ["SHAP"], 100, 8, False)
    with pytest.raises(WorkbenchError, match="trained on text pairs"):
        attribution_costs(runs_dir, run_id, "The cat sat on the mat . |||  ", 100, 8)
    # Nothing typed yet, or the second text not begun: nothing to cost, and no error at each key press.
    assert attribution_costs(runs_dir, run_id, "", 100, 8) is None
    assert attribution_costs(runs_dir, run_id, "The cat sat on the mat", 100, 8) is None


def test_a_pair_run_gets_its_faithfulness_measured(mrpc_run):
    runs_dir, run_id = str(mrpc_run.dir.parent), mrpc_run.id
    assert "for 5 examples" in faithfulness_estimate(runs_dir, run_id, 5, ["SHAP", "Gradient x input"], 100)
    report = faithfulness_report(runs_dir, run_id, 2, ["Gradient x input"], 100)
    assert report.table["explainer"].tolist() == ["gradient_x_input", "random"] and (report.table["texts"] == 2).all()
