"""The runs table (workbench/ui/runs_tab.py) read from real run folders."""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

from workbench.config import RunConfig
from workbench.runs.store import create_run
from workbench.ui.runs_tab import COLUMNS, run_row, runs_table

DATA = Path(__file__).parent / "data"


def make_run(runs_dir, method="full", name=None, metrics: str | None = None):
    cfg = RunConfig.from_dict({"runs_dir": str(runs_dir), "name": name, "method": {"type": method},
                               "data": {"path": "sst2"}})
    run = create_run(cfg)
    if metrics:
        shutil.copy(DATA / metrics, run.metrics_path)
    return run


def test_finished_run_row(tmp_path):
    run = make_run(tmp_path, name="baseline", metrics="sst2_full_metrics.jsonl")
    started = datetime(2026, 11, 24, 13, 30, 0).timestamp()
    run.update_status(status="finished", started=started, ended=started + 395.5)
    row = run_row(run)
    assert row == {"run": run.id, "name": "baseline", "status": "finished", "model": "minilm-l6",
                   "task": "classification", "method": "full",
                   "best metric": "accuracy 0.8234",  # the best evaluation (step 189), not the last
                   "duration": "6:36", "started": "2026-11-24 13:30:00", "disk": "0 MB"}


def test_running_run_counts_its_duration_until_now(tmp_path):
    run = make_run(tmp_path, method="lora", metrics="sst2_lora_metrics.jsonl")
    run.update_status(status="running", started=1000.0)
    row = run_row(run, now=1065.0)
    assert row["status"] == "running" and row["duration"] == "1:05"
    assert row["best metric"] == "accuracy 0.6406"


def test_queued_run_has_no_duration_and_shows_when_it_was_created(tmp_path):
    run = make_run(tmp_path)
    row = run_row(run)
    assert row["status"] == "queued" and row["duration"] == "" and row["best metric"] == ""
    assert row["started"] == datetime.fromtimestamp(run.raw_status()["created"]).strftime("%Y-%m-%d %H:%M:%S")


def test_run_without_evaluations_shows_its_final_accuracy(tmp_path):
    run = make_run(tmp_path)
    run.update_status(status="finished", started=10.0, ended=20.0, metrics={"accuracy": 0.5})
    assert run_row(run)["best metric"] == "accuracy 0.5000"


def test_runs_table_lists_every_run_newest_first(tmp_path):
    assert list(runs_table(tmp_path).columns) == COLUMNS and runs_table(tmp_path).empty
    first = make_run(tmp_path, name="first")
    time.sleep(0.01)
    second = make_run(tmp_path, method="freeze", name="second")
    table = runs_table(tmp_path)
    assert list(table["run"]) == [second.id, first.id]
    assert list(table["method"]) == ["freeze", "full"]
