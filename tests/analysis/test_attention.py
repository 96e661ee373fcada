"""Attention maps of the fine-tuned model: real weights, rollout by hand, figures, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.analysis import (attention_grid_figure, attention_head_figure, attention_maps, attention_rollout,
                                pooled_rollout_figure, rollout_figure)
from workbench.errors import WorkbenchError

TEXT = "a gorgeous , witty , seductive movie ."


@pytest.fixture(scope="module")
def result(sst2_model):
    model, tokenizer, max_length = sst2_model
    return attention_maps(model, tokenizer, TEXT, max_length=max_length)


def test_every_layer_and_head_of_the_real_model(result, sst2_model):
    model, tokenizer, _ = sst2_model
    tokens = tokenizer.tokenize(TEXT)
    assert result.tokens == ["[CLS]", *tokens, "[SEP]"]
    n = len(result.tokens)
    assert result.attentions.shape == (model.config.num_hidden_layers, model.config.num_attention_heads, n, n) \
        == (6, 12, n, n)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-4)  # softmax rows
    # Heads differ from each other (real weights, not a placeholder).
    assert np.abs(result.attentions[0, 0] - result.attentions[0, 1]).max() > 0.05
    # The prediction matches the model's own forward pass.
    with torch.inference_mode():
        logits = model(**tokenizer(TEXT, return_tensors="pt")).logits[0]
    probs = torch.softmax(logits, -1)
    assert result.predicted == model.config.id2label[int(probs.argmax())]
    assert result.probabilities[result.predicted] == pytest.approx(float(probs.max()), abs=1e-5)


def test_rollout_is_the_product_of_residual_mixed_head_averages():
    rng = np.random.default_rng(0)
    raw = rng.random((3, 2, 4, 4))
    attentions = raw / raw.sum(-1, keepdims=True)
    expected = np.eye(4)
    for layer in attentions:
        mixed = 0.5 * np.eye(4) + 0.5 * layer.mean(0)
        expected = mixed @ expected
    np.testing.assert_allclose(attention_rollout(attentions), expected)
    # Uniform attention everywhere rolls out to (1/2^L) I + the rest spread evenly.
    uniform = np.full((2, 1, 4, 4), 0.25)
    rolled = attention_rollout(uniform)
    np.testing.assert_allclose(rolled.sum(-1), 1.0)
    assert rolled[0, 0] == pytest.approx(0.25 + 0.75 * 0.25)


def test_rollout_of_the_model(result):
    np.testing.assert_allclose(result.rollout, attention_rollout(result.attentions))
    np.testing.assert_allclose(result.rollout.sum(-1), 1.0, atol=1e-6)
    assert result.pooled_rollout.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(result.pooled_rollout, result.rollout.mean(0))  # mean pooling


def test_figures_hold_the_maps(result):
    grid = attention_grid_figure(result, selected=(2, 5))
    assert len(grid.data) == 6 * 12
    np.testing.assert_allclose(np.asarray(grid.data[2 * 12 + 5].z), result.attentions[2, 5], atol=1e-6)
    assert len(grid.layout.shapes) == 1  # the selected head is outlined
    head = attention_head_figure(result, 2, 5)
    np.testing.assert_allclose(np.asarray(head.data[0].z), result.attentions[2, 5], atol=1e-6)
    assert list(head.layout.xaxis.ticktext) == result.tokens  # repeated tokens ("," twice) keep their place
    assert result.tokens.count(",") == 2
    np.testing.assert_allclose(np.asarray(rollout_figure(result).data[0].z), result.rollout, atol=1e-6)
    assert np.allclose(pooled_rollout_figure(result).data[0].y, result.pooled_rollout)
    with pytest.raises(WorkbenchError, match="layer must be 0-5 and head 0-11"):
        attention_head_figure(result, 6, 0)


def test_empty_text_is_an_error(sst2_model):
    model, tokenizer, _ = sst2_model
    for text in ("", "   \n"):
        with pytest.raises(WorkbenchError, match="Enter a text to analyse"):
            attention_maps(model, tokenizer, text)


def test_an_sdpa_model_says_how_to_get_weights(sst2_run, sst2_model):
    from workbench.tasks.classify import load_trained

    model, tokenizer = load_trained(sst2_run.model_dir, attn_implementation="sdpa")
    with pytest.raises(WorkbenchError, match="returned no attention weights; load it with attn_implementation='eager'"):
        attention_maps(model, tokenizer, TEXT)
    assert sst2_model[0].config._attn_implementation == "eager"  # what the analysis views load


def test_a_decoder_head_reads_the_rollout_of_the_last_token():
    # A causal decoder's classifier reads its last token (pooling "last"), which has seen the whole
    # text; the first row of a causal rollout has attended to nothing but itself.
    from transformers import AutoTokenizer

    from workbench.catalog import bundled_model_path
    from workbench.tasks.pooled_classifier import PooledClassifier

    path = str(bundled_model_path("smollm2-135m-instruct"))
    model = PooledClassifier.from_encoder(path, {0: "negative", 1: "positive"}, "last",
                                          attn_implementation="eager").eval()
    decoded = attention_maps(model, AutoTokenizer.from_pretrained(path), TEXT)
    np.testing.assert_allclose(decoded.pooled_rollout, decoded.rollout[-1])
    assert np.count_nonzero(decoded.rollout[0]) == 1 and decoded.pooled_rollout[0] > 0
