"""The standby training process (workbench/train/standby.py): real processes, a real tiny run."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from workbench.config import RunConfig
from workbench.runs.store import create_run
from workbench.train.standby import Standby, visible_devices
from workbench.ui.workspace import DEMO_DATA


@pytest.mark.parametrize("devices, visible", [("cpu", ""), ("auto", None), ("1", "1"), (" 0 ", "0")])
def test_visible_devices(devices, visible):
    assert visible_devices(devices) == visible


def test_multi_gpu_runs_are_not_for_a_standby():
    with pytest.raises(ValueError, match="torchrun"):
        visible_devices("0,1")


def tiny_run(runs_dir, devices="cpu"):
    return create_run(RunConfig.from_dict({
        "data": {"path": str(DEMO_DATA)}, "task": {"max_length": 32}, "devices": devices,
        "train": {"max_steps": 2, "batch_size": 8, "logging_steps": 1, "eval_steps": 100, "save_steps": 100},
        "runs_dir": str(runs_dir)}).resolve())


def wait_until(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@pytest.mark.slow
def test_standby_takes_a_run_and_trains_it_like_a_launched_process(tmp_path):
    standby = Standby(tmp_path / ".standby", "cpu", gpu_count=0)
    standby.start()
    try:
        wait_until(standby.ready, 120, "the standby's imports")
        pid = standby.process.pid
        assert standby.take(tiny_run(tmp_path, devices="0")) is None  # not its device: launch it as usual
        assert standby.ready()

        run = tiny_run(tmp_path)
        assert standby.take(run) == pid
        assert not standby.alive()  # spent: the app starts another one
        assert run.raw_status()["pid"] == pid
        # Its own session: stopping the app (and its process group) leaves the run alone.
        assert os.getsid(pid) == pid
        wait_until(lambda: run.status()["status"] not in ("queued", "running"), 180, "the run's end")
        status = run.status()
        assert status["status"] == "finished", status.get("error")
        assert status["pid"] == pid
        assert [m["step"] for m in run.metrics() if "loss" in m] == [1, 2]
        assert (run.model_dir / "config.json").is_file()
        log = run.log_path.read_text()
        assert "step 2/2" in log  # the training output went to the run's log
        assert not list((tmp_path / ".standby").glob(f"{pid}.*"))  # hand-over files cleaned up
    finally:
        standby.stop()


@pytest.mark.slow
@pytest.mark.parametrize("when", ["importing", "idle"])
def test_a_standby_leaves_with_its_app(tmp_path, when):
    folder = tmp_path / ".standby"
    folder.mkdir()
    app = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    standby = subprocess.Popen([sys.executable, "-m", "workbench.train.standby", str(folder), str(app.pid)])
    try:
        if when == "idle":
            wait_until(lambda: (folder / f"{standby.pid}.ready").is_file(), 120, "the standby's imports")
        else:
            time.sleep(0.5)  # torch is still importing
        app.kill()
        app.wait()
        assert standby.wait(timeout=5) == 0
        assert not (folder / f"{standby.pid}.ready").exists()
    finally:
        for process in (app, standby):
            if process.poll() is None:
                process.kill()
                process.wait()
