"""Error-case clustering: group the misclassified eval examples by how the model itself sees them.

The representation is the fine-tuned model's own sentence vector (what its classifier head reads),
so a cluster is a set of errors the model confuses for the same reason, not merely texts on the
same topic. k-means picks the number of clusters by silhouette; the 2-D map is PCA (or UMAP when
the umap package happens to be installed); each cluster gets its dominant gold -> predicted
confusion, its most distinguishing terms (class-based TF-IDF, as in BERTopic) and its most typical
examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from workbench.errors import WorkbenchError


@dataclass
class ErrorClusters:
    errors: pd.DataFrame       # one row per error: index, text, gold, predicted, confidence, cluster, x, y
    summary: pd.DataFrame      # one row per cluster: size, confusion, share, terms, examples
    silhouette: dict[int, float]   # k -> silhouette score (empty when too few errors to choose)
    k: int
    projection: str            # "PCA" or "UMAP"


def embed(model, tokenizer, texts: list[str], pairs: list[str] | None = None, max_length: int = 128,
          batch_size: int = 64, precision: str = "auto") -> np.ndarray:
    """The pooled sentence vectors the model's classifier head sees, batched by similar length.

    precision "auto": bfloat16 autocast where the hardware computes it natively (as the
    explainers do): ~2x faster here, and the clusters are the same (the vectors move by < 1%)."""
    from transformers import DataCollatorWithPadding

    from workbench.analysis.attribution import fast_precision

    if not texts:
        raise WorkbenchError("no texts to embed")
    enc = tokenizer(list(texts), list(pairs) if pairs else None, truncation=True, max_length=max_length)
    order = np.argsort([len(ids) for ids in enc["input_ids"]], kind="stable")  # by word pieces
    collate = DataCollatorWithPadding(tokenizer)
    device = next(model.parameters()).device
    out = None
    with torch.inference_mode(), fast_precision(model, precision):
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            batch = collate([{k: enc[k][i] for k in enc} for i in idx]).to(device)
            hidden = model.encoder(**batch).last_hidden_state
            vectors = model.pool(hidden, batch["attention_mask"]).float().cpu().numpy()
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
    return out


def cluster_errors(errors: pd.DataFrame, embeddings: np.ndarray, k_range=range(2, 11), seed: int = 0,
                   n_terms: int = 6, n_examples: int = 3) -> ErrorClusters:
    """Cluster error rows (columns text, gold, predicted, confidence) given their embeddings."""
    n = len(errors)
    if n == 0:
        raise WorkbenchError("there are no misclassified examples to cluster")
    if len(embeddings) != n:
        raise WorkbenchError(f"{n} errors but {len(embeddings)} embeddings")
    vectors = np.asarray(embeddings, np.float64)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)  # cosine geometry
    # One BLAS/OpenMP thread: these matrices are small (1,000 x 384), and with several threads on a
    # busy 2-core machine OpenBLAS's spinning threads made PCA and k-means 10-100x slower.
    with threadpool_limits(limits=1):
        # 50 principal components keep the structure and make k-means and silhouette faster.
        reduced = PCA(n_components=min(50, n, vectors.shape[1]), svd_solver="covariance_eigh") \
            .fit_transform(vectors) if n > 2 else vectors
        scores: dict[int, float] = {}
        k, best_labels, best_centers = 1, np.zeros(n, dtype=int), reduced.mean(0, keepdims=True)
        for candidate in (c for c in k_range if 2 <= c <= n - 1):  # silhouette needs 2 <= k <= n - 1
            km = KMeans(n_clusters=candidate, n_init=3, random_state=seed).fit(reduced)
            if len(set(km.labels_)) < 2:  # duplicates collapsed the clusters
                continue
            scores[candidate] = float(silhouette_score(reduced, km.labels_, sample_size=min(n, 2000),
                                                       random_state=seed))
            if scores[candidate] > scores.get(k, -np.inf):
                k, best_labels, best_centers = candidate, km.labels_, km.cluster_centers_
        xy, projection = _project(vectors, seed)
    frame = errors.reset_index(drop=True).copy()
    frame["cluster"] = best_labels
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    distance = np.linalg.norm(reduced - best_centers[best_labels], axis=1)
    summary = _summarise(frame, distance, n_terms, n_examples)
    return ErrorClusters(errors=frame, summary=summary, silhouette=scores, k=k, projection=projection)


def _project(vectors: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    if len(vectors) < 3:
        return np.column_stack([np.arange(len(vectors), dtype=float), np.zeros(len(vectors))]), "none"
    try:  # optional: not a dependency of the workbench
        import umap

        if len(vectors) >= 15:
            return umap.UMAP(n_components=2, random_state=seed).fit_transform(vectors), "UMAP"
    except ImportError:
        pass
    return PCA(n_components=2, svd_solver="covariance_eigh").fit_transform(vectors), "PCA"


def distinguishing_terms(texts: list[str], labels: np.ndarray, n_terms: int = 6) -> dict[int, list[str]]:
    """Class-based TF-IDF (Grootendorst 2022): a term's frequency within a cluster, weighted by
    log(1 + average words per cluster / the term's frequency over all clusters)."""
    clusters = sorted(set(int(c) for c in labels))
    try:
        vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b")
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words
        return {c: [] for c in clusters}
    per_cluster = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in clusters]).astype(float)
    tf = per_cluster / per_cluster.sum(axis=1, keepdims=True).clip(1)
    idf = np.log(1 + per_cluster.sum(axis=1).mean() / per_cluster.sum(axis=0).clip(1))
    weights = tf * idf
    vocab = vectorizer.get_feature_names_out()
    return {c: [vocab[j] for j in np.argsort(-weights[i])[:n_terms] if weights[i, j] > 0]
            for i, c in enumerate(clusters)}


