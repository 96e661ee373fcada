"""Attention of a fine-tuned encoder on one input: every layer x head, one head in detail, rollout.

Plain plotly heatmaps, so the maps render offline inside Gradio (BertViz's JavaScript does not
run in Gradio's HTML component and loads from a CDN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from workbench.analysis.tokens import readable_tokens
from workbench.errors import WorkbenchError


@dataclass
class AttentionResult:
    tokens: list[str]            # word pieces, special tokens included
    attentions: np.ndarray       # [layer, head, query token, key token], rows sum to 1
    rollout: np.ndarray          # [query token, key token], Abnar & Zuidema rollout over all layers
    pooled_rollout: np.ndarray   # [token]: how much the vector the classifier sees draws from each token
    predicted: str
    probabilities: dict[str, float]

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]


def encode(tokenizer, text: str, text_pair: str | None = None, max_length: int = 128) -> dict:
    """Tokenize one input for analysis; an empty text is a user error, not a crash later on."""
    if not text or not text.strip():
        raise WorkbenchError("Enter a text to analyse (the input is empty).")
    return tokenizer(text, text_pair or None, truncation=True, max_length=max_length, return_tensors="pt")


def attention_rollout(attentions: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020): how much each token's last-layer representation
    draws on each input token, through every layer.

    Per layer the heads are averaged, the residual connection is modelled by mixing in the identity
    (A' = residual * I + (1 - residual) * A), rows are renormalised, and the layers are multiplied in
    order: R = A'_L ... A'_2 A'_1.
    """
    layers, _, n, _ = attentions.shape
    identity = np.eye(n)
    rollout = identity
    for layer in range(layers):
        mixed = residual * identity + (1 - residual) * attentions[layer].mean(axis=0)
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def attention_maps(model, tokenizer, text: str, text_pair: str | None = None,
                   max_length: int = 128) -> AttentionResult:
    """Every attention map of the model on `text` (the model must be loaded with eager attention)."""
    enc = encode(tokenizer, text, text_pair, max_length)
    with torch.inference_mode():
        out = model(**enc, output_attentions=True)
    if not out.attentions or out.attentions[0] is None:
        raise WorkbenchError("this model returned no attention weights; load it with "
                             "attn_implementation='eager' (SDPA and flash attention do not return them)")
    attentions = torch.stack(out.attentions)[:, 0].float().numpy()  # [layer, head, q, k]
    rollout = attention_rollout(attentions)
    # The classifier of a PooledClassifier sees the mean of the token vectors (or the [CLS] one,
    # or a decoder's last one): its rollout is the same choice among the rollout's rows.
    pooling = getattr(model, "pooling", "mean")
    if pooling == "cls":
        pooled = rollout[0]
    elif pooling == "last":  # one unpadded text: its last token is the last row
        pooled = rollout[-1]
    else:
        pooled = rollout.mean(axis=0)
    probs = torch.softmax(out.logits[0].float(), -1).numpy()
    names = [model.config.id2label[i] for i in range(len(probs))]
    return AttentionResult(
        tokens=readable_tokens(tokenizer, enc["input_ids"][0].tolist()), attentions=attentions,
        rollout=rollout, pooled_rollout=pooled, predicted=names[int(probs.argmax())],
        probabilities={n: float(p) for n, p in zip(names, probs)})


def _token_axis(tokens: list[str]) -> dict:
    # Numeric positions with token labels: a categorical axis would merge repeated tokens ("the").
    return dict(tickmode="array", tickvals=list(range(len(tokens))), ticktext=tokens, tickfont=dict(size=10))


