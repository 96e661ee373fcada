"""Error-case clustering: the model's own sentence vectors, k by silhouette, summaries, CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.analysis import cluster_errors, cluster_figure, clusters_csv, distinguishing_terms, embed, error_clusters
from workbench.errors import WorkbenchError


def test_embeddings_are_what_the_classifier_head_reads(sst2_model, sst2_predictions):
    model, tokenizer, max_length = sst2_model
    predictions, _ = sst2_predictions
    rows = predictions.head(40)
    vectors = embed(model, tokenizer, rows["text"].tolist(), max_length=max_length, batch_size=16, precision="fp32")
    assert vectors.shape == (40, model.config.hidden_size)
    with torch.inference_mode():
        logits = model.classifier(torch.as_tensor(vectors)).softmax(-1).numpy()
    # The head applied to these vectors gives the saved predictions back (so the order is right too).
    assert (logits.argmax(-1) == rows["predicted_id"].to_numpy()).all()
    np.testing.assert_allclose(logits.max(-1), rows["confidence"].to_numpy(), atol=2e-3)
    fast = embed(model, tokenizer, rows["text"].tolist(), max_length=max_length)  # default precision
    cosine = (fast * vectors).sum(1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(vectors, axis=1)
    assert cosine.min() > 0.99


def test_clusters_of_the_runs_errors(sst2_model, sst2_predictions, tmp_path):
    model, tokenizer, max_length = sst2_model
    predictions, labels = sst2_predictions
    errors = predictions[predictions["gold_id"] != predictions["predicted_id"]]
    assert len(errors) >= 15
    result = error_clusters(model, tokenizer, predictions, max_length)
    assert len(result.errors) == len(errors)
    assert sorted(result.errors["index"]) == sorted(errors["index"])
    assert set(result.silhouette) == set(range(2, 11))
    assert result.k == max(result.silhouette, key=result.silhouette.get)
    assert result.errors["cluster"].nunique() == result.k and result.projection == "PCA"
    summary = result.summary
    assert summary["size"].sum() == len(errors) and summary["size"].is_monotonic_decreasing
    for _, row in summary.iterrows():
        members = result.errors[result.errors["cluster"] == row["cluster"]]
        top = (members["gold"] + " → " + members["predicted"]).value_counts()
        assert row["confusion"] == top.index[0] and row["confusion_share"] == pytest.approx(top.iloc[0] / len(members),
                                                                                          abs=1e-3)
        assert row["examples"].split(" | ")[0].strip() in " ".join(members["text"])
    assert summary["terms"].str.len().gt(0).all()
    figure = cluster_figure(result)
    assert len(figure.data) == result.k and sum(len(t.x) for t in figure.data) == len(errors)
    assert f"k={result.k} by silhouette" in figure.layout.title.text
    path = clusters_csv(result, tmp_path / "out" / "clusters.csv")
    back = pd.read_csv(path)
    assert len(back) == len(errors)
    assert {"text", "gold", "predicted", "confidence", "cluster", "x", "y", "cluster_confusion",
            "cluster_terms"} <= set(back.columns)
    assert back.groupby("cluster")["cluster_confusion"].nunique().eq(1).all()


def test_well_separated_groups_are_found():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 64)) * 5
    group = np.repeat(np.arange(3), 20)
    vectors = centres[group] + rng.standard_normal((60, 64))
    words = [["plot", "script", "boring"], ["actor", "cast", "performance"], ["music", "score", "soundtrack"]]
    errors = pd.DataFrame({
        "index": np.arange(60), "text": [f"the {' '.join(words[g])} film {i}" for i, g in enumerate(group)],
        "gold": np.where(group == 2, "negative", "positive"), "predicted": np.where(group == 2, "positive", "negative"),
        "confidence": 0.8})
    result = cluster_errors(errors, vectors)
    assert result.k == 3
    assert pd.crosstab(result.errors["cluster"], group).gt(0).sum(axis=1).eq(1).all(), "each cluster is one group"
    terms = {frozenset(t.split(", ")[:3]) for t in result.summary["terms"]}
    assert terms == {frozenset(w) for w in words}
    confusions = set(result.summary["confusion"])
    assert confusions == {"positive → negative", "negative → positive"}
    assert distinguishing_terms(["the and of", "a the"], np.array([0, 1])) == {0: [], 1: []}


def test_few_or_no_errors():
    errors = pd.DataFrame({"index": [0, 1], "text": ["bad", "good"], "gold": ["a", "b"], "predicted": ["b", "a"],
                           "confidence": [0.9, 0.6]})
    result = cluster_errors(errors, np.eye(2, 8))
    assert result.k == 1 and result.silhouette == {} and len(result.summary) == 1
    assert "too few errors to choose k" in cluster_figure(result).layout.title.text
    with pytest.raises(WorkbenchError, match="no misclassified examples"):
        cluster_errors(errors.iloc[:0], np.zeros((0, 8)))
    with pytest.raises(WorkbenchError, match="2 errors but 3 embeddings"):
        cluster_errors(errors, np.ones((3, 8)))


def test_a_perfect_model_has_nothing_to_cluster(sst2_model, sst2_predictions):
    model, tokenizer, max_length = sst2_model
    predictions, _ = sst2_predictions
    right = predictions[predictions["gold_id"] == predictions["predicted_id"]]
    with pytest.raises(WorkbenchError, match="made no mistakes on the eval set"):
        error_clusters(model, tokenizer, right, max_length)
