"""Analyze tab: look inside a finished classification run, and set it beside another.

Every view calls a plain function of `workbench.analysis` (the notebooks call the same ones) and
reads only the run folder. A problem the user can fix (no run chosen, a failed run, a run without
predictions, an empty text) shows as one message under the view, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from workbench import analysis as A
from workbench.errors import WorkbenchError
from workbench.predict import label_texts, predict_run, reading_warnings
from workbench.runs.store import get_run, list_runs

log = logging.getLogger(__name__)

PREDICTED = "predicted class"
CELL_COLUMNS = ("index", "gold", "predicted", "confidence", "text", "text_pair")
CELL_LIMIT = 200
COST_COLUMNS = ("explainer", "model evaluations", "estimated seconds", "what runs")
CLUSTER_COLUMNS = {"cluster": "cluster", "size": "size", "confusion": "gold → predicted", "confusion_share": "share",
                   "mean_confidence": "confidence", "terms": "distinguishing terms", "examples": "typical examples"}
COMPARE_SCORE_COLUMNS = ("run", "accuracy", "macro F1")
COMPARE_COUNT_COLUMNS = ("examples", "count")
COMPARE_COLUMNS = ("gold", "predicted by A", "predicted by B", "confidence A", "confidence B", "text")
METHODS = {"SHAP": "shap", "Integrated Gradients": "integrated_gradients", "Gradient x input": "gradient_x_input"}


# ---- helpers -----------------------------------------------------------------------------------
def run_choices(runs_dir: str) -> list[tuple[str, str]]:
    """Finished runs first (the ones that can be analysed), then the others with their status."""
    finished, others = [], []
    for run in list_runs(runs_dir):
        status = run.raw_status()
        state = status.get("status", "?")
        name = f"{run.id}" + (f" ({status['name']})" if status.get("name") else "")
        if state == "finished":
            metrics = status.get("metrics") or {}
            acc = metrics.get("eval_accuracy", metrics.get("accuracy"))
            finished.append((name + (f" · acc {acc:.3f}" if isinstance(acc, (int, float)) else ""), run.id))
        else:
            others.append((f"{name} · {state}", run.id))
    return finished + others


def newest_finished(runs_dir: str) -> str | None:
    """The run a user opening the tab most likely wants: the newest one that finished."""
    return next((run.id for run in list_runs(runs_dir) if run.raw_status().get("status") == "finished"), None)


def _empty(*columns: str) -> pd.DataFrame:
    # An empty table still shows what it will hold (gradio heads a column-less one "1 2 3").
    return pd.DataFrame(columns=list(columns))


def _message(text: str, kind: str = "error") -> str:
    colour = {"error": "#b42318", "warning": "#b54708", "info": "#475467"}[kind]
    return f'<div style="color:{colour};font-weight:500">{"" if kind == "info" else "⚠ "}{text}</div>'


def _guarded(n_outputs: int):
    """Run a view's handler; a WorkbenchError (or any bug) becomes one message in the view's
    message box (the last output) and leaves the other outputs as they were."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except WorkbenchError as err:
                message = str(err)
            except Exception as err:  # a bug: the log gets the traceback, the user a sentence
                log.exception("analysis view failed")
                message = f"This view failed unexpectedly ({type(err).__name__}: {err}). The app log has details."
            return tuple([gr.update()] * (n_outputs - 1) + [_message(message)])
        return inner
    return wrap


def _run(runs_dir: str, run_id: str | None):
    if not run_id:
        raise WorkbenchError("Choose a finished run above.")
    return get_run(runs_dir, run_id)


_PREDICTIONS: dict[tuple[str, float], tuple[pd.DataFrame, list[str]]] = {}


def _predictions(runs_dir: str, run_id: str | None) -> tuple[pd.DataFrame, list[str]]:
    run = _run(runs_dir, run_id)
    A.check_analysable(run)
    key = (str(run.predictions_path), run.predictions_path.stat().st_mtime)
    if key not in _PREDICTIONS:
        _PREDICTIONS.clear()  # one run at a time is enough
        _PREDICTIONS[key] = A.load_predictions(run)
    return _PREDICTIONS[key]


