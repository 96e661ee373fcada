"""ERASER comprehensiveness and sufficiency on the fine-tuned SST-2 model: the deletions by hand,
and SHAP and Integrated Gradients beat a random ranking of the word pieces; text pairs on the MRPC run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.analysis import (ERASER_BINS, erase_scores, faithfulness_figure, measure_faithfulness, sample_texts,
                                standard_explainers)
from workbench.errors import WorkbenchError


def probability(model, ids: list[int], target: int, types: list[int] | None = None) -> float:
    extra = {} if types is None else {"token_type_ids": torch.tensor([types])}
    with torch.inference_mode():  # (without an attention mask the pooled classifier reads [CLS] only)
        logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                       **extra).logits
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
    assert sample_texts(predictions, 5, seed=3) == sample_texts(predictions, 5, seed=3)
    assert len(sample_texts(predictions, 10_000)) == len(predictions)


# ---- text pairs (MRPC) ---------------------------------------------------------------------------------
def test_erase_scores_on_a_pair_delete_from_both_texts_and_keep_the_separators(mrpc_model):
    model, tokenizer, max_length = mrpc_model
    text, pair = "The cat sat on the mat .", "A cat was sitting on the dusty mat ."
    enc = tokenizer(text, pair)
    ids, types = enc["input_ids"], enc["token_type_ids"]
    special = {0, ids.index(tokenizer.sep_token_id), len(ids) - 1}
    free = [i for i in range(len(ids)) if i not in special]
    # The second text's pieces ranked first, then the first text's: the top half reaches into both.
    ranking = [i for i in free if types[i] == 1] + [i for i in free if types[i] == 0]
    scores = np.zeros(len(ids))
    scores[ranking] = np.arange(len(ranking), 0, -1)
    target = 1
    comp, suff = erase_scores(model, tokenizer, text, scores, target, bins=(0.05, 0.75), max_length=max_length,
                              pair=pair)
    full = probability(model, ids, target, types)
    for i, k in enumerate((max(1, round(0.05 * len(free))), round(0.75 * len(free)))):
        top = set(ranking[:k])
        without = [j for j in range(len(ids)) if j not in top]
        only = sorted(top | special)
        # Each remaining piece keeps its text's token type, wherever the deletions moved it.
        assert comp[i] == pytest.approx(full - probability(model, [ids[j] for j in without], target,
                                                           [types[j] for j in without]), abs=1e-5)
        assert suff[i] == pytest.approx(full - probability(model, [ids[j] for j in only], target,
                                                           [types[j] for j in only]), abs=1e-5)


def test_faithfulness_of_a_pair_run(mrpc_model, mrpc_run):
    from workbench.analysis import load_predictions

    model, tokenizer, max_length = mrpc_model
    predictions, _ = load_predictions(mrpc_run)
    examples = sample_texts(predictions, 3, seed=0)
    # A pair run's sample is its pairs: (first text, second text) of the same eval rows.
    rows = predictions.set_index("text")["text_pair"]
    assert len(examples) == 3 and all(rows[text] == pair for text, pair in examples)
    explainers = standard_explainers(model, tokenizer, max_length, shap_max_evals=100,
                                     include=("shap", "gradient_x_input"))
    report = measure_faithfulness(model, tokenizer, examples, explainers, max_length=max_length, random_repeats=2)
    table = report.table.set_index("explainer")
    assert list(table.index) == ["shap", "gradient_x_input", "random"] and (table["texts"] == 3).all()
    assert table[["comprehensiveness", "sufficiency"]].notna().all().all()
    assert len(report.per_text) == 3 * 3 and len(report.curves) == 3 * len(ERASER_BINS)
