"""Which explanation to trust for this model: ERASER comprehensiveness and sufficiency.

DeYoung et al. (2020), ERASER: for the predicted class c and the top-k% word pieces of an
explanation,

    comprehensiveness = p_c(x) - p_c(x without the top-k)     higher: the explanation found what mattered
    sufficiency       = p_c(x) - p_c(only the top-k)          lower: those pieces alone carry the decision

each averaged over k in {1, 5, 10, 20, 50}% (AOPC). Pieces are deleted, not masked, as in ERASER, so
the measure does not favour explainers whose baseline is the [MASK] token. The same numbers for a
random ranking of the word pieces are the bar an explainer has to clear. A text pair's word pieces
are ranked and deleted across both texts; its separators stay, and each piece keeps its token type.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.analysis import attribution as attr_mod
from workbench.analysis.attribution import Attribution, kept_rows, prepare
from workbench.errors import WorkbenchError

ERASER_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)

Example = str | tuple[str, str]  # one text, or a text pair's two texts


def example_parts(example: Example) -> tuple[str, str | None]:
    """(text, second text or None) of one example."""
    return (example, None) if isinstance(example, str) else (example[0], example[1])


@dataclass
class FaithfulnessReport:
    table: pd.DataFrame     # one row per explainer: comprehensiveness, sufficiency (AOPC), seconds
    curves: pd.DataFrame    # explainer, fraction, comprehensiveness, sufficiency (mean over texts)
    per_text: pd.DataFrame  # explainer, text, comprehensiveness, sufficiency


def erase_scores(model, tokenizer, text: str, scores: np.ndarray, target: int,
                 bins=ERASER_BINS, max_length: int = 128, pair: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(comprehensiveness, sufficiency) per bin for one text (or text pair) and one ranking of its
    word pieces (higher score = more important)."""
    prepared = prepare(tokenizer, text, max_length, pair)
    ids = prepared.input_ids[0].numpy()
    free = np.flatnonzero(~prepared.special)
    order = free[np.argsort(-np.asarray(scores)[free], kind="stable")]
    keeps = [np.ones(len(ids), bool)]
    for fraction in bins:
        k = max(1, int(round(fraction * len(free))))
        top = np.zeros(len(ids), bool)
        top[order[:k]] = True
        keeps += [~top, top | prepared.special]  # top-k deleted; only the top-k kept
    variants, types = kept_rows(prepared, [ids] * len(keeps), keeps)
    # Full precision: this is the model the user will deploy, whatever the explainers ran at.
    probs = attr_mod._scores(model, variants, target, precision="fp32", pad_id=tokenizer.pad_token_id or 0,
                             output="probability", types=types)
    full, rest = probs[0], probs[1:].reshape(len(bins), 2)
    return full - rest[:, 0], full - rest[:, 1]


def standard_explainers(model, tokenizer, max_length: int = 128,
                        shap_max_evals: int | tuple[int, ...] = attr_mod.DEFAULT_SHAP_MAX_EVALS,
                        ig_steps: int = attr_mod.DEFAULT_IG_STEPS,
                        include=("shap", "integrated_gradients", "gradient_x_input")
                        ) -> dict[str, Callable[[str, str | None], Attribution]]:
    """Name -> function(text, pair=None) for each explainer to compare; several SHAP budgets make several rows."""
    explainers = {}
    if "shap" in include:
        budgets = (shap_max_evals,) if isinstance(shap_max_evals, int) else tuple(shap_max_evals)
        for budget in budgets:
            name = "shap" if len(budgets) == 1 else f"shap (max_evals {budget})"
            explainers[name] = (lambda text, pair=None, b=budget: attr_mod.shap_attributions(
                model, tokenizer, text, max_evals=b, max_length=max_length, pair=pair))
    if "integrated_gradients" in include:
        explainers["integrated_gradients"] = lambda text, pair=None: attr_mod.integrated_gradients(
            model, tokenizer, text, n_steps=ig_steps, max_length=max_length, pair=pair)
    if "gradient_x_input" in include:
        explainers["gradient_x_input"] = lambda text, pair=None: attr_mod.gradient_x_input(
            model, tokenizer, text, max_length=max_length, pair=pair)
    return explainers


