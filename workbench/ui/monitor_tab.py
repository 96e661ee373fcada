"""The Monitor tab: one run, live, drawn from its folder.

A timer polls the run folder twice a second while the tab is open (it stops while another tab is
shown, so a page left on the Runs tab costs nothing). Each poll reads status.json and only the
new lines of metrics.jsonl (run_watch.MetricsTail), and re-sends a chart only when its data or
settings changed, so a quiet poll costs a stat() and a few bytes. Nothing here talks to the training
process: closing the page or restarting the app leaves the run alone, and opening the page again
picks the run up from its folder.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from workbench.errors import WorkbenchError
from workbench.preflight import check_resume
from workbench.runs import queue
from workbench.runs.store import ACTIVE, Run, get_run, list_runs, require_resumable, running_seconds
from workbench.train.launch import require_available_devices
from workbench.ui import charts
from workbench.ui.run_watch import file_size, metrics_tail
from workbench.ui.workspace import Workspace

log = logging.getLogger("workbench.app")
POLL_SECONDS = 0.5
LOG_LINES = 40
CHARTS = ("loss", "metrics", "learning_rate", "grad_norm", "throughput")


# ---- what the status says, in words (pure functions) ---------------------------------------------

@dataclass
class Progress:
    headline: str  # markdown: the state in words (and the error of a failed run)
    fraction: float  # 0..1 for the bar
    detail: str  # step x/y · epoch · elapsed · ETA


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(status: dict, now: float, waiting_behind: list[str] | None = None) -> Progress:
    """The state of a run in words, its progress and timing, from its status.json, with the
    warnings the run recorded (texts cut at max_length, imbalanced classes...) under it."""
    progress = _describe_state(status, now, waiting_behind)
    warnings = [w.removeprefix("WARNING: ") for w in status.get("warnings") or []]
    if warnings:
        progress.headline += "".join(f"\n\n⚠ {w}" for w in warnings)
    best = status.get("best_checkpoint")
    if best and best.get("message"):  # which checkpoint the model is, and why the run ended early
        progress.headline += f"\n\n{best['message'][0].upper()}{best['message'][1:]}"
    return progress


def _describe_state(status: dict, now: float, waiting_behind: list[str] | None) -> Progress:
    state = status.get("status", "unknown")
    step, max_steps = status.get("step") or 0, status.get("max_steps")
    elapsed = running_seconds(status, now)  # a resumed run's sessions, without the pause between
    fraction = min(1.0, step / max_steps) if max_steps else 0.0
    parts = [f"step {step}/{max_steps}" if max_steps else "step –"]
    if status.get("epoch") is not None:
        parts.append(f"epoch {status['epoch']:.2f}")
    parts.append(f"elapsed {format_duration(elapsed)}")

    if state == "queued":
        if status.get("queue") == queue.WAITING:
            behind = f" behind {', '.join(f'`{r}`' for r in waiting_behind)}" if waiting_behind else ""
            slots = ", ".join(status.get("slots") or []) or "its device"
            headline = f"◷ **Queued** — waiting for {slots}{behind}"
        else:
            headline = "▶ **Starting** — launching the training process"
        return Progress(headline, 0.0, " · ".join(parts))
    if state == "running":
        train_elapsed = status.get("elapsed")
        if not max_steps:
            headline = "▶ **Running** — loading the model and the data"
        else:
            headline = "▶ **Running** — training"
            done = step - (status.get("session_start_step") or 0)  # steps this session (after a resume)
            if done > 0 and train_elapsed:
                eta = train_elapsed / done * (max_steps - step)
                parts.append(f"ETA {format_duration(eta)}")
            if step >= max_steps:
                headline = "▶ **Running** — final evaluation and saving the model"
        return Progress(headline, fraction, " · ".join(parts))
    if state == "finished":
        metrics = status.get("metrics") or {}
        shown = ", ".join(f"{k} {metrics[k]:.4f}" for k in ("accuracy", "f1_macro", "loss")
                          if isinstance(metrics.get(k), (int, float)))
        return Progress(f"✔ **Finished**{' — ' + shown if shown else ''}", 1.0, " · ".join(parts))
    if state == "aborted":
        if not status.get("started"):  # aborted while it waited in the queue: nothing was saved
            return Progress("■ **Cancelled** before it started; **Resume** starts it from step 0", fraction,
                            " · ".join(parts))
        note = (f" ({status['error']})" if status.get("error")
                else "; its last checkpoint is kept: **Resume** goes on from it")
        return Progress(f"■ **Aborted** at step {step}{note}", fraction, " · ".join(parts))
    if state == "failed":
        error = (status.get("error") or "no reason recorded; see the log below").strip()
        return Progress(f"✖ **Failed** — {error}", fraction, " · ".join(parts))
    return Progress(f"**{state}**", fraction, " · ".join(parts))


def progress_html(progress: Progress) -> str:
    percent = 100 * progress.fraction
    return (f'<div class="wb-progress" data-fraction="{progress.fraction:.4f}">'
            f'<div class="wb-progress-bar"><div class="wb-progress-fill" style="width:{percent:.1f}%"></div></div>'
            f'<div class="wb-progress-text">{html.escape(progress.detail)}</div></div>')


def run_choices(runs_dir: Path) -> list[tuple[str, str]]:
    choices = []
    for run in list_runs(runs_dir):
        name = run.raw_status().get("name")
        choices.append((f"{run.id} ({name})" if name else run.id, run.id))
    return choices


def default_run(runs_dir: Path) -> str | None:
    """The run to show when a page opens: the newest active run, else the newest run."""
    runs = list_runs(runs_dir)
    for run in runs:
        if run.status().get("status") in ACTIVE:
            return run.id
    return runs[0].id if runs else None


# ---- the tab -------------------------------------------------------------------------------------

@dataclass
class MonitorTab:
    run_select: gr.Dropdown
    timer: gr.Timer  # polls the run folder; active only while the tab is shown
    show_run: callable  # run id -> updates of show_outputs
    show_outputs: list  # the run picker and everything drawn of the run it picks
    wire_page_load: callable
    wire_tabs: callable  # (the Monitor tab, the other tabs) -> None


SCROLL_LOG_TO_END = """() => {
    const box = document.querySelector('#monitor-log textarea');
    if (box) requestAnimationFrame(() => { box.scrollTop = box.scrollHeight; });
}"""


def build_monitor_tab(ws: Workspace) -> MonitorTab:
    with gr.Row():
        run_select = gr.Dropdown(choices=run_choices(ws.runs_dir), label="Run", elem_id="monitor-run", scale=4)
        refresh_btn = gr.Button("↻ Runs", elem_id="monitor-refresh", scale=0, min_width=120)
        resume_btn = gr.Button("Resume", elem_id="monitor-resume", scale=0, min_width=120)
        abort_btn = gr.Button("Abort", variant="stop", elem_id="monitor-abort", scale=0, min_width=120)
    headline = gr.Markdown("No run selected.", elem_id="monitor-status")
    progress = gr.HTML(progress_html(Progress("", 0.0, "")), elem_id="monitor-progress")
    with gr.Row():
        log_scale = gr.Checkbox(label="Log scale (loss, LR, grad norm)", value=False, elem_id="monitor-log-scale")
        smoothing = gr.Slider(0, 0.95, value=0.6, step=0.05, label="Smoothing", elem_id="monitor-smoothing")
    with gr.Row():
        loss_plot = gr.Plot(label="Loss", show_label=False, elem_id="monitor-loss", scale=3)
        metrics_plot = gr.Plot(label="Evaluation metrics", show_label=False, elem_id="monitor-metrics", scale=2)
    with gr.Row():
        lr_plot = gr.Plot(label="Learning rate", show_label=False, elem_id="monitor-lr")
        grad_plot = gr.Plot(label="Gradient norm", show_label=False, elem_id="monitor-grad-norm")
        speed_plot = gr.Plot(label="Samples / s", show_label=False, elem_id="monitor-throughput")
    log_box = gr.Textbox(label="Log (tail of train.log)", lines=12, max_lines=12, autoscroll=True,
                         interactive=False, elem_id="monitor-log")
    # The newest lines matter (a failure's reason is the last one), but Gradio's autoscroll left a
    # freshly filled box at its top; this runs in the page only, on each new tail.
    log_box.change(None, None, None, js=SCROLL_LOG_TO_END)
    shown = gr.State({})  # per page: what each output last showed, to send only changes
    timer = gr.Timer(POLL_SECONDS, active=False)  # the page opens on the Train tab

    plots = [loss_plot, metrics_plot, lr_plot, grad_plot, speed_plot]
    outputs = [headline, progress, *plots, log_box, shown]

    def poll(run_id, log_scale, smooth, last):
        try:
            return read_run(run_id, log_scale, smooth, last)
        except Exception as err:  # a run folder we cannot make sense of: say so, keep polling
            if (last or {}).get("error") != str(err):
                log.exception("monitor: reading run %s failed", run_id)
            message = f"✖ This run's folder could not be read: {type(err).__name__}: {html.escape(str(err))[:300]}"
            return [message] + [gr.skip()] * (len(outputs) - 2) + [{"run": run_id, "error": str(err)}]

    def read_run(run_id, log, smooth, last):
        if not run_id:
            return [gr.skip()] * (len(outputs) - 1) + [last]
        run = Run(ws.runs_dir / run_id)
        if not run.status_path.is_file():
            return ["This run no longer exists (deleted?)."] + [gr.skip()] * (len(outputs) - 2) + [{}]
        last = dict(last or {}) if (last or {}).get("run") == run_id else {"run": run_id}
        status = run.status()
        behind = []
        if status.get("status") == "queued" and status.get("queue") == queue.WAITING:
            behind = queue.waiting_for(run, status, ws.runs_dir, len(queue.list_gpus()))
        now_progress = describe(status, time.time(), behind)
        rows, version = metrics_tail(run.dir).poll()
        evals = len(charts.eval_rows(rows))
        kept_step = (status.get("best_checkpoint") or {}).get("step")
        keys = {"loss": (version, log, smooth), "metrics": (version[0], evals, kept_step),
                "learning_rate": (version, log), "grad_norm": (version, log), "throughput": version}
        makers = {"loss": lambda: charts.loss_figure(rows, smooth, log),
                  "metrics": lambda: charts.eval_metrics_figure(rows, kept_step=kept_step),
                  "learning_rate": lambda: charts.learning_rate_figure(rows, log),
                  "grad_norm": lambda: charts.grad_norm_figure(rows, log),
                  "throughput": lambda: charts.throughput_figure(rows)}
        figures = []
        for name in CHARTS:
            if last.get(name) == keys[name]:
                figures.append(gr.skip())
            else:
                last[name] = keys[name]
                figures.append(makers[name]())
        log_size = file_size(run.log_path)
        log_text = gr.skip()
        if last.get("log") != log_size:
            last["log"] = log_size
            log_text = run.log_tail(LOG_LINES)
        head = now_progress.headline
        bar = progress_html(now_progress)
        head_out = gr.skip() if last.get("headline") == head else head
        bar_out = gr.skip() if last.get("bar") == bar else bar
        last["headline"], last["bar"] = head, bar
        return [head_out, bar_out, *figures, log_text, last]

    inputs = [run_select, log_scale, smoothing, shown]
    # Reads only; many pages may poll at once without queueing behind each other.
    timer.tick(poll, inputs, outputs, show_progress="hidden", concurrency_limit=None)
    gr.on([run_select.change, log_scale.change, smoothing.release], poll, inputs, outputs,
          show_progress="hidden", concurrency_limit=None)

    def refresh(current):
        choices = run_choices(ws.runs_dir)
        ids = [value for _, value in choices]
        return gr.Dropdown(choices=choices, value=current if current in ids else default_run(ws.runs_dir))

    refresh_btn.click(refresh, run_select, run_select)

    def abort(run_id):
        if not run_id:
            gr.Warning("Pick a run first.")
            return
        try:
            get_run(ws.runs_dir, run_id).request_abort()
            gr.Info(f"Abort requested: {run_id} stops after the current step.")
        except WorkbenchError as err:
            gr.Warning(str(err))

    abort_btn.click(abort, run_select, None)

    def resume(run_id):
        """An aborted or failed run goes on from its last checkpoint, through the device queue like a
        new run (it waits if its device is busy), in a new detached process."""
        if not run_id:
            gr.Warning("Pick a run first.")
            return
        try:
            run = get_run(ws.runs_dir, run_id)
            require_resumable(run)
            require_available_devices(run.config().devices)
            check_resume(run)
            checkpoint = run.last_checkpoint()
            state = queue.submit(run, len(queue.list_gpus()), resume=True)
        except WorkbenchError as err:
            gr.Warning(str(err))
            return
        where = f"from {checkpoint.name}" if checkpoint else "from step 0: it had saved no checkpoint"
        waits = "" if state == "started" else "; it waits for its device"
        gr.Info(f"Resuming {run_id} {where}{waits}.")

    resume_btn.click(resume, run_select, None)

    show_outputs = [run_select, headline, progress, *plots, log_box]

    def show_run(run_id):
        """Pick run_id, and blank what the previous run drew: the tab shows before the first poll
        of the new run answers, and it would show the old run's state and curves till then."""
        if not run_id:
            return [gr.skip()] * len(show_outputs)
        blank = progress_html(Progress("", 0.0, ""))
        return [gr.Dropdown(choices=run_choices(ws.runs_dir), value=run_id),
                f"Run `{run_id}`: reading its folder…", blank, *[None] * len(plots), ""]

    def wire_tabs(monitor_item: gr.Tab, others: list[gr.Tab]) -> None:
        # Opening the tab draws the run at once, then keeps polling; leaving it stops the polls.
        monitor_item.select(lambda: gr.Timer(active=True), None, timer, show_progress="hidden") \
            .then(poll, inputs, outputs, show_progress="hidden", concurrency_limit=None)
        for item in others:
            item.select(lambda: gr.Timer(active=False), None, timer, show_progress="hidden")

    def wire_page_load(demo: gr.Blocks) -> None:
        # A page opened after a restart finds the run that is still training and keeps drawing it.
        demo.load(lambda: gr.Dropdown(choices=run_choices(ws.runs_dir), value=default_run(ws.runs_dir)),
                  None, run_select, show_progress="hidden")

    return MonitorTab(run_select, timer, show_run, show_outputs, wire_page_load, wire_tabs)
