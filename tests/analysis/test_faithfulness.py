"""ERASER comprehensiveness and sufficiency on the fine-tuned SST-2 model: the deletions by hand,
and SHAP and Integrated Gradients beat a random ranking of the word pieces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.analysis import (ERASER_BINS, erase_scores, faithfulness_figure, measure_faithfulness, sample_texts,
                                standard_explainers)
from workbench.errors import WorkbenchError


def probability(model, ids: list[int], target: int) -> float:
    with torch.inference_mode():  # (without an attention mask the pooled classifier reads [CLS] only)
        logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long)).logits
    logits = logits[0].float()
    return float(torch.softmax(logits, -1)[target])


def test_erase_scores_delete_and_keep_the_top_pieces(sst2_model):
    model, tokenizer, max_length = sst2_model
    text = "the acting is superb but the plot is a mess ."
    ids = tokenizer(text)["input_ids"]
    n = len(ids) - 2
    scores = np.zeros(len(ids))
    scores[1:-1] = np.arange(n, 0, -1)  # rank the word pieces left to right
    target = 1
    comp, suff = erase_scores(model, tokenizer, text, scores, target, bins=(0.05, 0.5), max_length=max_length)
    full = probability(model, ids, target)
    k_small, k_half = max(1, round(0.05 * n)), round(0.5 * n)
    for i, k in enumerate((k_small, k_half)):
        without = [ids[0]] + ids[1 + k:]
        only = ids[:1 + k] + [ids[-1]]
        assert comp[i] == pytest.approx(full - probability(model, without, target), abs=1e-5)
        assert suff[i] == pytest.approx(full - probability(model, only, target), abs=1e-5)


def test_shap_and_ig_beat_random_tokens(sst2_model, sst2_predictions):
    model, tokenizer, max_length = sst2_model
    predictions, _ = sst2_predictions
    texts = sample_texts(predictions, 12, seed=0)
    assert len(set(texts)) == 12
    explainers = standard_explainers(model, tokenizer, max_length, shap_max_evals=300)
    seen = []
    report = measure_faithfulness(model, tokenizer, texts, explainers, max_length=max_length, random_repeats=5,
                                  progress=lambda fraction, what: seen.append(fraction))
    table = report.table.set_index("explainer")
    assert list(table.index) == ["shap", "integrated_gradients", "gradient_x_input", "random"]
    assert (table["texts"] == 12).all() and seen[0] == 0 and len(seen) == 12
    random = table.loc["random"]
    assert abs(random["comprehensiveness"]) < 0.1, "deleting random pieces barely moves the prediction"
    for name in ("shap", "integrated_gradients"):
        row = table.loc[name]
        # Clearly better than random: by a wide margin and by more than their combined noise.
        margin = row["comprehensiveness"] - random["comprehensiveness"]
        assert margin > 0.1 and margin > 2 * (row["comprehensiveness_sem"] + random["comprehensiveness_sem"]), table
        assert row["sufficiency"] < random["sufficiency"], table
        assert row["seconds_per_text"] > 0
    # Per-text rows and curves agree with the table.
    per_text = report.per_text[report.per_text["explainer"] == "shap"]
    assert len(per_text) == 12
    assert per_text["comprehensiveness"].mean() == pytest.approx(table.loc["shap", "comprehensiveness"], abs=1e-4)
    curve = report.curves[report.curves["explainer"] == "shap"]
    assert curve["fraction"].tolist() == list(ERASER_BINS)
    assert curve["comprehensiveness"].mean() == pytest.approx(table.loc["shap", "comprehensiveness"], abs=1e-4)
    figure = faithfulness_figure(report)
    assert len(figure.data) == 2 * 4 and all(len(t.y) == len(ERASER_BINS) for t in figure.data)


def test_several_shap_budgets_are_several_rows(sst2_model):
    model, tokenizer, max_length = sst2_model
    explainers = standard_explainers(model, tokenizer, max_length, shap_max_evals=(50, 200), include=("shap",))
    assert list(explainers) == ["shap (max_evals 50)", "shap (max_evals 200)"]
    text = "the acting is superb but the plot is a mess , and the whole thing drags on for far too long ."
    assert explainers["shap (max_evals 50)"](text).evaluations == 50
    assert explainers["shap (max_evals 200)"](text).evaluations == 200


def test_bad_input(sst2_model, sst2_predictions):
    model, tokenizer, _ = sst2_model
    with pytest.raises(WorkbenchError, match="no texts to measure faithfulness on"):
        measure_faithfulness(model, tokenizer, ["", "  "], {})
    predictions, _ = sst2_predictions
    pairs = predictions.assign(text_pair="another sentence")
    with pytest.raises(WorkbenchError, match="single-text classifiers"):
        sample_texts(pairs, 5)
    assert sample_texts(predictions, 5, seed=3) == sample_texts(predictions, 5, seed=3)
    assert len(sample_texts(predictions, 10_000)) == len(predictions)