def measure_faithfulness(model, tokenizer, texts: list[Example],
                         explainers: dict[str, Callable[[str, str | None], Attribution]],
                         bins=ERASER_BINS, random_repeats: int = 5, max_length: int = 128, seed: int = 0,
                         progress: Callable[[float, str], None] | None = None) -> FaithfulnessReport:
    """Comprehensiveness and sufficiency of each explainer, and of random rankings, on `texts`
    (texts, or (text, second text) pairs as `sample_texts` gives a pair run's)."""
    examples = [example_parts(t) for t in texts if isinstance(t, (str, tuple, list))]
    examples = [(text, pair) for text, pair in examples if text.strip() and (pair is None or pair.strip())]
    if not examples:
        raise WorkbenchError("no texts to measure faithfulness on")
    rng = np.random.default_rng(seed)
    rows, curves = [], []
    timings = {name: 0.0 for name in explainers}
    for i, (text, pair) in enumerate(examples):
        if progress:
            progress(i / len(examples), f"text {i + 1} of {len(examples)}")
        prepared = prepare(tokenizer, text, max_length, pair)
        target, _ = attr_mod._target_and_input_score(model, prepared, None)  # the predicted class
        for name, explain in explainers.items():
            start = time.perf_counter()
            a = explain(text, pair)
            timings[name] += time.perf_counter() - start
            if a.target != target:
                raise WorkbenchError(f"{name} explained class {a.target_name}, not the predicted class")
            comp, suff = erase_scores(model, tokenizer, text, a.scores, a.target, bins, max_length, pair)
            rows.append({"explainer": name, "text": i, "comprehensiveness": comp.mean(),
                         "sufficiency": suff.mean()})
            curves += [{"explainer": name, "text": i, "fraction": b, "comprehensiveness": c, "sufficiency": s}
                       for b, c, s in zip(bins, comp, suff)]
        n_tokens = len(prepared.tokens)
        comp_r, suff_r = np.zeros(len(bins)), np.zeros(len(bins))
        for _ in range(random_repeats):
            c, s = erase_scores(model, tokenizer, text, rng.random(n_tokens), target, bins, max_length, pair)
            comp_r += c / random_repeats
            suff_r += s / random_repeats
        rows.append({"explainer": "random", "text": i, "comprehensiveness": comp_r.mean(),
                     "sufficiency": suff_r.mean()})
        curves += [{"explainer": "random", "text": i, "fraction": b, "comprehensiveness": c, "sufficiency": s}
                   for b, c, s in zip(bins, comp_r, suff_r)]
    per_text = pd.DataFrame(rows)
    grouped = per_text.groupby("explainer", sort=False)
    table = grouped[["comprehensiveness", "sufficiency"]].mean()
    table["comprehensiveness_sem"] = grouped["comprehensiveness"].sem()
    table["sufficiency_sem"] = grouped["sufficiency"].sem()
    table["seconds_per_text"] = [timings.get(name, 0.0) / len(examples) for name in table.index]
    table["texts"] = len(examples)
    table = table.reset_index().round(4)
    curve_table = pd.DataFrame(curves).groupby(["explainer", "fraction"], sort=False)[
        ["comprehensiveness", "sufficiency"]].mean().reset_index()
    return FaithfulnessReport(table=table, curves=curve_table, per_text=per_text)


def faithfulness_figure(report: FaithfulnessReport) -> go.Figure:
    """Comprehensiveness (higher is better) and sufficiency (lower is better) per explainer, by k."""
    fig = go.Figure()
    colours = ["#e45756", "#4c78a8", "#54a24b", "#f58518", "#b279a2", "#72b7b2"]
    names = list(dict.fromkeys(report.curves["explainer"]))
    for i, name in enumerate(names):
        curve = report.curves[report.curves["explainer"] == name]
        colour = "#999" if name == "random" else colours[i % len(colours)]
        x = [f"{b:.0%}" for b in curve["fraction"]]
        fig.add_scatter(x=x, y=curve["comprehensiveness"], name=f"{name}: comprehensiveness",
                        mode="lines+markers", line=dict(color=colour, dash="dot" if name == "random" else "solid"))
        fig.add_scatter(x=x, y=curve["sufficiency"], name=f"{name}: sufficiency", mode="lines+markers",
                        line=dict(color=colour, dash="dash"), marker=dict(symbol="x"), yaxis="y2")
    fig.update_layout(title="Faithfulness by share of word pieces removed / kept",
                      xaxis=dict(title="top-k share of word pieces"),
                      yaxis=dict(title="comprehensiveness (higher is better)", domain=[0.55, 1]),
                      yaxis2=dict(title="sufficiency (lower is better)", domain=[0, 0.45]),
                      height=520, margin=dict(l=60, r=20, t=50, b=50))
    return fig


def sample_texts(predictions: pd.DataFrame, n: int = 20, seed: int = 0) -> list[Example]:
    """A reproducible random sample of eval examples: texts, or (text, second text) tuples for a
    run trained on text pairs."""
    n = min(n, len(predictions))
    sample = predictions.sample(n=n, random_state=seed)
    if "text_pair" in predictions and predictions["text_pair"].notna().any():
        return list(zip(sample["text"].astype(str), sample["text_pair"].astype(str)))
    return sample["text"].astype(str).tolist()
