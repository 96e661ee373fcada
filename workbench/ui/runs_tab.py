"""The Runs tab: every run in the workspace with the disk it takes, one run's curves and config,
several runs overlaid, exporting a run's model, deleting a finished run's checkpoints, deleting
a run (after a confirmation), and the GGUF models converted into the cache (`workbench cache`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import gradio as gr
import pandas as pd

from workbench import model_cache
from workbench.errors import WorkbenchError
from workbench.export import export_run
from workbench.runs.store import (Run, delete_checkpoints, delete_run, folder_bytes, folder_megabytes, get_run,
                                  human_size, list_runs, running_seconds)
from workbench.ui import charts
from workbench.ui.monitor_tab import format_duration
from workbench.ui.run_watch import forget, metrics_tail
from workbench.ui.workspace import Workspace

COLUMNS = ["run", "name", "status", "model", "task", "method", "best metric", "duration", "started", "disk"]


def run_row(run: Run, now: float | None = None) -> dict:
    """One line of the runs table, read from the run folder."""
    status = run.status()
    rows, _ = metrics_tail(run.dir).poll()
    best = charts.best_eval(rows)
    if best is None and isinstance((status.get("metrics") or {}).get("accuracy"), (int, float)):
        best = ("accuracy", status["metrics"]["accuracy"])
    duration = running_seconds(status, now)  # a resumed run's sessions, without the pause between
    when = status.get("started") or status.get("created")
    return {
        "run": run.id, "name": status.get("name") or "", "status": status.get("status", "?"),
        "model": status.get("model") or "", "task": status.get("task") or "", "method": status.get("method") or "",
        "best metric": f"{best[0]} {best[1]:.4f}" if best else "",
        "duration": format_duration(duration) if duration is not None else "",
        "started": datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M:%S") if when else "",
        "disk": human_size(folder_bytes(run.dir)),
    }


def runs_table(runs_dir: str | Path) -> pd.DataFrame:
    """Every run, newest first."""
    now = time.time()
    return pd.DataFrame([run_row(run, now) for run in list_runs(runs_dir)], columns=COLUMNS)


@dataclass
class RunsTab:
    refresh: callable  # () -> updates of the outputs below
    refresh_outputs: list


def cache_summary(entries: list[model_cache.CachedModel]) -> str:
    """The cache's conversions as a table, and what removing the unused ones would free."""
    folder = model_cache.models_dir()
    if not entries:
        return f"No GGUF model has been converted yet (conversions go to `{folder}`)."
    lines = [f"GGUF models converted into `{folder}`: {human_size(sum(e.size for e in entries))}.", "",
             "| model | size | state | converted from |", "| --- | --- | --- | --- |"]
    lines += [f"| `{e.name}` | {human_size(e.size)} | {e.state}: {model_cache.STATES[e.state]} | "
              f"{f'`{e.source}`' if e.source else 'not recorded'} |" for e in entries]
    stale = [e for e in entries if e.stale]
    lines += ["", f"{len(stale)} no run can use again ({human_size(sum(e.size for e in stale))}): "
                  "**Remove unused** deletes them." if stale else
              "Every conversion can still be used. Removing one makes the next run of its model convert it "
              "again."]
    return "\n".join(lines)


