"""Several GPUs train under torchrun, one process each (train/launch.py). CI has no GPU, so the same
command runs here as two CPU processes that exchange gradients over gloo instead of NCCL: what is
tested is what holds whatever the device. One process writes the run folder, every process stops
at the same step on abort, and resume continues under torchrun."""

from __future__ import annotations

import json
import time

import pytest
import torch

from workbench.predict import predict_texts
from workbench.runs.store import create_run
from workbench.train import launch as launch_module
from workbench.train.launch import launch, run_attached, training_command

from test_training import abort_at_step, checkpoint_step_of_abort, tiny_config


@pytest.fixture
def two_gpus(monkeypatch):
    """The machine as launch.py sees it: two GPUs, so devices "auto" trains under torchrun. The
    processes then find no CUDA and exchange gradients over gloo on the CPU."""
    if torch.cuda.is_available():
        pytest.skip("on a GPU machine this would put two NCCL processes on whatever GPUs it has")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(launch_module, "available_gpus", lambda: ["0", "1"])


def wait_for_end(run, timeout: float):
    deadline = time.time() + timeout
    while time.time() < deadline and run.status()["status"] in ("queued", "running"):
        time.sleep(0.2)
    return run.status()


def logged_steps(run) -> list[int]:
    return [m["step"] for m in run.metrics() if "loss" in m]


def test_two_processes_write_one_run_folder(two_gpus, datasets_dir, tmp_path, capfd):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=4, save_steps=2))
    assert "--nproc_per_node=2" in training_command(run)
    status = run_attached(run)  # `workbench train` in the foreground
    assert status["status"] == "finished", status.get("error")
    # 48 rows in batches of 8 on each of two processes: 16 rows a step, so 4 steps are 1.33 epochs.
    assert status["step"] == 4 and abs(status["epoch"] - 4 / 3) < 0.01
    # One story in the log and the metrics, not one per process.
    log = run.log_path.read_text()
    assert log.count("step 1/4 ") == 1 and log.count("finished: ") == 1 and "[rank 1]" not in log
    assert logged_steps(run) == [1, 2, 3, 4]
    assert "finished: " in capfd.readouterr().err  # the foreground run's log reached the terminal
    # The predictions both processes computed together line up with their rows: the saved model,
    # loaded in this one process, labels the same texts the same way.
    predictions = [json.loads(line) for line in run.predictions_path.read_text().splitlines()]
    assert len(predictions) == 24
    again = predict_texts(run, [p["text"] for p in predictions])
    assert [a["predicted"] for a in again] == [p["predicted"] for p in predictions]
    for a, p in zip(again, predictions):
        assert all(abs(a["probabilities"][name] - p["probabilities"][name]) < 1e-4 for name in p["probabilities"])


def test_abort_stops_both_processes_at_one_step_and_resume_finishes_under_torchrun(two_gpus, datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=30))
    launch(run)  # detached, as the app does
    # A process that stopped alone would leave the other waiting for ever: the run would not end.
    status = abort_at_step(run, 3, timeout=240)
    stopped_at = checkpoint_step_of_abort(run, status, 30)
    assert status["step"] == stopped_at  # both processes stopped at that step

    launch(run, resume=True)
    resumed = wait_for_end(run, 180)
    assert resumed["status"] == "finished", resumed.get("error")
    assert resumed["step"] == 30
    steps = logged_steps(run)
    assert steps[steps.index(stopped_at) + 1] == stopped_at + 1  # continued, did not restart
