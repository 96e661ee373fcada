"""The training process: executes one run folder from start (or last checkpoint) to finish.

    python -m workbench.train.main runs/<id> [--resume]

It never imports gradio and never talks to a front end: it reads config.yaml and writes status,
metrics, logs, checkpoints, the model and predictions into the run folder. Any failure ends as
status "failed" with a one-line reason; the traceback goes to train.log only.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.runs.store import Run, hold_training, is_main_process, process_identity, require_trainable
from workbench.train.disk import disk_full_message, is_disk_full, remove_partial_saves

log = logging.getLogger("workbench.train")


def _setup_logging(run: Run, echo: bool) -> None:
    import transformers

    handlers: list[logging.Handler] = [logging.FileHandler(run.log_path)]
    if echo:
        handlers.append(logging.StreamHandler(sys.stderr))
    # Under torchrun every GPU's process runs this: the first one tells the story, the others
    # only their errors (one GPU running out of memory), marked with their rank.
    rank = int(os.environ.get("RANK", "0"))
    where = f" [rank {rank}]" if rank else ""
    formatter = logging.Formatter(f"%(asctime)s %(levelname)s %(name)s{where}: %(message)s", "%H:%M:%S")
    for logger in (logging.getLogger("workbench"), transformers.logging.get_logger()):
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
        for handler in handlers:
            handler.setFormatter(formatter)
            logger.addHandler(handler)
        logger.setLevel(logging.ERROR if rank else logging.INFO)
        logger.propagate = False
    transformers.logging.set_verbosity(logging.ERROR if rank else logging.WARNING)


def _abort_on_signal(run: Run) -> None:
    """SIGTERM / Ctrl-C become an abort request: stop after this step, with a checkpoint."""

    def handler(signum, frame):
        if run.abort_requested():  # second signal: stop now
            raise KeyboardInterrupt
        log.warning("signal %s: stopping after this step and saving a checkpoint", signum)
        run.abort_path.touch()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


OUT_OF_MEMORY_FIX = ("lower train.batch_size (raise train.gradient_accumulation_steps to keep the "
                     "effective batch), turn on train.activation_checkpointing, lower task.max_length, "
                     "or train with LoRA, and start it again")


def failure_message(err: Exception) -> str:
    """One line for an unexpected failure; running out of memory (the commonest) also names the fix."""
    text = str(err).strip()
    first_line = text.splitlines()[0] if text else ""
    cpu_allocation = re.search(r"can't allocate memory: you tried to allocate (\d+) bytes", text)
    if cpu_allocation:  # torch's CPU allocator: "[enforce fail at alloc_cpu.cpp:127] err == 0. ..."
        size = int(cpu_allocation.group(1))
        shown = f"{size / 2**30:,.1f} GiB" if size >= 2**30 else f"{size / 2**20:,.0f} MiB"
        return f"out of memory (allocating {shown} more failed): {OUT_OF_MEMORY_FIX}"
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError: CUDA
        return f"out of memory ({first_line.rstrip('.')}): {OUT_OF_MEMORY_FIX}"
    return f"{type(err).__name__}: {first_line}"


def execute(run: Run, resume: bool = False, echo: bool = False) -> dict:
    """Run to completion; returns the final status dict. Never raises for a failed run; raises
    WorkbenchError, leaving the run as it was, for one that must not train (finished, running,
    training in another process, or stopped and not resumed)."""
    claim = hold_training(run) if is_main_process() else None  # under torchrun the others join the first
    try:
        return _execute(run, resume, echo)
    finally:
        if claim is not None:
            os.close(claim)


def _execute(run: Run, resume: bool, echo: bool) -> dict:
    # Under torchrun (several GPUs) the processes start at different moments: an abort requested
    # now is left to the first step, where they agree on it (callbacks.py); one process stopping
    # here would leave the others waiting for it. The launcher cleared any old request.
    alone = int(os.environ.get("WORLD_SIZE", "1")) <= 1
    before = run.raw_status()
    # Cancelled in the queue after its process was launched: nothing to train, nothing lost. The
    # launcher cleared any old request before it marked the run queued, so a request on a queued
    # run is new, a resumed one's too; one on a stopped run resumed here is left from its abort.
    cancelled = before.get("status") == "queued" or (not resume and not before.get("started"))
    if alone and run.abort_requested() and cancelled:
        return run.update_status(status="aborted", ended=time.time())
    if is_main_process():  # the others find it marked running by the first
        require_trainable(run, resume)
    _setup_logging(run, echo)
    _abort_on_signal(run)
    if alone:
        run.abort_path.unlink(missing_ok=True)
    session = _start_session(run, resume)

    def end(**fields) -> dict:
        ended = time.time()  # the seconds run so far, for a table that shows how long the run took
        return run.update_status(ended=ended, ran_seconds=session["earlier_seconds"] + ended - session["since"],
                                 **fields)

    def fail(message: str) -> dict:
        # Under torchrun: another process's own error (out of memory on its GPU) explains the first
        # process's failure (its peer left the gradient exchange); the others only leave theirs.
        run.record_rank_failure(message)
        other = run.rank_failure()
        return end(status="failed", error=f"another GPU's process failed: {other}" if other else message)

    try:
        from workbench.train.pipeline import train_run

        result = train_run(run, resume=resume)
    except WorkbenchError as err:
        log.error("%s", err)
        return fail(str(err))
    except KeyboardInterrupt:
        log.warning("interrupted")
        return end(status="aborted", error="interrupted before a checkpoint could be saved")
    except Exception as err:  # a bug or an environment problem: keep the traceback in the log
        log.exception("training failed")
        message = failure_message(err)
        if is_disk_full(err, run.dir):
            remove_partial_saves(run)
            message = disk_full_message(run.dir)
        return fail(f"{message} (details in {run.log_path.name})")
    return end(**result)


def _start_session(run: Run, resume: bool) -> dict:
    """Mark the run running. A resumed run keeps the time it first started, and counts the seconds
    its earlier sessions ran (ran_seconds, written as each ended), not the pause between them."""
    now, before = time.time(), run.raw_status()
    if resume and before.get("started"):
        ran = before.get("ran_seconds")
        if ran is None:  # the last session was killed before it could say: as far as its progress went
            ran = (before.get("earlier_seconds") or 0.0) + (before.get("elapsed") or 0.0)
        session = {"started": before["started"], "resumed": now, "earlier_seconds": ran}
    else:
        session = {"started": now, "resumed": None, "earlier_seconds": 0.0}
    # A status.json that was lost or damaged is written anew by `workbench resume`, the run's
    # model, method and date included, so it lists as it did.
    described = run.described_again() if not before.get("created") else {}
    run.update_status(**described, status="running", error=None, ended=None, ran_seconds=None, elapsed=None,
                      **session, **process_identity())
    return {**session, "since": now}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.train.main")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--echo", action="store_true", help="log to the terminal too (a run in the foreground)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        status = execute(Run(Path(args.run_dir)), resume=args.resume, echo=args.echo)
    except WorkbenchError as err:  # a run that must not train: it is left as it was
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0 if status["status"] in ("finished", "aborted") else 1


if __name__ == "__main__":
    sys.exit(main())