def build_runs_tab(ws: Workspace) -> RunsTab:
    with gr.Row():
        refresh_btn = gr.Button("↻ Refresh", elem_id="runs-refresh", scale=0, min_width=140)
        gr.Markdown("Click a run to see its curves and config.")
    # Widths, so that short headers (name, method) are not broken letter by letter.
    table = gr.Dataframe(value=runs_table(ws.runs_dir), headers=COLUMNS, interactive=False, wrap=True,
                         column_widths=["22%", "7%", "8%", "10%", "12%", "7%", "12%", "7%", "9%", "6%"],
                         max_height=360, elem_id="runs-table", label="Runs")
    selected = gr.State("")
    with gr.Row():
        selected_md = gr.Markdown("No run selected.", elem_id="runs-selected")
        export_btn = gr.Button("Export model", elem_id="runs-export", scale=0, min_width=160)
        checkpoints_btn = gr.Button("Delete checkpoints", elem_id="runs-delete-checkpoints", scale=0,
                                    min_width=210)
        delete_btn = gr.Button("Delete run…", variant="stop", elem_id="runs-delete", scale=0, min_width=160)
    action_md = gr.Markdown(elem_id="runs-action-text")
    with gr.Group(visible=False) as confirm_box:
        confirm_md = gr.Markdown(elem_id="runs-confirm-text")
        with gr.Row():
            confirm_btn = gr.Button("Yes, delete it", variant="stop", elem_id="runs-confirm-delete")
            cancel_btn = gr.Button("Cancel", elem_id="runs-cancel-delete")
    with gr.Row():
        loss_plot = gr.Plot(label="Loss", show_label=False, elem_id="runs-loss")
        metrics_plot = gr.Plot(label="Evaluation metrics", show_label=False, elem_id="runs-metrics")
    with gr.Accordion("Config", open=False) as config_box:  # opens when a run is selected
        config_code = gr.Code(language="yaml", label="config.yaml", elem_id="runs-config")

    gr.Markdown("### Compare runs")
    with gr.Row():
        compare_select = gr.Dropdown(choices=[], multiselect=True, label="Runs to overlay",
                                     elem_id="runs-compare", scale=4)
        metric_select = gr.Dropdown(choices=["loss"], value="loss", label="Metric", elem_id="runs-compare-metric",
                                    scale=1)
        compare_log = gr.Checkbox(label="Log scale", value=False, scale=0, min_width=100)
    compare_plot = gr.Plot(label="Overlay", show_label=False, elem_id="runs-compare-plot")

    with gr.Accordion("Model cache", open=False):
        cache_md = gr.Markdown(elem_id="runs-cache")
        with gr.Row():
            prune_btn = gr.Button("Remove unused", elem_id="runs-cache-prune", scale=0, min_width=200)
            cache_choice = gr.Dropdown(choices=[], label="A conversion", elem_id="runs-cache-choice", scale=2)
            remove_btn = gr.Button("Remove it", elem_id="runs-cache-remove", scale=0, min_width=160)
        cache_action_md = gr.Markdown(elem_id="runs-cache-pruned")

    def cache_view():
        entries = model_cache.cached_models()  # one walk of the cache for the table and the choices
        names = [e.name for e in entries if e.state != "converting"]
        return cache_summary(entries), gr.Dropdown(choices=names, value=None)

    def refresh():
        frame = runs_table(ws.runs_dir)
        return frame, gr.Dropdown(choices=list(frame["run"])), *cache_view()

    refresh_outputs = [table, compare_select, cache_md, cache_choice]
    cache_outputs = [cache_action_md, cache_md, cache_choice]

    def removed(entries) -> str:
        model_cache.remove(entries)
        return (f"Removed {len(entries)} conversion{'s' if len(entries) > 1 else ''}: "
                f"{human_size(sum(e.size for e in entries))} freed.")

    def prune():
        stale = [e for e in model_cache.cached_models() if e.stale]
        if not stale:
            return "Nothing to remove: every conversion can still be used.", *cache_view()
        try:
            return removed(stale), *cache_view()
        except (WorkbenchError, OSError) as err:
            return f"⚠ {err}", *cache_view()

    def remove_chosen(name):
        if not name:
            return "Choose a conversion first.", *cache_view()
        try:
            message = removed(model_cache.find([name], model_cache.cached_models()))
        except (WorkbenchError, OSError) as err:
            return f"⚠ {err}", *cache_view()
        return f"{message} The next run of its model converts it again.", *cache_view()

    prune_btn.click(prune, None, cache_outputs)
    remove_btn.click(remove_chosen, cache_choice, cache_outputs)
    refresh_btn.click(refresh, None, refresh_outputs)

    def show(run_id: str):
        if not run_id:
            return "No run selected.", None, None, ""
        try:
            run = get_run(ws.runs_dir, run_id)
        except WorkbenchError as err:
            return str(err), None, None, ""
        rows, _ = metrics_tail(run.dir).poll()
        status = run.status()
        text = f"**{run.id}** — {status.get('status')}"
        if status.get("error"):
            text += f": {status['error']}"
        config = (run.dir / "config.yaml").read_text() if (run.dir / "config.yaml").is_file() else ""
        return text, charts.loss_figure(rows), charts.eval_metrics_figure(rows), config

    def on_select(frame: pd.DataFrame, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        run_id = str(frame.iloc[row]["run"]) if frame is not None and row < len(frame) else ""
        return (run_id, *show(run_id), gr.Group(visible=False), gr.Accordion(open=bool(run_id)))

    table.select(on_select, table,
                 [selected, selected_md, loss_plot, metrics_plot, config_code, confirm_box, config_box])

    def on_export(run_id):
        if not run_id:
            return "Click a run in the table first."
        try:
            run = get_run(ws.runs_dir, run_id)
            folder = run.dir / "export"
            if folder.is_dir() and any(folder.iterdir()):  # exported before: the same model, say where
                where, size = folder, folder_megabytes(folder)
            else:
                result = export_run(run)
                where, size = Path(result["export"]), result["megabytes"]
        except WorkbenchError as err:
            return f"⚠ {err}"
        merged = ", the LoRA adapter merged in" if run.raw_status().get("method") == "lora" else ""
        return (f"Model of **{run_id}** exported to `{where.resolve()}` ({size:.0f} MB{merged}). It loads "
                "without the workbench: `AutoModelForSequenceClassification.from_pretrained(folder, "
                "trust_remote_code=True)`, or as a local model here.")

    export_btn.click(on_export, selected, action_md)

    def on_delete_checkpoints(run_id):
        if not run_id:
            return "Click a run in the table first.", gr.skip()
        try:
            freed = delete_checkpoints(get_run(ws.runs_dir, run_id))
        except WorkbenchError as err:
            return f"⚠ {err}", gr.skip()
        return (f"Deleted the checkpoints of **{run_id}**: {human_size(freed)} freed. Its model, predictions "
                "and logs stay.", runs_table(ws.runs_dir))

    checkpoints_btn.click(on_delete_checkpoints, selected, [action_md, table])
    table.select(lambda: "", None, action_md)  # a message about another run would mislead

    def ask_delete(run_id):
        if not run_id:
            gr.Warning("Click a run in the table first.")
            return gr.skip(), gr.skip()
        return (f"Delete run **{run_id}** and everything in its folder (checkpoints, model, logs)? "
                "This cannot be undone.", gr.Group(visible=True))

    delete_btn.click(ask_delete, selected, [confirm_md, confirm_box])
    cancel_btn.click(lambda: gr.Group(visible=False), None, confirm_box)

    def confirm_delete(run_id):
        try:
            run = get_run(ws.runs_dir, run_id)
            delete_run(run)
            forget(run.dir)
        except WorkbenchError as err:
            gr.Warning(str(err))
            return (gr.Group(visible=False), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                    gr.skip())
        gr.Info(f"Deleted {run_id}.")
        frame, compare, *_ = refresh()
        return (gr.Group(visible=False), "", f"Deleted **{run_id}**.", None, None, "", frame, compare)

    confirm_btn.click(confirm_delete, selected, [confirm_box, selected, selected_md, loss_plot, metrics_plot,
                                                 config_code, table, compare_select])

    def overlay(run_ids, metric, log):
        run_ids = run_ids or []
        series = {}
        for run_id in run_ids:
            run_dir = ws.runs_dir / run_id
            if (run_dir / "status.json").is_file():
                series[run_id] = metrics_tail(run_dir).poll()[0]
        choices = charts.metric_choices(series.values())
        metric = metric if metric in choices else "loss"
        figure = charts.compare_figure(series, metric, log_scale=bool(log)) if series else None
        return figure, gr.Dropdown(choices=choices, value=metric)

    gr.on([compare_select.change, metric_select.change, compare_log.change], overlay,
          [compare_select, metric_select, compare_log], [compare_plot, metric_select])

    return RunsTab(refresh, refresh_outputs)