def _model(runs_dir: str, run_id: str | None):
    return A.load_model(_run(runs_dir, run_id))


def _target(choice: str | None):
    return None if not choice or choice == PREDICTED else choice


PAIR_SEPARATOR = "|||"


def _example_text(predictions: pd.DataFrame) -> str:
    """A confident mistake is the most instructive first example; else the first text. A pair
    run's example is both its texts, as the text boxes take them."""
    errors = predictions[predictions["gold_id"] != predictions["predicted_id"]]
    pool = errors if len(errors) else predictions
    first = pool.sort_values("confidence", ascending=False).iloc[0]
    if "text_pair" in pool and isinstance(first["text_pair"], str):
        return f"{first['text']} {PAIR_SEPARATOR} {first['text_pair']}"
    return str(first["text"])


def one_input(text: str, pairs: bool) -> tuple[str, str | None]:
    """The text (and second text, for a model trained on pairs) of one example typed into a box."""
    if not pairs:
        return text, None
    parts = [part.strip() for part in text.split(PAIR_SEPARATOR, 1)]
    if len(parts) < 2 or not all(parts):
        raise WorkbenchError(f"this model was trained on text pairs: write the example as first text "
                             f"{PAIR_SEPARATOR} second text")
    return parts[0], parts[1]


def trained_on_pairs(run) -> bool:
    """Whether the run was trained on text pairs (its status names a second text column)."""
    return bool((run.raw_status().get("columns") or {}).get("text_pair"))


MAX_LINES = 1000
PREVIEW_ROWS = 200


def split_lines(text: str, pairs: bool) -> tuple[list[str], list[str] | None]:
    """The non-empty lines of a text box; for a model trained on pairs, each split in two at
    PAIR_SEPARATOR. A problem is one message naming the lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise WorkbenchError("Type a text to label, one per line.")
    if len(lines) > MAX_LINES:
        raise WorkbenchError(f"{len(lines)} lines is more than this box takes ({MAX_LINES}); "
                             "label them as a file below.")
    if not pairs:
        return lines, None
    parts = [line.split(PAIR_SEPARATOR, 1) for line in lines]
    bad = [str(i + 1) for i, p in enumerate(parts) if len(p) < 2 or not p[0].strip() or not p[1].strip()]
    if bad:
        raise WorkbenchError(f"this model was trained on text pairs: write each line as first text "
                             f"{PAIR_SEPARATOR} second text (line {', '.join(bad[:8])})")
    return [p[0].strip() for p in parts], [p[1].strip() for p in parts]


def predictions_table(rows: list[dict], labelled: list[dict]) -> pd.DataFrame:
    """One row per text: the predicted label, its confidence, the text(s), every class's probability."""
    return predictions_first(pd.DataFrame([
        {**row, "predicted": label["predicted"], "confidence": label["confidence"],
         **{f"p_{name}": p for name, p in label["probabilities"].items()}}
        for row, label in zip(rows, labelled)]).round(4))


