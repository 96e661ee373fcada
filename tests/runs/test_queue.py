"""The device queue (workbench/runs/queue.py) on real run folders and real processes.

A busy device is what the queue itself sees: a run folder whose status.json says running, with
the pid of a live process. Most tests launch runs with `sleeping_launcher`, which does what the
real launcher does to the run folder (start a detached process, record its pid) but starts
`sleep` instead of a training process, so a test takes milliseconds; the last test uses the real
launcher and checks the training process it starts.
"""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from workbench.config import RunConfig
from workbench.runs import queue
from workbench.runs.store import Run, create_run, get_run, process_identity

processes: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def stop_processes():
    yield
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    processes.clear()


def sleeper() -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    processes.append(process)
    return process


def sleeping_launcher(run: Run, resume: bool = False) -> int:
    process = sleeper()
    run.update_status(**process_identity(process.pid))
    return process.pid


@pytest.fixture
def launched(monkeypatch):
    """Run ids in the order the queue launched them."""
    order: list[str] = []

    def launch(run: Run, resume: bool = False) -> int:
        order.append(run.id)
        return sleeping_launcher(run, resume)

    monkeypatch.setattr(queue, "launch", launch)
    return order


def make_run(runs_dir, devices: str, name: str) -> Run:
    cfg = RunConfig.from_dict({"runs_dir": str(runs_dir), "devices": devices, "name": name,
                               "data": {"path": "tickets.csv"}})
    return create_run(cfg)


def occupy(runs_dir, devices: str, name: str = "busy") -> tuple[Run, subprocess.Popen]:
    """A run that trains on `devices` right now (started outside the queue, as the CLI does)."""
    run = make_run(runs_dir, devices, name)
    process = sleeper()
    run.update_status(status="running", started=time.time(), **process_identity(process.pid))
    return run, process


def finish(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


def state(run: Run) -> tuple[str, str | None]:
    status = run.status()
    return status["status"], status.get("queue")


# ---- slots -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("devices, gpus, slots", [
    ("cpu", 2, ["cpu"]), ("auto", 0, ["cpu"]), ("auto", 2, ["gpu:0", "gpu:1"]), ("1", 2, ["gpu:1"]),
    ("0,2", 4, ["gpu:0", "gpu:2"])])
def test_slots_for(devices, gpus, slots):
    assert queue.slots_for(devices, gpus) == slots


def test_parse_nvidia_smi():
    text = "0, NVIDIA H100 80GB HBM3, 80500, 81559\n1, NVIDIA H100 80GB HBM3, 1024, 81559\nbad line\n"
    gpus = queue.parse_nvidia_smi(text)
    assert [g.index for g in gpus] == ["0", "1"]
    assert gpus[1].free_mib == 1024
    assert gpus[0].label == "GPU 0 · NVIDIA H100 80GB HBM3 · 78.6 of 80 GiB free"
    assert queue.parse_nvidia_smi("") == []


# ---- submit and dispatch ---------------------------------------------------------------------------

def test_free_device_starts_at_once(tmp_path, launched):
    run = make_run(tmp_path, "cpu", "first")
    assert queue.submit(run, gpu_count=0) == "started"
    assert launched == [run.id]
    status = run.status()
    assert status["queue"] == queue.LAUNCHED and status["slots"] == ["cpu"]
    assert psutil.pid_exists(status["pid"])


def test_run_waits_for_its_busy_gpu_and_starts_when_it_frees(tmp_path, launched):
    holder, process = occupy(tmp_path, "0")
    waiting = make_run(tmp_path, "0", "waits")
    assert queue.submit(waiting, gpu_count=2) == queue.WAITING
    assert state(waiting) == ("queued", queue.WAITING)
    assert queue.waiting_for(waiting, waiting.status(), tmp_path, 2) == [holder.id]

    # Another GPU is free: a run for it does not wait behind the first.
    other = make_run(tmp_path, "1", "other gpu")
    assert queue.submit(other, gpu_count=2) == "started"

    assert queue.dispatch(tmp_path, 2) == []  # still busy
    assert launched == [other.id]
    finish(process)  # the holder's process ends; its folder says running, but it is gone
    assert queue.dispatch(tmp_path, 2) == [waiting.id]
    assert launched == [other.id, waiting.id]
    assert state(waiting) == ("queued", queue.LAUNCHED)
    assert holder.status()["status"] == "failed"  # a dead process behind "running" is a failure


def test_a_failed_run_resubmitted_to_resume_starts_with_the_resume_flag(tmp_path, monkeypatch):
    calls = []

    def launch(run: Run, resume: bool = False) -> int:
        calls.append((run.id, resume))
        return sleeping_launcher(run, resume)

    monkeypatch.setattr(queue, "launch", launch)
    killed, process = occupy(tmp_path, "cpu", "killed")
    finish(process)
    assert killed.status()["status"] == "failed"
    # Its old pid must not count as a process still starting on the CPU, or it would wait for itself.
    assert queue.submit(killed, gpu_count=0, resume=True) == "started"
    assert calls == [(killed.id, True)]
    status = killed.status()
    assert status["status"] == "queued" and status["queue"] == queue.LAUNCHED and status["error"] is None
    assert psutil.pid_exists(status["pid"]) and status["pid"] != process.pid


