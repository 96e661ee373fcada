"""The app in a real browser: configure a tiny run on the demo data, start it, watch it, abort it;
restart the app mid-run and find the run still drawing; a broken dataset's pre-flight message.

Real app process, real Chromium, real training processes of the bundled MiniLM on the CPU.
Screenshots of each state go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest
from conftest import screenshot
from driver import (TINY_RUN, TINY_RUN_ADVANCED, configure_run, monitor_status, open_app, set_field, start_run,
                    trace_x, wait_for_points)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def stop_leftover_runs(tmp_path):
    """Training processes outlive the app by design; a failed test must not leave one behind."""
    yield
    for status_file in (tmp_path / "runs").glob("*/status.json"):
        pid = json.loads(status_file.read_text()).get("pid")
        if pid and psutil.pid_exists(pid):
            try:
                process = psutil.Process(pid)
                if "workbench.train.main" in " ".join(process.cmdline()):
                    process.kill()
            except psutil.Error:
                pass


def run_status(workspace: Path, run_id: str) -> dict:
    return json.loads((workspace / "runs" / run_id / "status.json").read_text())


def wait_for_status(page, words: str, timeout: float = 90) -> None:
    expect(page.locator("#monitor-status")).to_contain_text(words, timeout=timeout * 1000)


def test_configure_start_watch_and_abort(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    configure_run(page, TINY_RUN, TINY_RUN_ADVANCED)

    page.locator("#train-preview").click()
    expect(page.locator("#train-yaml")).to_contain_text("max_steps: 40")
    expect(page.locator("#train-command")).to_contain_text("workbench train")
    expect(page.locator("#train-command")).to_contain_text("--max-steps 40")
    screenshot(page, "01_train_configured")

    run_id = start_run(page)
    # Start switches to the Monitor tab, showing the new run.
    expect(page.locator("#monitor-status")).to_be_visible()
    expect(page.locator("#monitor-run input")).to_have_value(run_id)
    first = wait_for_points(page, 2, timeout=90)
    more = wait_for_points(page, len(first) + 3, timeout=60)
    assert more[:len(first)] == first and more[-1] > first[-1], "the loss chart gains later steps"
    assert "Running" in monitor_status(page)
    expect(page.locator("#monitor-progress")).to_contain_text(f"/{TINY_RUN['max_steps']}")
    screenshot(page, "02_monitor_running")

    page.locator("#monitor-abort").click()
    wait_for_status(page, "Aborted", timeout=60)
    status = run_status(tmp_path, run_id)
    assert status["status"] == "aborted"
    assert 0 < status["step"] < TINY_RUN["max_steps"]
    screenshot(page, "03_monitor_aborted")


def test_restart_app_mid_run_reattaches(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    configure_run(page, {**TINY_RUN, "max_steps": 400}, TINY_RUN_ADVANCED)
    run_id = start_run(page)
    before = wait_for_points(page, 3, timeout=90)
    screenshot(page, "04_before_restart")

    # Close the page and stop the app: the training process must not notice.
    page.goto("about:blank")
    server.stop()
    pid = run_status(tmp_path, run_id)["pid"]
    step_at_stop = run_status(tmp_path, run_id).get("step", 0)
    assert psutil.pid_exists(pid), "stopping the app stopped the training process"

    restarted = app_server(tmp_path)
    page.goto(restarted.url)
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("#monitor-run input")).to_have_value(run_id, timeout=30_000)
    wait_for_status(page, "Running", timeout=30)
    reattached = wait_for_points(page, len(before) + 1, timeout=60)
    later = wait_for_points(page, len(reattached) + 3, timeout=60)
    assert later[-1] > max(reattached[-1], step_at_stop), "the chart keeps updating after the restart"
    screenshot(page, "05_reattached_after_restart")

    page.locator("#monitor-abort").click()
    wait_for_status(page, "Aborted", timeout=60)

    # The Runs tab lists it; its curves and config open on a click; deleting asks first.
    page.get_by_role("tab", name="Runs").click()
    table = page.locator("#runs-table")
    expect(table).to_contain_text(run_id, timeout=10_000)
    expect(table).to_contain_text("aborted")
    table.get_by_test_id("cell-0-0").click()  # the first row: the only run
    expect(page.locator("#runs-selected")).to_contain_text(run_id)
    assert len(trace_x(page, "runs-loss", "train loss")) >= len(later)
    screenshot(page, "06_runs_tab_selected")
    page.locator("#runs-delete").click()
    expect(page.locator("#runs-confirm-text")).to_contain_text("cannot be undone")
    page.locator("#runs-confirm-delete").click()
    expect(page.locator("#runs-selected")).to_contain_text("Deleted")
    expect(table).not_to_contain_text(run_id)
    assert not (tmp_path / "runs" / run_id).exists()


def test_broken_dataset_shows_preflight_message(app_server, page, tmp_path):
    broken = tmp_path / "tickets.csv"
    # Line 3 has no text, line 5 no label, and 'refund' has a single row.
    broken.write_text("text,label\n"
                      "my card was charged twice,billing\n"
                      ",billing\n"
                      "the parcel never came,delivery\n"
                      "the app crashes on start,\n"
                      "the box arrived crushed,delivery\n"
                      "please refund my order,refund\n"
                      "invoice shows the wrong name,billing\n")
    server = app_server(tmp_path)
    open_app(page, server.url)
    page.get_by_label("Local path").check()
    expect(page.locator("#train-data_path").locator("input, textarea").first).to_have_value("")
    set_field(page, "data_path", broken)
    preflight = page.locator("#train-preflight")
    expect(preflight).to_contain_text("Pre-flight check failed", timeout=30_000)
    expect(preflight).to_contain_text("line 3")
    expect(preflight).to_contain_text("line 5")
    expect(preflight).to_contain_text("refund")
    screenshot(page, "07_broken_dataset_preflight")

    page.locator("#train-start").click()
    expect(page.locator("#train-run-status")).to_contain_text("check failed", timeout=30_000)
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_dir()], "a run was created from bad data"
