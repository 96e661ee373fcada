"""A training process started before it is needed: past its imports, waiting for a run.

Starting Python and importing torch, transformers and the Trainer takes 5-10 s on a small CPU
machine: most of the wait between clicking Start and the first point on the chart. So the app
keeps one standby process, already imported, for the device set a run usually gets (the CPU on a
machine without GPUs); a run launched on that device set is handed to it, and the app starts a
fresh standby for the next run. Runs on other devices, multi-GPU runs and the CLI use the plain
`launch()`.

    python -m workbench.train.standby <standby_dir> <app_pid>

The hand-over goes through two files in <standby_dir> (the app uses <workspace>/.standby/):

    <pid>.ready   the standby wrote it once its imports were done: it can take a run
    <pid>.job     the app wrote it (atomically): {"run": "<run dir>", "resume": false}

On a job the standby becomes an ordinary training process, indistinguishable from one that
`launch()` started: its own session (it was started in one), its output appended to the run's
train.log, its pid in the run's status.json. While idle it exits as soon as the app that started
it is gone, so app restarts leave no stray processes behind.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from workbench.runs.store import Run, process_identity
from workbench.train.launch import training_env

log = logging.getLogger("workbench.standby")
POLL_S = 0.05  # how often an idle standby looks for a job (one stat() call)
PICKUP_WAIT_S = 1.0  # how long the app waits to see the job taken before it falls back


# ---- which standby can take which run ------------------------------------------------------------

def visible_devices(devices: str) -> str | None:
    """CUDA_VISIBLE_DEVICES for a one-process run on RunConfig.devices, as `launch()` sets it
    (None: inherited). Raises ValueError for a multi-GPU run: that one needs torchrun."""
    if devices == "cpu":
        return ""
    if devices == "auto":
        return None
    gpus = [d.strip() for d in devices.split(",") if d.strip()]
    if len(gpus) > 1:
        raise ValueError("a multi-GPU run is launched with torchrun")
    return gpus[0]


def standby_env(cuda_visible: str | None) -> dict[str, str]:
    env = training_env()
    if cuda_visible is None:
        env.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        env["CUDA_VISIBLE_DEVICES"] = cuda_visible
    return env


# ---- the app's side ----------------------------------------------------------------------------------

class Standby:
    """The app's handle on its standby process for one device set."""

    def __init__(self, folder: str | Path, devices: str = "cpu", gpu_count: int = 0):
        self.dir = Path(folder)
        self.devices = devices
        self.cuda_visible = visible_devices(devices)
        # Without GPUs, "auto" runs on the CPU too (launch() leaves the variable alone: no GPU).
        self.cpu_only_machine = gpu_count == 0 and self.cuda_visible == ""
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()  # start() runs in the dispatcher thread, take() in a request

    def start(self) -> None:
        """Start a standby unless one is alive (waiting or still importing)."""
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return
            self.dir.mkdir(parents=True, exist_ok=True)
            self._clean()
            with open(self.dir / "standby.log", "ab") as out:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "workbench.train.standby", str(self.dir), str(os.getpid())],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=standby_env(self.cuda_visible), start_new_session=True, close_fds=True)

    def _clean(self) -> None:
        """Files left by standbys that were killed (they remove their own otherwise)."""
        for path in [*self.dir.glob("*.ready"), *self.dir.glob("*.job")]:
            if path.stem.isdigit() and not psutil.pid_exists(int(path.stem)):
                path.unlink(missing_ok=True)

    def slots(self, gpu_count: int) -> list[str]:
        """The queue's device slots of the runs this standby takes."""
        from workbench.runs.queue import slots_for

        return slots_for(self.devices, gpu_count)

    def alive(self) -> bool:
        """A standby is running (importing, or waiting for a run)."""
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        return (self.process is not None and self.process.poll() is None
                and (self.dir / f"{self.process.pid}.ready").is_file())

    def serves(self, run: Run) -> bool:
        try:
            devices = run.config().devices
            return visible_devices(devices) == self.cuda_visible or \
                (self.cpu_only_machine and devices == "auto")
        except Exception:  # multi-GPU, or a config launch() will report on
            return False

    def take(self, run: Run, resume: bool = False) -> int | None:
        """Hand the run to the standby; its pid, or None when the standby cannot take it (then
        the caller launches the run as usual)."""
        with self.lock:
            if not self.ready() or not self.serves(run):
                return None
            process, self.process = self.process, None  # this one is spent, whatever happens next
        job = self.dir / f"{process.pid}.job"
        run.abort_path.unlink(missing_ok=True)
        # Record the pid first, as launch() does: a standby that dies before it writes its own
        # status still leaves a run that reads as failed, not one that waits forever. (Before the
        # job file: once the standby has the job, only it writes the status.)
        run.update_status(**process_identity(process.pid))
        tmp = job.with_suffix(".tmp")
        tmp.write_text(json.dumps({"run": str(run.dir.resolve()), "resume": resume}))
        tmp.replace(job)
        deadline = time.monotonic() + PICKUP_WAIT_S
        while job.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if job.exists() and process.poll() is not None:  # it died before taking the job
            job.unlink(missing_ok=True)
            return None
        return process.pid

    def stop(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self.process = None


# ---- the standby's side ------------------------------------------------------------------------------

def _leave_with_the_app(app_pid: int, importing: threading.Lock, imported: threading.Event) -> None:
    """While the imports run: exit as soon as the app is gone, since nobody would hand this
    standby a run any more. Once they are done the waiting loop watches the app itself (and
    removes its ready file on the way out). The lock makes "the app is gone, exit" and "write
    the ready file" exclusive, so no ready file outlives its standby."""
    def watch():
        while True:
            with importing:
                if imported.is_set():
                    return
                if not psutil.pid_exists(app_pid):
                    os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True, name="app-watch").start()


def _wait_for_job(folder: Path, app_pid: int) -> dict | None:
    me = os.getpid()
    ready, job = folder / f"{me}.ready", folder / f"{me}.job"
    importing, imported = threading.Lock(), threading.Event()
    _leave_with_the_app(app_pid, importing, imported)
    try:
        # The imports are the point of a standby; the training process makes the same ones.
        import workbench.train.pipeline  # noqa: F401
        from workbench.train import main  # noqa: F401

        with importing:
            imported.set()
            ready.write_text(str(me))
        while not job.exists():
            if not psutil.pid_exists(app_pid):
                return None
            time.sleep(POLL_S)
        return json.loads(job.read_text())
    finally:
        ready.unlink(missing_ok=True)
        job.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.train.standby")
    parser.add_argument("folder", help="the folder of the hand-over files")
    parser.add_argument("app_pid", type=int, help="exit when this process is gone (while idle)")
    args = parser.parse_args(argv)
    task = _wait_for_job(Path(args.folder), args.app_pid)
    if task is None:
        return 0
    run = Run(Path(task["run"]))
    # From here on this is the run's training process: its output goes to the run's log.
    sys.stdout.flush(), sys.stderr.flush()
    fd = os.open(run.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    from workbench.errors import WorkbenchError
    from workbench.train.main import execute

    try:
        status = execute(run, resume=bool(task.get("resume")))
    except WorkbenchError as err:  # a run that must not train (finished meanwhile): left as it was
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0 if status["status"] in ("finished", "aborted") else 1


if __name__ == "__main__":
    sys.exit(main())
