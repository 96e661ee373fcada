"""The Workbench app: the tabs composed into one gradio Blocks, and `main` to serve it.

    python app.py [--host 127.0.0.1] [--port 7860] [--auth user:password] [--workspace DIR]

The app never trains. Start writes a run folder and launches a detached training process (or
queues it behind the run that holds its device); every view reads run folders. A background
thread runs beside the server: the queue dispatcher (starts waiting runs when their device
frees, also after an app restart, and keeps a standby training process imported and ready, so
a run's first step comes seconds sooner). Before serving, the app imports torch and inspects the
default model, so the form's first parameter count is quick.

When the Hugging Face Hub does not answer at start, the app (and the trainings it launches) run
in Hugging Face offline mode, so a Hub id that is not cached fails at once instead of after ~25 s
of retries.
"""

from __future__ import annotations

import argparse
import errno
import faulthandler
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

# Offline-first: no usage analytics or version checks from the gradio server.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The Analyze tab's explainers run in this process, often beside a training process on the same
# cores: spinning OpenMP threads then fight it, and SHAP, attention and clustering ran 2.5-10x
# slower (bench/bench_analysis.py). Passive threads sleep instead. Training processes get the
# user's own setting back (launch.py, standby.py), since their speed was measured without it.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["WORKBENCH_APP_OMP_PASSIVE"] = "1"

from workbench.hub_access import offline_unless_hub_reachable  # noqa: E402

# Before gradio, which imports huggingface_hub (hub_access.py says why).
WENT_OFFLINE = offline_unless_hub_reachable()

import gradio as gr  # noqa: E402

from workbench.runs import queue  # noqa: E402
from workbench.train.standby import Standby  # noqa: E402
from workbench.ui.monitor_tab import build_monitor_tab  # noqa: E402
from workbench.ui.runs_tab import build_runs_tab  # noqa: E402
from workbench.ui.train_tab import build_train_tab  # noqa: E402
from workbench.ui.workspace import Workspace  # noqa: E402

log = logging.getLogger("workbench.app")
DISPATCH_EVERY_S = 1.0

CSS = """
.wb-progress { margin: 4px 0 8px 0; }
.wb-progress-bar { height: 14px; background: #e5e7eb; border-radius: 7px; overflow: hidden; }
.wb-progress-fill { height: 100%; background: #2563eb; transition: width 0.4s ease; }
.wb-progress-text { font-size: 0.9em; color: #4b5563; margin-top: 4px; font-variant-numeric: tabular-nums; }
"""


def build_app(ws: Workspace) -> gr.Blocks:
    with gr.Blocks(title="Workbench") as demo:
        gr.Markdown("## Workbench — fine-tune transformer models")
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Train", id="train", elem_id="tab-train") as train_tab:
                train = build_train_tab(ws)
            with gr.Tab("Monitor", id="monitor", elem_id="tab-monitor") as monitor_tab:
                monitor = build_monitor_tab(ws)
            # Rendered with the page (hidden), so its first opening only has to refresh the table.
            with gr.Tab("Runs", id="runs", elem_id="tab-runs", render_children=True) as runs_tab:
                runs = build_runs_tab(ws)
            with gr.Tab("Analyze", id="analyze", elem_id="tab-analyze") as analyze_tab:
                _build_analyze(ws, analyze_tab)

        # Start -> show the new run in the Monitor tab (and start its polling: selecting a tab
        # from code fires no select event).
        train.start_event.then(
            lambda run_id: (*monitor.show_run(run_id), gr.Tabs(selected="monitor"), gr.Timer(active=True))
            if run_id else [gr.skip()] * (len(monitor.show_outputs) + 2),
            train.started_run, [*monitor.show_outputs, tabs, monitor.timer], show_progress="hidden")
        monitor.wire_tabs(monitor_tab, [train_tab, runs_tab, analyze_tab])
        runs_tab.select(runs.refresh, None, runs.refresh_outputs, show_progress="hidden")
        train.wire_page_load(demo)
        monitor.wire_page_load(demo)
    return demo