def predictions_first(frame: pd.DataFrame) -> pd.DataFrame:
    """The label and its confidence before the texts: a long text would push them out of view."""
    first = [c for c in ("row", "predicted", "confidence") if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


# ---- the views of token attributions and their faithfulness (the tab's handlers call these) --------
def _typed_example(runs_dir: str, run_id: str | None, text: str) -> tuple[str, str | None]:
    """(text, second text or None) of the example typed for the run, as `one_input` reads it."""
    return one_input(text, trained_on_pairs(_run(runs_dir, run_id)))


def attribution_costs(runs_dir: str, run_id: str | None, text: str, evals, steps) -> pd.DataFrame | None:
    """What each explainer will cost on the typed example, before it runs (None before there is one)."""
    if not run_id or not text or not text.strip():
        return None
    if PAIR_SEPARATOR not in text and trained_on_pairs(_run(runs_dir, run_id)):
        return None  # the second text is still to be typed: no error on every key press before it
    text, pair = _typed_example(runs_dir, run_id, text)
    model, tokenizer, max_length = _model(runs_dir, run_id)
    costs = A.explainer_costs(model, tokenizer, text, max_length, int(evals), int(steps), pair=pair)
    names = {v: k for k, v in METHODS.items()}
    return pd.DataFrame([dict(zip(COST_COLUMNS, (names[c.method], c.evaluations, round(c.seconds, 2), c.how)))
                         for c in costs])


def attributions_html(runs_dir: str, run_id: str | None, text: str, target_choice, chosen, evals, steps,
                      show_pieces: bool) -> str:
    """The typed example (a pair run's: first text ||| second text) coloured by each chosen explainer."""
    if not chosen:
        raise WorkbenchError("Tick at least one explainer.")
    text, pair = _typed_example(runs_dir, run_id, text)
    model, tokenizer, max_length = _model(runs_dir, run_id)
    options = {"shap": {"max_evals": int(evals)}, "integrated_gradients": {"n_steps": int(steps)},
               "gradient_x_input": {}}
    parts = [A.legend_html()]
    for label in chosen:
        method = METHODS[label]
        attr = A.explain(method, model, tokenizer, text, target=_target(target_choice), max_length=max_length,
                         pair=pair, **options[method])
        parts.append(A.attribution_html(attr, show_pieces))
    return "".join(parts)


def faithfulness_estimate(runs_dir: str, run_id: str | None, n, chosen, evals) -> str:
    """What measuring faithfulness on n eval examples will cost, said before it runs."""
    if not run_id:
        return ""
    predictions, _ = _predictions(runs_dir, run_id)
    model, tokenizer, max_length = _model(runs_dir, run_id)
    examples = [A.example_parts(e) for e in A.sample_texts(predictions, int(n))]
    # Cost of a typical (median-length) example of the sample, times the number of examples.
    text, pair = sorted(examples, key=lambda e: len(e[0]) + len(e[1] or ""))[len(examples) // 2]
    costs = {c.method: c for c in A.explainer_costs(model, tokenizer, text, max_length, int(evals), pair=pair)}
    per_text = sum(costs[METHODS[m]].seconds for m in chosen)
    return (f"Estimated cost: about **{per_text * len(examples):.0f} s** for {len(examples)} examples "
            f"({per_text:.2f} s per example for {', '.join(chosen) or 'no explainer'}; the deletion "
            f"tests add a few batched forward passes).")


def faithfulness_report(runs_dir: str, run_id: str | None, n, chosen, evals, progress=None) -> A.FaithfulnessReport:
    """ERASER comprehensiveness and sufficiency of the chosen explainers on n eval examples (pairs too)."""
    predictions, _ = _predictions(runs_dir, run_id)
    model, tokenizer, max_length = _model(runs_dir, run_id)
    explainers = A.standard_explainers(model, tokenizer, max_length, int(evals), include=[METHODS[m] for m in chosen])
    return A.measure_faithfulness(model, tokenizer, A.sample_texts(predictions, int(n)), explainers,
                                  max_length=max_length, progress=progress)


# ---- the tab ---------------------------------------------------------------------------------------
def build_analyze_tab(runs_dir: str, tab: gr.Tab | None = None) -> None:
    """Create the Analyze tab's components inside the caller's `gr.Tab` and wire its events.
    Opening `tab` refreshes the run list and, when no run is chosen, picks the newest finished one."""
    runs_dir = str(runs_dir)
    gr.Markdown("Look inside a finished classifier: metrics, confusions, attention, token attributions, "
                "how faithful each explanation is, and what the errors have in common; label new texts "
                "with it, or set it beside another run on the same examples.")
    with gr.Row():
        run_dd = gr.Dropdown(label="Run", choices=run_choices(runs_dir), value=None, interactive=True,
                             scale=5, elem_id="analyze-run")
        refresh = gr.Button("↻ Refresh runs", scale=1, elem_id="analyze-refresh")
    run_msg = gr.HTML(elem_id="analyze-run-message")

    with gr.Tabs(elem_id="analyze-views"):
        # -- metrics
        with gr.Tab("Metrics", elem_id="analyze-metrics-tab"):
            metrics_msg = gr.HTML(elem_id="analyze-metrics-message")
            metrics_summary = gr.Dataframe(_empty("average", "precision", "recall", "f1"), label="Averages",
                                           interactive=False, elem_id="analyze-metrics-summary")
            per_class = gr.Dataframe(_empty("label", "precision", "recall", "f1", "support"), label="Per class",
                                     interactive=False, elem_id="analyze-per-class")
            with gr.Row():
                reliability_plot = gr.Plot(label="Reliability diagram", elem_id="analyze-reliability")
                per_class_plot = gr.Plot(label="Per-class scores", elem_id="analyze-per-class-plot")

        # -- confusion matrix
        with gr.Tab("Confusion matrix", elem_id="analyze-confusion-tab"):
            cm_msg = gr.HTML()
            normalize = gr.Radio(["counts", "row-normalised rates"], value="counts", label="Show",
                                 elem_id="analyze-cm-normalize")
            cm_plot = gr.Plot(label="Confusion matrix", elem_id="analyze-cm-plot")
            gr.Markdown("Select a cell of the table (a gold row and a predicted column) to list its examples, "
                        "most confident first.")
            cm_table = gr.Dataframe(interactive=False, label="Confusion matrix (select a cell)",
                                    elem_id="analyze-cm-table")
            cell_title = gr.Markdown(elem_id="analyze-cell-title")
            cell_table = gr.Dataframe(pd.DataFrame(columns=list(CELL_COLUMNS)), interactive=False, wrap=True,
                                      label="Examples in the cell", elem_id="analyze-cell-examples",
                                      column_widths=["7%", "12%", "12%", "11%", "58%"])

        # -- attention
        with gr.Tab("Attention", elem_id="analyze-attention-tab"):
            att_msg = gr.HTML(elem_id="analyze-att-message")
            att_text = gr.Textbox(label="Text", lines=2, elem_id="analyze-att-text")
            with gr.Row():
                layer = gr.Slider(0, 5, value=0, step=1, label="Layer", elem_id="analyze-layer")
                head = gr.Slider(0, 11, value=0, step=1, label="Head", elem_id="analyze-head")
                att_button = gr.Button("Show attention", variant="primary", elem_id="analyze-att-button")
            att_info = gr.Markdown(elem_id="analyze-att-info")
            grid_plot = gr.Plot(label="All layers and heads", elem_id="analyze-att-grid")
            with gr.Row():
                head_plot = gr.Plot(label="Selected head", elem_id="analyze-att-head")
                rollout_plot = gr.Plot(label="Rollout", elem_id="analyze-att-rollout")
            pooled_plot = gr.Plot(label="Rollout into the sentence vector", elem_id="analyze-att-pooled")

        # -- attributions
        with gr.Tab("Token attributions", elem_id="analyze-attr-tab"):
            attr_msg = gr.HTML(elem_id="analyze-attr-message")
            attr_text = gr.Textbox(label="Text", lines=2, elem_id="analyze-attr-text",
                                   placeholder=f"a text (a model trained on pairs: first text {PAIR_SEPARATOR} "
                                               "second text)")
            with gr.Row():
                target = gr.Dropdown([PREDICTED], value=PREDICTED, label="Explain class",
                                     elem_id="analyze-attr-target")
                methods = gr.CheckboxGroup(list(METHODS), value=list(METHODS), label="Explainers",
                                           elem_id="analyze-attr-methods")
                pieces = gr.Checkbox(False, label="Show word pieces")
            with gr.Row():
                shap_evals = gr.Slider(50, 3000, value=A.attribution.DEFAULT_SHAP_MAX_EVALS, step=50,
                                       label="SHAP max_evals (more: slower, closer to exact)")
                ig_steps = gr.Slider(4, 256, value=A.attribution.DEFAULT_IG_STEPS, step=4,
                                     label="Integrated Gradients steps")
            cost_table = gr.Dataframe(_empty(*COST_COLUMNS),
                                      label="Cost before running (measured forward pass on this machine)",
                                      interactive=False, elem_id="analyze-attr-cost")
            explain_button = gr.Button("Explain", variant="primary", elem_id="analyze-attr-button")
            attr_html = gr.HTML(elem_id="analyze-attr-html")

        # -- faithfulness
        with gr.Tab("Faithfulness", elem_id="analyze-faith-tab"):
            faith_msg = gr.HTML()
            gr.Markdown("ERASER comprehensiveness (drop in the predicted class's probability when the top "
                        "1-50% word pieces are deleted; higher is better) and sufficiency (drop when only "
                        "they are kept; lower is better), against random word pieces.")
            with gr.Row():
                n_texts = gr.Slider(5, 200, value=20, step=5, label="Eval examples", elem_id="analyze-faith-n")
                faith_methods = gr.CheckboxGroup(list(METHODS), value=list(METHODS), label="Explainers")
                faith_shap_evals = gr.Slider(50, 3000, value=A.attribution.DEFAULT_SHAP_MAX_EVALS, step=50,
                                             label="SHAP max_evals")
            faith_cost = gr.Markdown(elem_id="analyze-faith-cost")
            faith_button = gr.Button("Measure faithfulness", variant="primary", elem_id="analyze-faith-button")
            faith_table = gr.Dataframe(_empty("explainer", "comprehensiveness", "sufficiency"), interactive=False,
                                       label="Average over the examples (AOPC)",
                                       elem_id="analyze-faith-table")
            faith_plot = gr.Plot(label="By share of word pieces", elem_id="analyze-faith-plot")

        # -- error clusters
        with gr.Tab("Error clusters", elem_id="analyze-clusters-tab"):
            cluster_msg = gr.HTML()
            cluster_button = gr.Button("Cluster the misclassified examples", variant="primary",
                                       elem_id="analyze-cluster-button")
            cluster_plot = gr.Plot(label="Errors by the model's own representation", elem_id="analyze-cluster-plot")
            cluster_table = gr.Dataframe(_empty(*CLUSTER_COLUMNS.values()), interactive=False, wrap=True,
                                         label="Clusters",
                                         elem_id="analyze-cluster-table",
                                         column_widths=["7%", "6%", "14%", "8%", "9%", "18%", "38%"])
            cluster_file = gr.File(label="Clusters as CSV", elem_id="analyze-cluster-csv")

        # -- predict: the model on texts of the user's own
        with gr.Tab("Predict", elem_id="analyze-predict-tab"):
            predict_msg = gr.HTML(elem_id="analyze-predict-message")
            predict_text = gr.Textbox(label="Texts, one per line", lines=4, elem_id="analyze-predict-text",
                                      placeholder="one text per line (a model trained on pairs: "
                                                  f"first text {PAIR_SEPARATOR} second text)")
            predict_button = gr.Button("Predict", variant="primary", elem_id="analyze-predict-button")
            with gr.Row():
                predict_upload = gr.File(label="Or a file to label (CSV, TSV, JSON, JSONL, Parquet); "
                                               "it needs no label column", elem_id="analyze-predict-upload")
                predict_download = gr.File(label="Labelled file (CSV)", interactive=False,
                                           elem_id="analyze-predict-download")
            label_button = gr.Button("Label the file", elem_id="analyze-predict-file-button")
            predict_table = gr.Dataframe(_empty("text", "predicted", "confidence"), interactive=False, wrap=True,
                                         label="Predictions", elem_id="analyze-predict-table")

        # -- compare: this run against another on the same eval examples
        with gr.Tab("Compare", elem_id="analyze-compare-tab"):
            compare_msg = gr.HTML(elem_id="analyze-compare-message")
            with gr.Row():
                other_dd = gr.Dropdown(choices=[], value=None, label="Compare with run", scale=5,
                                       elem_id="analyze-compare-run")
                compare_button = gr.Button("Compare", variant="primary", scale=1, elem_id="analyze-compare-button")
            compare_verdict = gr.Markdown(elem_id="analyze-compare-verdict")
            with gr.Row():
                compare_scores = gr.Dataframe(_empty(*COMPARE_SCORE_COLUMNS), interactive=False,
                                              label="Scores on the same eval examples", elem_id="analyze-compare-scores")
                compare_counts = gr.Dataframe(_empty(*COMPARE_COUNT_COLUMNS), interactive=False,
                                              label="Examples by which run is right", elem_id="analyze-compare-counts")
            compare_table = gr.Dataframe(_empty(*COMPARE_COLUMNS), interactive=False, wrap=True,
                                         label="Examples the runs label differently", elem_id="analyze-compare-table",
                                         column_widths=["8%", "12%", "12%", "9%", "9%", "50%"])
            compare_file = gr.File(label="Those examples as CSV", interactive=False, elem_id="analyze-compare-csv")

    # ---- handlers ---------------------------------------------------------------------------------
    def refresh_runs(current):
        choices = run_choices(runs_dir)
        value = current if current in [v for _, v in choices] else None
        return gr.update(choices=choices, value=value)

    def open_tab(current):
        # The value is sent only to fill an empty picker: a run the user picks while this is on
        # its way must not be overwritten.
        newest = None if current else newest_finished(runs_dir)
        return gr.update(choices=run_choices(runs_dir), **({"value": newest} if newest else {}))

    @_guarded(14)
    def select_run(run_id):
        predictions, labels = _predictions(runs_dir, run_id)
        run = _run(runs_dir, run_id)
        report = A.classification_metrics(predictions, labels)
        cm = A.confusion_matrix(predictions, labels)
        status = run.raw_status()
        info = (f"<b>{run.id}</b> · model {status.get('model', '?')} · method {status.get('method', '?')} · "
                f"{report.n} eval predictions · classes: {', '.join(labels)}")
        headline = (f"<b>Accuracy {report.accuracy:.4f}</b> · macro F1 {report.macro['f1']:.4f} · "
                    f"micro F1 {report.micro['f1']:.4f} · ECE {report.ece:.4f} "
                    f"({report.n} examples)")
        layers, heads = _shape(run)
        example = _example_text(predictions)
        return (_message(headline, "info"), report.summary().round(4),
                report.per_class.round(4), A.reliability_figure(report), A.per_class_figure(report),
                A.confusion_figure(cm, False), cm.table(False),
                gr.update(maximum=layers - 1, value=min(layers - 1, layers // 2)),
                gr.update(maximum=heads - 1, value=0), example, example,
                gr.update(choices=[PREDICTED] + labels, value=PREDICTED), "", _message(info, "info"))

    def _shape(run) -> tuple[int, int]:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(run.model_dir)
        return int(config.num_hidden_layers), int(config.num_attention_heads)

    @_guarded(4)
    def show_confusion(run_id, mode):
        predictions, labels = _predictions(runs_dir, run_id)
        cm = A.confusion_matrix(predictions, labels)
        rates = mode != "counts"
        return A.confusion_figure(cm, rates), cm.table(rates), "", ""

    @_guarded(3)
    def select_cell(run_id, evt: gr.SelectData):
        predictions, labels = _predictions(runs_dir, run_id)
        row, col = evt.index
        if col == 0:
            raise WorkbenchError("Select a count, not the class name: its row is the gold class, its "
                                 "column the predicted class.")
        gold, predicted = labels[row], labels[col - 1]
        examples = A.cell_examples(predictions, gold, predicted, limit=None, label_names=labels)
        kind = "correct" if gold == predicted else "errors"
        shown = f", the {CELL_LIMIT} most confident shown" if len(examples) > CELL_LIMIT else ""
        table = examples.head(CELL_LIMIT)[[c for c in CELL_COLUMNS if c in examples]]
        return f"**gold {gold} → predicted {predicted}**: {len(examples)} examples ({kind}{shown})", table, ""

    @_guarded(6)
    def show_attention(run_id, text, layer_i, head_i):
        model, tokenizer, max_length = _model(runs_dir, run_id)
        text, pair = _typed_example(runs_dir, run_id, text)
        start = time.perf_counter()
        result = A.attention_maps(model, tokenizer, text, pair, max_length=max_length)
        layer_i, head_i = int(layer_i), int(head_i)
        figures = (A.attention_grid_figure(result, (layer_i, head_i)),
                   A.attention_head_figure(result, layer_i, head_i), A.rollout_figure(result),
                   A.pooled_rollout_figure(result))
        probs = ", ".join(f"{k} {v:.3f}" for k, v in result.probabilities.items())
        info = (f"Predicted **{result.predicted}** ({probs}) · {len(result.tokens)} word pieces · "
                f"{result.layers} layers x {result.heads} heads · {time.perf_counter() - start:.2f} s")
        return (info, *figures, "")

    @_guarded(2)
    def show_costs(run_id, text, evals, steps):
        return attribution_costs(runs_dir, run_id, text, evals, steps), ""

    @_guarded(2)
    def explain(run_id, text, target_choice, chosen, evals, steps, show_pieces):
        return attributions_html(runs_dir, run_id, text, target_choice, chosen, evals, steps, show_pieces), ""

    @_guarded(2)
    def faith_estimate(run_id, n, chosen, evals):
        return faithfulness_estimate(runs_dir, run_id, n, chosen, evals), ""

    @_guarded(3)
    def measure_faith(run_id, n, chosen, evals, progress=gr.Progress()):
        report = faithfulness_report(runs_dir, run_id, n, chosen, evals, lambda f, d: progress(f, desc=d))
        return report.table, A.faithfulness_figure(report), ""

    @_guarded(4)
    def cluster(run_id):
        predictions, _ = _predictions(runs_dir, run_id)
        model, tokenizer, max_length = _model(runs_dir, run_id)
        result = A.error_clusters(model, tokenizer, predictions, max_length)
        out = Path(tempfile.mkdtemp(prefix="workbench-clusters-")) / f"{run_id}-error-clusters.csv"
        A.clusters_csv(result, out)
        summary = result.summary.rename(columns=CLUSTER_COLUMNS)
        return A.cluster_figure(result), summary, str(out), ""

    def other_runs(run_id, current):
        choices = [(label, value) for label, value in run_choices(runs_dir) if value != run_id]
        return gr.update(choices=choices, value=current if current in [v for _, v in choices] else None)

    @_guarded(6)
    def compare(run_id, other_id):
        run = _run(runs_dir, run_id)
        if not other_id:
            raise WorkbenchError("Pick the run to compare with.")
        other = get_run(runs_dir, other_id)
        result = A.compare_runs(run, other)  # refuses a run that is not finished, with the reason
        scores = pd.DataFrame({"run": [run.id, other.id], "accuracy": [result.accuracy_a, result.accuracy_b],
                               "macro F1": [result.f1_macro_a, result.f1_macro_b]}).round(4)
        counts = pd.DataFrame([["both right", result.both_right], [f"only {run.id} right", result.only_a_right],
                               [f"only {other.id} right", result.only_b_right], ["both wrong", result.both_wrong]],
                              columns=list(COMPARE_COUNT_COLUMNS))
        # The short columns first: a long text would push them out of view.
        texts = [c for c in ("text", "text_pair") if c in result.disagreements]
        table = result.disagreements[["gold", "predicted_a", "predicted_b", "confidence_a", "confidence_b",
                                      *texts]].rename(columns={
            "predicted_a": f"predicted by {run.id}", "predicted_b": f"predicted by {other.id}",
            "confidence_a": f"confidence {run.id}", "confidence_b": f"confidence {other.id}"})
        out = Path(tempfile.mkdtemp(prefix="workbench-compare-")) / f"{run.id}-vs-{other.id}.csv"
        table.to_csv(out, index=False)
        shown = f"; the first {CELL_LIMIT} are shown" if len(table) > CELL_LIMIT else ""
        said = result.verdict()
        verdict = (f"**{said[0].upper()}{said[1:]}.** McNemar's exact test on the "
                   f"{result.only_a_right + result.only_b_right} examples exactly one run gets right; "
                   f"{len(table)} of {result.examples} examples labelled differently{shown}.")
        return verdict, scores, counts, table.head(CELL_LIMIT), str(out), ""

    @_guarded(3)
    def predict_lines(run_id, text):
        run = _run(runs_dir, run_id)
        model, tokenizer, max_length = _model(runs_dir, run_id)
        texts, pairs = split_lines(text or "", trained_on_pairs(run))
        labelled = label_texts(model, tokenizer, texts, pairs, max_length)
        rows = [{"text": t, **({"text_pair": pairs[i]} if pairs else {})} for i, t in enumerate(texts)]
        typed = pd.DataFrame(rows)
        warnings = reading_warnings(tokenizer, typed, "text", "text_pair" if pairs else None, "typed texts",
                                    max_length)
        return (gr.update(value=predictions_table(rows, labelled)), gr.update(),
                "".join(_message(warning, "warning") for warning in warnings))

    @_guarded(3)
    def label_file(run_id, path):
        if not path:
            raise WorkbenchError("Upload a file to label first.")
        run = _run(runs_dir, run_id)
        model, tokenizer, _ = _model(runs_dir, run_id)
        name = Path(path).name.split(".")[0] or "data"
        out = Path(tempfile.mkdtemp(prefix="workbench-predict-")) / f"{name}-labelled-by-{run.id}.csv"
        result = predict_run(run, str(path), output=str(out), loaded=(model, tokenizer))
        counts = ", ".join(f"{label} {n}" for label, n in result["predicted_counts"].items())
        preview = pd.read_csv(out, nrows=PREVIEW_ROWS)
        shown = f"; the first {PREVIEW_ROWS} are shown" if result["rows"] > PREVIEW_ROWS else ""
        said = _message(f"{result['rows']} row{'s' if result['rows'] != 1 else ''} of {Path(path).name} "
                        f"labelled ({counts}){shown}.", "info")
        # Texts the tokenizer cannot read get labels all the same: say so beside them.
        said += "".join(_message(warning, "warning") for warning in result.get("warnings", []))
        return predictions_first(preview).round(4), str(out), said

    # ---- wiring -------------------------------------------------------------------------------------
    refresh.click(refresh_runs, run_dd, run_dd)
    if tab is not None:
        tab.select(open_tab, run_dd, run_dd, show_progress="hidden")
    # The run's own message box is last: a run that cannot be analysed says why right under the picker.
    run_dd.change(select_run, run_dd,
                  [metrics_msg, metrics_summary, per_class, reliability_plot, per_class_plot,
                   cm_plot, cm_table, layer, head, att_text, attr_text, target, cm_msg, run_msg])
    normalize.change(show_confusion, [run_dd, normalize], [cm_plot, cm_table, cell_title, cm_msg])
    cm_table.select(select_cell, run_dd, [cell_title, cell_table, cm_msg])
    att_inputs = [run_dd, att_text, layer, head]
    att_outputs = [att_info, grid_plot, head_plot, rollout_plot, pooled_plot, att_msg]
    att_button.click(show_attention, att_inputs, att_outputs)
    att_text.submit(show_attention, att_inputs, att_outputs)
    layer.release(show_attention, att_inputs, att_outputs)
    head.release(show_attention, att_inputs, att_outputs)
    cost_inputs = [run_dd, attr_text, shap_evals, ig_steps]
    attr_text.change(show_costs, cost_inputs, [cost_table, attr_msg], trigger_mode="always_last")
    for event in (shap_evals.change, ig_steps.change):  # dragging, or typing a number
        event(show_costs, cost_inputs, [cost_table, attr_msg], trigger_mode="always_last")
    explain_button.click(explain, [run_dd, attr_text, target, methods, shap_evals, ig_steps, pieces],
                         [attr_html, attr_msg])
    faith_inputs = [run_dd, n_texts, faith_methods, faith_shap_evals]
    for event in (run_dd.change, n_texts.change, faith_methods.change, faith_shap_evals.change):
        event(faith_estimate, faith_inputs, [faith_cost, faith_msg], trigger_mode="always_last")
    faith_button.click(measure_faith, faith_inputs, [faith_table, faith_plot, faith_msg])
    cluster_button.click(cluster, run_dd, [cluster_plot, cluster_table, cluster_file, cluster_msg])
    for event in (run_dd.change, refresh.click):
        event(other_runs, [run_dd, other_dd], other_dd)
    compare_button.click(compare, [run_dd, other_dd],
                         [compare_verdict, compare_scores, compare_counts, compare_table, compare_file, compare_msg])
    predict_button.click(predict_lines, [run_dd, predict_text], [predict_table, predict_download, predict_msg])
    label_button.click(label_file, [run_dd, predict_upload], [predict_table, predict_download, predict_msg])
