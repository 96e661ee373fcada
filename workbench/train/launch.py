"""Start the training process for a run folder, detached from whoever asked.

The child gets its own session (closing the terminal or restarting the app does not stop it)
and writes to the run's log file, never to a pipe nobody reads. Several GPUs mean torchrun.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from workbench.errors import ConfigError
from workbench.runs.store import Run, launching, process_identity, require_trainable


SHUTDOWN_TIMEOUT_S = 120  # seconds; a failed peer can leave a process waiting in NCCL until then


def gpu_indices(devices: str) -> list[str]:
    if devices in ("auto", "cpu"):
        return []
    return [d.strip() for d in devices.split(",") if d.strip()]


def available_gpus() -> list[str]:
    """Indices of this machine's NVIDIA GPUs: nvidia-smi's list, or torch's count where a
    container has the driver but not nvidia-smi."""
    from workbench.runs.queue import list_gpus

    listed = [gpu.index for gpu in list_gpus()]
    if listed or shutil.which("nvidia-smi"):
        return listed
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def missing_gpu_problem(devices: str, available: list[str]) -> str | None:
    """Why `devices` cannot run here, or None. Without this, a run asked for GPU 0 on a machine
    without one would quietly train on the CPU."""
    missing = [g for g in gpu_indices(devices) if g not in available]
    if not missing:
        return None
    have = f"GPUs {', '.join(available)}" if available else "no NVIDIA GPU"
    fix = f"GPU indices among {', '.join(available)}, auto or cpu" if available else \
        "auto (every GPU, else the CPU) or cpu"
    return f"GPU {', '.join(missing)} asked for, but this machine has {have}; use {fix}"


def require_available_devices(devices: str) -> None:
    """Raise a ConfigError naming `devices` when it asks for GPUs this machine does not have."""
    if gpu_indices(devices):
        problem = missing_gpu_problem(devices, available_gpus())
        if problem:
            raise ConfigError([("devices", problem)])


def precision_problem(precision: str, on_gpu: bool, gpu_has_bf16: bool) -> str | None:
    """Why `train.precision` cannot run here, or None. Older GPUs (before NVIDIA Ampere: T4, V100)
    lack bf16; the Trainer would fail the run with "You need to assign use_cpu", a setting users
    never see. The CPU runs bf16 (and fp16) through autocast, so only the GPU case is refused."""
    if precision == "bf16" and on_gpu and not gpu_has_bf16:
        return ("bf16 needs an NVIDIA GPU from Ampere on (A100, RTX 30xx, or newer) and this one lacks it; "
                "use fp16, or auto (bf16 where the GPU has it, else fp32)")
    return None


def require_supported_precision(precision: str, devices: str) -> None:
    """Raise a ConfigError naming train.precision when this machine's GPU cannot run it."""
    if precision != "bf16" or devices == "cpu":
        return
    import torch

    if torch.cuda.is_available():
        problem = precision_problem(precision, True, torch.cuda.is_bf16_supported())
        if problem:
            raise ConfigError([("train.precision", problem)])


def process_gpus(devices: str) -> list[str]:
    """The GPUs a run trains on: the indices it names, or for "auto" every GPU this process may use:
    those CUDA_VISIBLE_DEVICES lists when it is set (nvidia-smi lists the machine's GPUs whatever
    it says), else every GPU the machine has."""
    if devices != "auto":
        return gpu_indices(devices)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:  # "" or "-1" hide every GPU
        return [d.strip() for d in visible.split(",") if d.strip() and not d.strip().startswith("-")]
    return available_gpus()


def training_command(run: Run, resume: bool = False, echo: bool = False) -> list[str]:
    """One process, or one per GPU under torchrun when the run has several ("auto" on a machine
    with several included: a single process would drive them through torch's DataParallel, which
    the Trainer then picks, and which is slower than a process per GPU)."""
    gpus = process_gpus(run.config().devices)
    module = ["-m", "workbench.train.main", str(run.dir)] + (["--resume"] if resume else []) + \
        (["--echo"] if echo else [])
    if len(gpus) > 1:
        # A stop signal reaches the workers through torchrun, which kills them 30 s later by
        # default: too soon for a large model's checkpoint. They stop after their step anyway.
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={len(gpus)}", f"--shutdown-timeout={SHUTDOWN_TIMEOUT_S}"] + module
    return [sys.executable] + module


def training_env() -> dict[str, str]:
    """The environment of a training process: this one's, with unbuffered output, and without the
    passive OpenMP policy the app sets for itself only (training speed is measured without it)."""
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    if env.pop("WORKBENCH_APP_OMP_PASSIVE", None):
        env.pop("OMP_WAIT_POLICY", None)
    return env


def run_env(run: Run) -> dict[str, str]:
    """training_env, showing the training process only the devices the run names."""
    env = training_env()
    gpus = gpu_indices(run.config().devices)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    elif run.config().devices == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def needs_own_process(run: Run) -> bool:
    """Whether even a run in the foreground (`workbench train` without --detach) must train in a
    process of its own: one that names GPUs (only a new process's CUDA_VISIBLE_DEVICES can hide
    the others, since this one may have initialised CUDA already), or one with several GPUs
    (torchrun)."""
    devices = run.config().devices
    return bool(gpu_indices(devices)) or len(process_gpus(devices)) > 1


def _start_training(run: Run, resume: bool, echo: bool = False, **popen) -> subprocess.Popen:
    """The run's training process(es), in a session of their own (closing the terminal or
    restarting the app does not stop them; a terminal's Ctrl-C reaches only the caller), their pid
    recorded: a crash before the child writes its own status still reads as failed."""
    with launching(run):
        require_trainable(run, resume)
        run.abort_path.unlink(missing_ok=True)
        run.clear_rank_failures()
        if resume:
            # Until the new process reports, the run reads as starting, not as the aborted or failed
            # run it was: a caller that waits for the run to end would otherwise return at once.
            run.update_status(status="queued", error=None, ended=None, pid=None, pid_created=None)
        process = subprocess.Popen(training_command(run, resume, echo), env=run_env(run),
                                   stdin=subprocess.DEVNULL, start_new_session=True, **popen)
        try:
            run.update_status(**process_identity(process.pid))
        except Exception:  # the child may already have exited; its own status write wins
            pass
    return process


def run_attached(run: Run, resume: bool = False) -> dict:
    """Train in the foreground in the process(es) launch() would start, the log echoed to this
    terminal; returns the run's final status. Ctrl-C is an abort, as in a run trained in this
    process: they stop after the step with a checkpoint; a second Ctrl-C stops them at once. (The
    abort goes through the run folder: torchrun would forward the signal, then kill its workers.)"""
    process = _start_training(run, resume, echo=True)
    while True:
        try:
            process.wait()
            break
        except KeyboardInterrupt:
            if run.abort_requested():  # the second one: stop now (their signal handler raises)
                os.killpg(process.pid, signal.SIGTERM)
            else:
                print("stopping after this step with a checkpoint (Ctrl-C again stops at once)", file=sys.stderr)
                run.abort_path.touch()
    return run.status()


def launch(run: Run, resume: bool = False) -> int:
    """Start training in the background; returns the pid. Status goes to the run folder."""
    with open(run.log_path, "ab") as log:
        return _start_training(run, resume, stdout=log, stderr=subprocess.STDOUT, close_fds=True).pid