def _build_analyze(ws: Workspace, tab: gr.Tab) -> None:
    # A broken analysis view must not take training and monitoring down with it: the tab says
    # what went wrong and the app log keeps the traceback.
    try:
        from workbench.ui.analyze_tab import build_analyze_tab

        build_analyze_tab(str(ws.runs_dir), tab)
    except Exception as err:
        log.exception("the Analyze tab could not be built")
        gr.Markdown(f"The Analyze tab could not be loaded: `{type(err).__name__}: {err}` (details in the app log).")


def _dispatch_forever(runs_dir: Path, stop: threading.Event, standby: Standby | None) -> None:
    """Start queued runs whose device has freed; state is in the run folders, so this simply
    resumes after an app restart. Keeps a standby process ready for the next run."""
    gpu_count = len(queue.list_gpus())
    while True:
        try:
            # A new standby's imports take seconds of CPU: start it while its device is idle, not
            # beside the run that has just taken the previous one.
            if standby is not None and not standby.alive() \
                    and not set(standby.slots(gpu_count)) & queue.busy_now(runs_dir, gpu_count):
                standby.start()
            for run_id in queue.dispatch(runs_dir, gpu_count):
                log.info("queue: started %s", run_id)
        except Exception:  # never let the dispatcher die; the next pass tries again
            log.exception("queue dispatch failed")
        if stop.wait(DISPATCH_EVERY_S):
            return


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description="Open the Workbench in the browser.")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (0.0.0.0: the whole network)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="require this login")
    parser.add_argument("--workspace", default=".", help="folder for runs/, uploads/ and configs/ (default: here)")
    parser.add_argument("--no-standby", action="store_true",
                        help="start each training process afresh instead of keeping one imported and ready "
                             "(saves ~0.5 GB of memory; the first step of a run comes a few seconds later)")
    args = parser.parse_args(argv)
    if args.auth and ":" not in args.auth:
        parser.error("--auth must be user:password")
    return args


def port_problem(host: str, port: int) -> str | None:
    """Why the app cannot serve on host:port, checked before minutes of start-up are spent (gradio
    would end in a traceback then). SO_REUSEADDR as uvicorn sets it: a port an app just left
    (TIME_WAIT) is free, one that something listens on is not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return (f"port {port} is in use (another program, or a Workbench already running: try "
                        f"http://{host}:{port}); pass --port with a free one, e.g. --port {port + 1}")
            return f"cannot serve on {host}:{port} ({err.strerror or err}); check --host and --port"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        ws = Workspace(Path(args.workspace).expanduser().resolve()).create()
    except OSError as err:
        print(f"error: cannot use '{args.workspace}' as the workspace ({err.strerror or err}); pass "
              "--workspace with a folder this user can write", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    # `kill -USR1 <app pid>` writes every thread's stack to the app's stderr: for an app that
    # hangs, what it is waiting on (the browser tests ask for it when a test fails).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if WENT_OFFLINE:
        log.info("the Hugging Face Hub does not answer: offline mode (bundled, local and cached models "
                 "and datasets only; restart the app once online to use others)")
    stop = threading.Event()
    standby = None
    if not args.no_standby:
        # One standby, for the CPU on a machine without GPUs, else for GPU 0 (one-GPU runs).
        gpu_count = len(queue.list_gpus())
        standby = Standby(ws.root / ".standby", "cpu" if gpu_count == 0 else "0", gpu_count)
        queue.use_standby(standby)
    dispatcher = threading.Thread(target=_dispatch_forever, args=(ws.runs_dir, stop, standby), daemon=True,
                                  name="queue")
    dispatcher.start()
    # torch, transformers and peft are imported here, before the server takes requests, not in a
    # thread beside it: first imports racing in several threads are a known source of deadlocks,
    # and while they ran the page's first events waited behind them (pending 1 s instead of 0.3 s).
    from workbench.ui.model_info import warm_up

    warm_up(str(ws.runs_dir))
    demo = build_app(ws)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    print(f"Workbench: http://{args.host}:{args.port}  (workspace {ws.root})", flush=True)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, auth=auth, css=CSS, show_error=False, quiet=True,
        allowed_paths=[str(ws.root)], footer_links=[])
    stop.set()
    dispatcher.join(5)
    if standby is not None:
        standby.stop()
    return 0