def attention_grid_figure(result: AttentionResult, selected: tuple[int, int] | None = None) -> go.Figure:
    """Small multiples: one map per layer (rows) and head (columns), sharing one colour scale.

    The axes are laid out by hand rather than with make_subplots: make_subplots validates every one
    of the 72 subplots and takes 0.3-0.5 s on this CPU by itself, the whole budget of this view.
    """
    rows, cols = result.layers, result.heads
    gap_x, gap_y = 0.006, 0.012
    width = (1 - gap_x * (cols - 1)) / cols
    height = (1 - gap_y * (rows - 1)) / rows
    layout, traces, annotations = {}, [], []
    for layer in range(rows):
        for head in range(cols):
            i = layer * cols + head + 1
            suffix = "" if i == 1 else str(i)
            x0 = head * (width + gap_x)
            y1 = 1 - layer * (height + gap_y)
            layout[f"xaxis{suffix}"] = dict(domain=[x0, x0 + width], anchor=f"y{suffix}", visible=False)
            layout[f"yaxis{suffix}"] = dict(domain=[y1 - height, y1], anchor=f"x{suffix}", visible=False,
                                            autorange="reversed")
            traces.append(dict(
                type="heatmap", z=result.attentions[layer, head].astype(np.float32), xaxis=f"x{suffix}",
                yaxis=f"y{suffix}", coloraxis="coloraxis",
                hovertemplate=f"layer {layer} head {head}<br>query %{{y}} → key %{{x}}"
                              "<br>weight %{z:.3f}<extra></extra>"))
    for head in range(cols):
        annotations.append(dict(text=f"h{head}", x=head * (width + gap_x) + width / 2, y=1.0, xref="paper",
                                yref="paper", yanchor="bottom", showarrow=False, font=dict(size=10)))
    for layer in range(rows):
        annotations.append(dict(text=f"L{layer}", x=-0.005, y=1 - layer * (height + gap_y) - height / 2,
                                xref="paper", yref="paper", xanchor="right", showarrow=False,
                                font=dict(size=10)))
    shapes = []
    if selected is not None:
        layer, head = selected
        x0 = head * (width + gap_x)
        y1 = 1 - layer * (height + gap_y)
        shapes.append(dict(type="rect", xref="paper", yref="paper", x0=x0 - 0.002, x1=x0 + width + 0.002,
                           y0=y1 - height - 0.004, y1=y1 + 0.004, line=dict(color="#e45756", width=2)))
    layout.update(coloraxis=dict(colorscale="Viridis", cmin=0, cmax=1, showscale=False),
                  annotations=annotations, shapes=shapes, height=max(300, 70 * rows + 60),
                  margin=dict(l=35, r=10, t=40, b=10),
                  title=dict(text=f"Attention, {rows} layers x {cols} heads (rows: layers, columns: heads)",
                             font=dict(size=13)))
    return go.Figure(data=traces, layout=layout)


def attention_head_figure(result: AttentionResult, layer: int, head: int) -> go.Figure:
    """Token-to-token map of one head: row = the attending (query) token, column = attended key."""
    if not (0 <= layer < result.layers and 0 <= head < result.heads):
        raise WorkbenchError(f"layer must be 0-{result.layers - 1} and head 0-{result.heads - 1}")
    return _token_heatmap(result.attentions[layer, head], result.tokens,
                          f"Layer {layer}, head {head}: attention from each token (row) to each token (column)",
                          "weight")


def rollout_figure(result: AttentionResult) -> go.Figure:
    """Attention rollout over all layers, token to token."""
    return _token_heatmap(result.rollout, result.tokens,
                          "Attention rollout over all layers (Abnar & Zuidema 2020)", "share")


def pooled_rollout_figure(result: AttentionResult) -> go.Figure:
    """What the classifier's input (the pooled sentence vector) draws from each token, by rollout."""
    tokens = result.tokens
    fig = go.Figure(go.Bar(x=list(range(len(tokens))), y=result.pooled_rollout, marker_color="#4c78a8",
                           customdata=tokens, hovertemplate="%{customdata}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=f"Rollout into the sentence vector (predicted: {result.predicted})",
                                 font=dict(size=13)),
                      xaxis=_token_axis(tokens), yaxis=dict(title="share"), height=300,
                      margin=dict(l=50, r=10, t=40, b=80))
    return fig


def _token_heatmap(matrix: np.ndarray, tokens: list[str], title: str, value: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=matrix.astype(np.float32), colorscale="Viridis", zmin=0, customdata=np.array(
            [[f"{q} → {k}" for k in tokens] for q in tokens]),
        hovertemplate="%{customdata}<br>" + value + " %{z:.3f}<extra></extra>"))
    side = max(360, min(720, 18 * len(tokens) + 160))
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=side,
                      xaxis=dict(**_token_axis(tokens), tickangle=-60, side="top"),
                      yaxis=dict(**_token_axis(tokens), autorange="reversed"),
                      margin=dict(l=90, r=10, t=110, b=10))
    return fig
