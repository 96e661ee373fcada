"""The Monitor tab's words for a run's state (workbench/ui/monitor_tab.py), read from run folders."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from workbench.config import RunConfig
from workbench.runs import queue
from workbench.runs.store import create_run, process_identity
from workbench.ui.monitor_tab import Progress, default_run, describe, format_duration, progress_html, run_choices

NOW = 1_800_000_000.0


def make_run(runs_dir, name=None):
    return create_run(RunConfig.from_dict({"runs_dir": str(runs_dir), "name": name, "data": {"path": "x.csv"}}))


@pytest.mark.parametrize("seconds, text", [(None, "–"), (-1, "–"), (0, "0:00"), (59.6, "1:00"), (75, "1:15"),
                                           (3600 * 2 + 61, "2:01:01")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_running_shows_step_epoch_elapsed_and_eta():
    status = {"status": "running", "step": 30, "max_steps": 120, "epoch": 1.5, "started": NOW - 70,
              "elapsed": 60.0}
    progress = describe(status, NOW)
    assert progress.headline == "▶ **Running** — training"
    assert progress.fraction == 0.25
    # 60 s of training for 30 steps: 90 steps left take 3 minutes.
    assert progress.detail == "step 30/120 · epoch 1.50 · elapsed 1:10 · ETA 3:00"
    # Resumed at step 20 after 100 s: this session's 60 s made 10 steps, so 90 more take 9 minutes;
    # elapsed counts both sessions.
    resumed = {**status, "resumed": NOW - 70, "earlier_seconds": 100.0, "session_start_step": 20}
    assert describe(resumed, NOW).detail == "step 30/120 · epoch 1.50 · elapsed 2:50 · ETA 9:00"


def test_running_before_the_first_step_is_loading():
    progress = describe({"status": "running", "started": NOW - 3}, NOW)
    assert "loading the model" in progress.headline
    assert progress.fraction == 0.0 and "ETA" not in progress.detail


def test_last_step_is_the_final_evaluation():
    progress = describe({"status": "running", "step": 40, "max_steps": 40, "started": NOW - 9, "elapsed": 8}, NOW)
    assert "final evaluation" in progress.headline and progress.fraction == 1.0


def test_finished_shows_the_final_metrics():
    status = {"status": "finished", "step": 40, "max_steps": 40, "started": NOW - 100, "ended": NOW - 10,
              "metrics": {"accuracy": 0.8125, "f1_macro": 0.8, "loss": 0.41, "runtime": 3.2}}
    progress = describe(status, NOW)
    assert progress.headline == "✔ **Finished** — accuracy 0.8125, f1_macro 0.8000, loss 0.4100"
    assert "elapsed 1:30" in progress.detail  # ended - started, not now - started


def test_warnings_the_run_recorded_show_under_its_state():
    # As the training pipeline writes them (tests/train/test_training.py checks that side).
    cut = ("1 of 48 train texts (2.1 %), 9 of 24 validation texts (37.5 %) and 7 of 24 test texts "
           "(29.2 %) reach task.max_length (32 tokens) and are cut there; raise task.max_length")
    status = {"status": "running", "step": 2, "max_steps": 3, "started": NOW - 9, "elapsed": 8,
              "warnings": [f"WARNING: {cut}", "WARNING: [train] classes are imbalanced (9:1)"]}
    headline = describe(status, NOW).headline
    assert headline == f"▶ **Running** — training\n\n⚠ {cut}\n\n⚠ [train] classes are imbalanced (9:1)"
    assert describe({**status, "warnings": []}, NOW).headline == "▶ **Running** — training"


def test_a_finished_run_says_which_checkpoint_it_kept():
    # As the training pipeline writes it (tests/train/test_best_checkpoint.py checks that side).
    message = ("stopped early at step 6 of 20: f1_macro did not improve for 2 evaluations; the run's "
               "model is the checkpoint of step 2")
    status = {"status": "finished", "step": 6, "max_steps": 20, "started": NOW - 9, "ended": NOW,
              "metrics": {"accuracy": 0.5}, "best_checkpoint": {"step": 2, "message": message}}
    headline = describe(status, NOW).headline
    assert headline == "✔ **Finished** — accuracy 0.5000\n\nStopped early at step 6 of 20: f1_macro " \
                       "did not improve for 2 evaluations; the run's model is the checkpoint of step 2"


def test_aborted_says_where_it_stopped():
    progress = describe({"status": "aborted", "step": 12, "max_steps": 40, "started": NOW - 20, "ended": NOW}, NOW)
    assert progress.headline == "■ **Aborted** at step 12; its last checkpoint is kept: **Resume** goes on from it"
    assert progress.fraction == pytest.approx(0.3)
    # Aborted while it waited in the queue: no step ran, so there is no checkpoint to promise.
    cancelled = describe({"status": "aborted", "ended": NOW}, NOW)
    assert cancelled.headline == "■ **Cancelled** before it started; **Resume** starts it from step 0"


def test_failed_shows_the_error_in_words():
    error = "data path '/data/tickets.csv' does not exist; give a CSV, TSV, JSON, JSONL or Parquet file"
    progress = describe({"status": "failed", "error": error, "step": 0}, NOW)
    assert progress.headline == f"✖ **Failed** — {error}"
    assert "Traceback" not in progress.headline


def test_a_run_whose_process_died_reads_as_failed_with_a_reason(tmp_path):
    """A real run folder whose training process was killed (e.g. by the OOM killer)."""
    run = make_run(tmp_path)
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(process.pid)
    process.wait()
    run.update_status(status="running", started=time.time() - 5, step=7, max_steps=40, **identity)
    progress = describe(run.status(), time.time())
    assert progress.headline.startswith("✖ **Failed** — the training process ended without reporting")
    assert f"workbench resume {run.id}" in progress.headline
    assert "step 7/40" in progress.detail


def test_queued_names_what_it_waits_for():
    status = {"status": "queued", "queue": queue.WAITING, "slots": ["gpu:0", "gpu:1"]}
    progress = describe(status, NOW, waiting_behind=["20260101-000000-minilm-l6-full"])
    assert progress.headline == "◷ **Queued** — waiting for gpu:0, gpu:1 behind `20260101-000000-minilm-l6-full`"
    launched = describe({"status": "queued", "queue": queue.LAUNCHED}, NOW)
    assert "Starting" in launched.headline


def test_progress_html_escapes_and_sizes_the_bar():
    html = progress_html(Progress("", 0.256, "step <1>/4"))
    assert 'style="width:25.6%"' in html and 'data-fraction="0.2560"' in html
    assert "step &lt;1&gt;/4" in html


def test_default_run_prefers_an_active_run(tmp_path):
    assert default_run(tmp_path) is None
    older = make_run(tmp_path, "older")
    older.update_status(status="running")  # no pid yet: still counted as running
    time.sleep(0.01)
    newer = make_run(tmp_path, "newer")
    newer.update_status(status="finished")
    assert default_run(tmp_path) == older.id
    older.update_status(status="aborted")
    assert default_run(tmp_path) == newer.id
    assert run_choices(tmp_path) == [(f"{newer.id} (newer)", newer.id), (f"{older.id} (older)", older.id)]
