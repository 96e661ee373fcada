"""Several GPUs train under torchrun, one process each (train/launch.py). CI has no GPU, so the same
command runs here as two CPU processes that exchange gradients over gloo instead of NCCL: what is
tested is what holds whatever the device. One process writes the run folder, every process stops
at the same step on abort, and resume continues under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from workbench.predict import predict_texts
from workbench.runs.store import create_run

from test_training import tiny_config


def torchrun(run, resume: bool = False) -> subprocess.Popen:
    """The command training_command builds for two GPUs, on two CPU processes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "workbench.train.main", str(run.dir)] + (["--resume"] if resume else [])
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen, timeout: float = 300) -> None:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode()[-2000:]


def logged_steps(run) -> list[int]:
    return [m["step"] for m in run.metrics() if "loss" in m]


def test_two_processes_write_one_run_folder(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=4, save_steps=2))
    finish(torchrun(run))
    status = run.status()
    assert status["status"] == "finished", status.get("error")
    # 48 rows in batches of 8 on each of two processes: 16 rows a step, so 4 steps are 1.33 epochs.
    assert status["step"] == 4 and abs(status["epoch"] - 4 / 3) < 0.01
    # One story in the log and the metrics, not one per process.
    log = run.log_path.read_text()
    assert log.count("step 1/4 ") == 1 and log.count("finished: ") == 1 and "[rank 1]" not in log
    assert logged_steps(run) == [1, 2, 3, 4]
    # The predictions both processes computed together line up with their rows: the saved model,
    # loaded in this one process, labels the same texts the same way.
    predictions = [json.loads(line) for line in run.predictions_path.read_text().splitlines()]
    assert len(predictions) == 24
    again = predict_texts(run, [p["text"] for p in predictions])
    assert [a["predicted"] for a in again] == [p["predicted"] for p in predictions]
    for a, p in zip(again, predictions):
        assert all(abs(a["probabilities"][name] - p["probabilities"][name]) < 1e-4 for name in p["probabilities"])


def test_abort_stops_both_processes_at_one_step_and_resume_finishes_under_torchrun(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=30))
    process = torchrun(run)
    deadline = time.time() + 180
    while time.time() < deadline and (run.raw_status().get("step") or 0) < 3:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.2)
    run.request_abort()
    finish(process, timeout=120)  # a process that stopped alone would leave the other waiting: a timeout
    status = run.status()
    assert status["status"] == "aborted", status
    checkpoint = run.last_checkpoint()
    assert checkpoint is not None and (checkpoint / "model.safetensors").is_file()
    stopped_at = int(checkpoint.name.split("-")[1])
    assert 3 <= stopped_at < 30 and status["step"] == stopped_at

    finish(torchrun(run, resume=True))
    resumed = run.status()
    assert resumed["status"] == "finished", resumed.get("error")
    assert resumed["step"] == 30
    steps = logged_steps(run)
    assert steps[steps.index(stopped_at) + 1] == stopped_at + 1  # continued, did not restart


@pytest.fixture(autouse=True)
def _no_gpu_needed():
    """The test runs the CPU's gloo backend; it says nothing about NCCL, which needs GPUs."""
    import torch.distributed

    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
