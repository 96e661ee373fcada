"""The device queue: one training per device; a run asked for while its device is busy waits.

Devices are slots: "cpu" (the whole CPU counts as one) and "gpu:<i>". A run occupies the slots
its config names (devices "auto" means every GPU, or the CPU when there is none). Two trainings
on one device would only slow each other down and risk running out of memory, so:

  submit(run)      launches the run now if its slots are free, else marks it waiting;
  dispatch(dir)    launches every waiting run whose slots have freed, oldest first.

All queue state lives in each run's status.json (`queue`: "waiting" | "launched", `slots`), so a
restarted app finds the waiting runs again. A file lock on <runs_dir>/.queue.lock makes submit
and dispatch safe when two app processes share a workspace. Runs the queue did not submit (the
CLI's `workbench train`) are never launched by it, but their slots count as busy.

The app may give the queue a standby training process (workbench.train.standby: Python, torch
and transformers already imported); a run it can take starts several seconds sooner.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.runs.store import ACTIVE, Run, exclusive_lock, list_runs
from workbench.train.launch import gpu_indices, launch

log = logging.getLogger("workbench.queue")
WAITING, LAUNCHED = "waiting", "launched"
# The app's pre-imported training process (workbench.train.standby), if it keeps one.
_standby = None


def use_standby(standby) -> None:
    """Hand launched runs to this Standby when it can take them (None: always launch afresh)."""
    global _standby
    _standby = standby


@dataclass(frozen=True)
class Gpu:
    index: str
    name: str
    free_mib: int
    total_mib: int

    @property
    def label(self) -> str:
        return f"GPU {self.index} · {self.name} · {self.free_mib / 1024:.1f} of {self.total_mib / 1024:.0f} GiB free"


def list_gpus() -> list[Gpu]:
    """The machine's NVIDIA GPUs with their free memory, read through nvidia-smi.

    nvidia-smi rather than torch.cuda: creating a CUDA context in the app process would itself
    take memory on every GPU.
    """
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.free,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(text: str) -> list[Gpu]:
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and parts[0].isdigit():
            try:
                gpus.append(Gpu(parts[0], parts[1], int(float(parts[2])), int(float(parts[3]))))
            except ValueError:
                continue
    return gpus


def slots_for(devices: str, gpu_count: int) -> list[str]:
    """The device slots a run with this RunConfig.devices occupies."""
    if devices == "cpu" or (devices == "auto" and gpu_count == 0):
        return ["cpu"]
    if devices == "auto":
        return [f"gpu:{i}" for i in range(gpu_count)]
    return [f"gpu:{i}" for i in gpu_indices(devices)]


def run_slots(run: Run, status: dict, gpu_count: int) -> set[str]:
    if status.get("slots"):
        return set(status["slots"])
    try:
        return set(slots_for(run.config().devices, gpu_count))
    except Exception:  # an unreadable config: it cannot be running on anything we know
        return set()


def busy_slots(runs: list[tuple[Run, dict]], gpu_count: int) -> set[str]:
    """Slots held by runs whose process is alive: running, or launched and still starting."""
    busy: set[str] = set()
    for run, status in runs:
        if status["status"] == "running" or (status["status"] == "queued" and status.get("pid")):
            busy |= run_slots(run, status, gpu_count)
    return busy


def busy_now(runs_dir: str | Path, gpu_count: int) -> set[str]:
    """The slots that runs in this folder hold right now."""
    return busy_slots([(run, run.status()) for run in list_runs(runs_dir)], gpu_count)


def _queue_lock(runs_dir: Path):
    runs_dir.mkdir(parents=True, exist_ok=True)
    return exclusive_lock(runs_dir / ".queue.lock")


def submit(run: Run, gpu_count: int | None = None, resume: bool = False) -> str:
    """Queue a freshly created run, or an aborted or failed one to resume from its last
    checkpoint; it starts at once when its devices are free.

    Returns "started" or "waiting".
    """
    gpu_count = len(list_gpus()) if gpu_count is None else gpu_count
    slots = slots_for(run.config().devices, gpu_count)
    # A resumed run forgets its old process and error: it is waiting again, like a new one.
    run.update_status(status="queued", queue=WAITING, slots=slots, submitted=time.time(), resume=resume,
                      error=None, ended=None, pid=None, pid_created=None)
    started = dispatch(run.dir.parent, gpu_count)
    return "started" if run.id in started else WAITING


def dispatch(runs_dir: str | Path, gpu_count: int | None = None) -> list[str]:
    """Launch the waiting runs whose devices are free, oldest first; returns their ids.

    First come, first served per device: a waiting run reserves its slots, so a later run that
    needs one of them waits behind it even if it would fit now.
    """
    runs_dir = Path(runs_dir)
    with _queue_lock(runs_dir):
        runs = [(run, run.status()) for run in list_runs(runs_dir)]
        waiting = [(r, s) for r, s in runs if s["status"] == "queued" and s.get("queue") == WAITING]
        if not waiting:
            return []
        gpu_count = len(list_gpus()) if gpu_count is None else gpu_count
        taken = busy_slots(runs, gpu_count)
        started = []
        for run, status in sorted(waiting, key=lambda rs: rs[1].get("submitted", 0)):
            slots = run_slots(run, status, gpu_count)
            if slots & taken:
                taken |= slots
                continue
            taken |= slots
            _start(run, bool(status.get("resume")))
            started.append(run.id)
        return started


def _start(run: Run, resume: bool = False) -> None:
    run.update_status(queue=LAUNCHED, launched=time.time())
    try:
        if _standby is None or _standby.take(run, resume) is None:
            launch(run, resume)
    except OSError as err:
        run.update_status(status="failed", ended=time.time(),
                          error=f"the training process could not be started: {err}")
        log.error("run %s: launch failed: %s", run.id, err)
    except WorkbenchError as err:  # it may not train any more (aborted since the queue looked): skip it
        log.warning("run %s: not started: %s", run.id, err)


def waiting_for(run: Run, status: dict, runs_dir: str | Path, gpu_count: int) -> list[str]:
    """Ids of the runs holding the devices a waiting run needs (to say what it waits for)."""
    slots = run_slots(run, status, gpu_count)
    holders = []
    for other in list_runs(runs_dir):
        if other.id == run.id:
            continue
        other_status = other.status()
        if other_status["status"] in ACTIVE and (other_status["status"] == "running" or other_status.get("pid")
                                                 or (other_status.get("queue") == WAITING and
                                                     other_status.get("submitted", 0) < status.get("submitted", 0))):
            if run_slots(other, other_status, gpu_count) & slots:
                holders.append(other.id)
    return holders