def _summarise(frame: pd.DataFrame, distance: np.ndarray, n_terms: int, n_examples: int) -> pd.DataFrame:
    terms = distinguishing_terms(frame["text"].astype(str).tolist(), frame["cluster"].to_numpy(), n_terms)
    rows = []
    for c, members in frame.groupby("cluster"):
        pairs = (members["gold"].astype(str) + " → " + members["predicted"].astype(str)).value_counts()
        typical = members.assign(_d=distance[members.index]).sort_values("_d")["text"].head(n_examples)
        rows.append({"cluster": int(c), "size": len(members), "confusion": pairs.index[0],
                     "confusion_share": round(float(pairs.iloc[0] / len(members)), 3),
                     "mean_confidence": round(float(members["confidence"].mean()), 3),
                     "terms": ", ".join(terms.get(int(c), [])),
                     "examples": " | ".join(t[:160] for t in typical)})
    return pd.DataFrame(rows).sort_values("size", ascending=False).reset_index(drop=True)


def error_clusters(model, tokenizer, predictions: pd.DataFrame, max_length: int = 128,
                   k_range=range(2, 11), seed: int = 0) -> ErrorClusters:
    """The whole pipeline on a run's predictions: pick the errors, embed, cluster, summarise."""
    errors = predictions[predictions["gold_id"] != predictions["predicted_id"]]
    if errors.empty:
        raise WorkbenchError("the model made no mistakes on the eval set: nothing to cluster")
    pairs = errors["text_pair"].astype(str).tolist() if "text_pair" in errors and \
        errors["text_pair"].notna().all() else None
    vectors = embed(model, tokenizer, errors["text"].astype(str).tolist(), pairs, max_length)
    return cluster_errors(errors, vectors, k_range, seed)


def cluster_figure(result: ErrorClusters) -> go.Figure:
    """2-D scatter of the errors, one colour per cluster, the text and confusion on hover."""
    fig = go.Figure()
    frame = result.errors
    for c in sorted(frame["cluster"].unique()):
        members = frame[frame["cluster"] == c]
        hover = [f"{_wrap(t)}<br><b>{g} → {p}</b> ({conf:.2f})" for t, g, p, conf in
                 zip(members["text"].astype(str), members["gold"], members["predicted"], members["confidence"])]
        fig.add_scatter(x=members["x"], y=members["y"], mode="markers", name=f"cluster {c} ({len(members)})",
                        text=hover, hovertemplate="%{text}<extra>cluster " + str(c) + "</extra>",
                        marker=dict(size=8, opacity=0.8))
    how = f"k={result.k} by silhouette" if result.silhouette else "too few errors to choose k"
    fig.update_layout(title=f"{len(frame)} misclassified examples, {how}, {result.projection} of the "
                            "model's sentence vectors", height=480,
                      xaxis=dict(title=f"{result.projection} 1", zeroline=False),
                      yaxis=dict(title=f"{result.projection} 2", zeroline=False),
                      margin=dict(l=50, r=20, t=50, b=45))
    return fig


def _wrap(text: str, width: int = 70, limit: int = 280) -> str:
    import html
    import textwrap

    text = text if len(text) <= limit else text[:limit] + "…"
    return "<br>".join(html.escape(line) for line in textwrap.wrap(text, width))


def clusters_csv(result: ErrorClusters, path: str | Path) -> Path:
    """One row per error with its cluster, 2-D position and its cluster's confusion and terms."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = result.summary.set_index("cluster")[["confusion", "terms"]].add_prefix("cluster_")
    columns = [c for c in ("index", "row", "text", "text_pair", "gold", "predicted", "confidence", "cluster", "x", "y")
               if c in result.errors]
    result.errors[columns].join(info, on="cluster").to_csv(path, index=False)
    return path