def test_waiting_runs_start_first_come_first_served(tmp_path, launched):
    holder, process = occupy(tmp_path, "cpu")
    first, second = make_run(tmp_path, "cpu", "first"), make_run(tmp_path, "cpu", "second")
    # Submitted in the opposite order of creation: submission time decides.
    assert queue.submit(second, gpu_count=0) == queue.WAITING
    assert queue.submit(first, gpu_count=0) == queue.WAITING
    finish(process)
    assert queue.dispatch(tmp_path, 0) == [second.id]  # one device: one run at a time
    assert state(first) == ("queued", queue.WAITING)
    assert queue.waiting_for(first, first.status(), tmp_path, 0) == [second.id]

    # The started run's process is still starting (status queued, with a pid): it holds the CPU.
    assert queue.dispatch(tmp_path, 0) == []
    second.update_status(status="finished", ended=time.time())
    assert queue.dispatch(tmp_path, 0) == [first.id]
    assert launched == [second.id, first.id]


def test_a_waiting_run_reserves_its_devices(tmp_path, launched):
    """A multi-GPU run waiting for GPU 0 keeps GPU 1 for itself: a later run for GPU 1 waits."""
    _, process = occupy(tmp_path, "0")
    multi = make_run(tmp_path, "0,1", "two gpus")
    later = make_run(tmp_path, "1", "later")
    assert queue.submit(multi, gpu_count=2) == queue.WAITING
    assert queue.submit(later, gpu_count=2) == queue.WAITING
    assert queue.waiting_for(later, later.status(), tmp_path, 2) == [multi.id]
    finish(process)
    assert queue.dispatch(tmp_path, 2) == [multi.id]
    assert queue.dispatch(tmp_path, 2) == []
    assert launched == [multi.id]


def test_auto_devices_occupy_every_gpu(tmp_path, launched):
    _, process = occupy(tmp_path, "1")
    auto = make_run(tmp_path, "auto", "all gpus")
    assert queue.submit(auto, gpu_count=2) == queue.WAITING
    assert auto.status()["slots"] == ["gpu:0", "gpu:1"]
    finish(process)
    assert queue.dispatch(tmp_path, 2) == [auto.id]


def test_queue_state_lives_in_the_run_folders(tmp_path, launched):
    """An app restart loses nothing: a fresh dispatch finds the waiting run from its status.json."""
    _, process = occupy(tmp_path, "cpu")
    run = make_run(tmp_path, "cpu", "survives a restart")
    queue.submit(run, gpu_count=0)
    finish(process)
    reread = get_run(tmp_path, run.id)  # nothing carried over in memory
    assert reread.status()["queue"] == queue.WAITING
    assert queue.dispatch(str(tmp_path), 0) == [run.id]


def test_runs_not_submitted_to_the_queue_are_never_launched_by_it(tmp_path, launched):
    cli_run = make_run(tmp_path, "cpu", "cli")  # created, not submitted (no `queue` field)
    assert queue.dispatch(tmp_path, 0) == []
    assert launched == []
    assert state(cli_run) == ("queued", None)


def test_an_aborted_waiting_run_never_starts(tmp_path, launched):
    _, process = occupy(tmp_path, "cpu")
    run = make_run(tmp_path, "cpu", "changed my mind")
    queue.submit(run, gpu_count=0)
    run.request_abort()
    assert run.status()["status"] == "aborted"
    finish(process)
    assert queue.dispatch(tmp_path, 0) == []
    assert launched == []


def test_a_launch_that_fails_marks_the_run_failed(tmp_path, monkeypatch):
    def broken_launch(run, resume=False):
        raise FileNotFoundError(2, "No such file or directory", "python")

    monkeypatch.setattr(queue, "launch", broken_launch)
    run = make_run(tmp_path, "cpu", "no python")
    queue.submit(run, gpu_count=0)
    status = run.status()
    assert status["status"] == "failed"
    assert status["error"].startswith("the training process could not be started")


def test_dispatch_starts_the_real_training_process(tmp_path):
    """The real launcher: the queued run gets a detached training process of its own."""
    _, process = occupy(tmp_path, "cpu")
    run = make_run(tmp_path, "cpu", "real")
    assert queue.submit(run, gpu_count=0) == queue.WAITING
    finish(process)
    assert queue.dispatch(tmp_path, 0) == [run.id]
    pid = run.raw_status()["pid"]
    try:
        child = psutil.Process(pid)
        command = " ".join(child.cmdline())
        assert "workbench.train.main" in command and str(run.dir) in command
        assert child.pid != psutil.Process().pid and child.ppid() == psutil.Process().pid
        assert run.log_path.is_file()  # its output goes to the run's log, not to a pipe
    finally:
        try:
            psutil.Process(pid).kill()
            psutil.Process(pid).wait(10)
        except psutil.Error:
            pass
