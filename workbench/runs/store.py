"""The run folder: the single source of truth about a run.

    runs/<id>/
      config.yaml         the resolved RunConfig (what actually ran)
      status.json         status, progress, pid, error, final metrics (rewritten atomically)
      metrics.jsonl       one line per trainer log event (append-only)
      train.log           everything the training process printed
      checkpoints/        Trainer checkpoints (resume reads the last one)
      model/              the final model (full weights or adapter) with tokenizer and label names
      predictions.jsonl   eval-set predictions: text, gold, predicted, probabilities
      ABORT               present while an abort is requested

Readers (CLI, UI, notebooks) only read these files; only the training process writes status
while it runs. A status of "running" whose process is gone is reported as failed: the run was
killed or crashed, and its checkpoints stay usable for `workbench resume`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import psutil

from workbench.catalog import hub_id_in
from workbench.config import RunConfig
from workbench.errors import ConfigError, WorkbenchError

STATUSES = ("queued", "running", "finished", "failed", "aborted")
ACTIVE = ("queued", "running")
UNREADABLE_STATUS = "status.json is missing or unreadable"
# What the readers (run lists, Monitor, queue) rely on a field being. The workbench always writes
# these types; a hand-edited value of another type is dropped rather than trusted, so one odd run
# folder cannot break the listing of all the others.
STATUS_FIELD_TYPES = {
    "name": str, "data_fingerprint": str, "model": str, "task": str, "method": str, "data": str, "error": str,
    "created": (int, float), "submitted": (int, float), "launched": (int, float), "started": (int, float),
    "ended": (int, float), "pid_created": (int, float), "pid": int, "step": int, "max_steps": int,
    "resumed": (int, float), "ran_seconds": (int, float), "earlier_seconds": (int, float), "updated": (int, float),
    "elapsed": (int, float), "session_start_step": int,
    "metrics": dict, "test_metrics": dict, "columns": dict, "best_checkpoint": dict, "rows": dict,
    "label_names": list, "label_values": list, "warnings": list, "slots": list,
}


def metric_rows(lines) -> list[dict]:
    """The rows among complete metrics.jsonl lines (text or bytes): a damaged line (not JSON, not
    UTF-8) is skipped and the rest kept, and JSON that is no row (the trainer writes objects; a
    list or a number was added by hand) is left out."""
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, default=str))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temp file behind
        raise


@dataclass
class Run:
    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def status_path(self) -> Path:
        return self.dir / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.jsonl"

    @property
    def log_path(self) -> Path:
        return self.dir / "train.log"

    @property
    def checkpoints_dir(self) -> Path:
        return self.dir / "checkpoints"

    @property
    def model_dir(self) -> Path:
        return self.dir / "model"

    @property
    def predictions_path(self) -> Path:
        return self.dir / "predictions.jsonl"

    @property
    def abort_path(self) -> Path:
        return self.dir / "ABORT"

    # ---- reading ------------------------------------------------------------------------------
    def config(self) -> RunConfig:
        path = self.dir / "config.yaml"
        if not path.is_file():
            raise WorkbenchError(f"run {self.id} has no config.yaml: its folder is incomplete; copy the file "
                                 "back from a copy of the run folder, or train the run again")
        try:
            return RunConfig.load(path)
        except ConfigError as err:  # edited by hand, or cut short by a full disk
            problems = "; ".join(message for _, message in err.problems)
            raise WorkbenchError(f"run {self.id}'s settings cannot be read: {problems}; or copy config.yaml "
                                 "back from a copy of the run folder, or train the run again") from None

    def raw_status(self) -> dict:
        try:
            status = json.loads(self.status_path.read_text())
        except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
            status = None
        if not isinstance(status, dict) or status.get("status") not in STATUSES:
            return {"id": self.id, "status": "failed", "error": UNREADABLE_STATUS}
        return {key: value for key, value in status.items()
                if key not in STATUS_FIELD_TYPES or value is None or isinstance(value, STATUS_FIELD_TYPES[key])}

    def status(self) -> dict:
        """The status, with a dead process behind an active status reported as a failure."""
        status = self.raw_status()
        if status.get("status") in ACTIVE and status.get("pid") and not _alive(status):
            other = self.rank_failure()
            cause = f"another GPU's process failed: {other}; " if other else \
                "killed or crashed; when the machine ran out of memory, lower train.batch_size or task.max_length; "
            resume = f"Resume in the Monitor tab, or `workbench resume {self.id}`,"
            # Killed before its first checkpoint, the run has nothing to continue from.
            way_on = f"checkpoints are kept: {resume} continues" if self.last_checkpoint() else \
                f"no checkpoint was saved yet: {resume} starts it again from step 0"
            status = {**status, "status": "failed",
                      "error": f"the training process ended without reporting ({cause.rstrip('; ')}); {way_on}"}
            # Persist it so every reader agrees; harmless if two readers race. Best effort: on a
            # full disk (often why the process died) the reader still gets the answer.
            try:
                write_json_atomic(self.status_path, status)
            except OSError:
                pass
        return status

    # ---- under torchrun only the first process writes the status: the others leave their errors here
    def record_rank_failure(self, message: str) -> None:
        if is_main_process():  # it writes the status itself
            return
        try:
            (self.dir / f"failure-rank{os.environ['RANK']}.txt").write_text(message)
        except OSError:
            pass

    def rank_failure(self) -> str | None:
        """The error another GPU's process ended with (one running out of memory), if one did."""
        for path in sorted(self.dir.glob("failure-rank*.txt")):
            try:
                text = path.read_text().strip()
            except OSError:
                continue
            if text:
                return f"{text} (GPU process {path.stem.removeprefix('failure-rank')})"
        return None

    def clear_rank_failures(self) -> None:
        for path in self.dir.glob("failure-rank*.txt"):
            path.unlink(missing_ok=True)

    def label_names(self) -> list[str]:
        """The names of the classes in model id order: from the status, else (an unreadable
        status.json) from the final model's own config, which is what its outputs mean."""
        names = self.raw_status().get("label_names")
        if names:
            return list(names)
        try:
            id2label = json.loads((self.model_dir / "config.json").read_text()).get("id2label") or {}
            return [id2label[key] for key in sorted(id2label, key=int)]
        except (OSError, ValueError, AttributeError, TypeError):
            return []

    def metrics(self) -> list[dict]:
        """The rows written so far. As the Monitor reads them (ui/run_watch.py): a line without
        its newline is still being written and waits; a damaged line is skipped, the rest kept."""
        try:
            text = self.metrics_path.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return []
        return metric_rows(text.split("\n")[:-1])  # the last piece has no newline yet

    def complete_checkpoints(self) -> list[Path]:
        """Checkpoints, oldest first, that were written to the end: the Trainer writes
        trainer_state.json last, so one cut short (a kill, a full disk) lacks it or has it cut."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = [p for p in self.checkpoints_dir.glob("checkpoint-*")
                 if p.is_dir() and p.name.split("-")[-1].isdigit() and _readable_json(p / "trainer_state.json")]
        return sorted(found, key=lambda p: int(p.name.split("-")[-1]))

    def last_checkpoint(self) -> Path | None:
        complete = self.complete_checkpoints()
        return complete[-1] if complete else None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64_000))
            return "\n".join(fh.read().decode("utf-8", "replace").splitlines()[-lines:])

    def described_again(self) -> dict:
        """For a status.json that was lost or damaged: what create_run wrote into it, read back
        from the config (its file's time for when the run was created), so the run lists with its
        model, method and date again once resumed. Nothing when the config is unreadable too."""
        try:
            return {"id": self.id, "created": (self.dir / "config.yaml").stat().st_mtime,
                    **described(self.config())}
        except (OSError, WorkbenchError):
            return {}

    # ---- writing (the training process; abort from anywhere) -----------------------------------
    def update_status(self, **fields) -> dict:
        status = {**self.raw_status(), **fields, "updated": time.time()}
        if is_main_process():
            write_json_atomic(self.status_path, status)
        return status

    def append_metrics(self, record: dict) -> None:
        if not is_main_process():
            return
        with self.metrics_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")

    def request_abort(self) -> None:
        status = self.status()
        if status["status"] not in ACTIVE:
            raise WorkbenchError(f"run {self.id} is {status['status']}, not running; nothing to abort")
        self.abort_path.touch()
        # Queued and never launched: nothing will pick the flag up. A launched one (its process is
        # alive and starting) reads the flag itself and says when it has stopped; marking it
        # aborted here would let a resumed run's process take the flag for a stale one and train on.
        if status["status"] == "queued" and not status.get("pid"):
            self.update_status(status="aborted", ended=time.time())

    def abort_requested(self) -> bool:
        return self.abort_path.exists()


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except (OSError, ValueError):
        return False


def is_main_process() -> bool:
    """Under torchrun every GPU runs the trainer; only rank 0 writes the run folder."""
    return os.environ.get("RANK", "0") == "0"


def _alive(status: dict) -> bool:
    try:
        process = psutil.Process(int(status["pid"]))
        # A recycled pid belongs to a process started after ours.
        created = status.get("pid_created")
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE and \
            (created is None or abs(process.create_time() - created) < 1.0)
    except (psutil.Error, ValueError):
        return False


def process_identity(pid: int | None = None) -> dict:
    pid = pid or os.getpid()
    return {"pid": pid, "pid_created": psutil.Process(pid).create_time()}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24] or "run"


def with_absolute_paths(cfg: RunConfig) -> RunConfig:
    """The config with its relative local paths (data, model folder) made absolute: `workbench
    resume`, the app and the queue start a run from other folders than the one it was typed in,
    where `data/train.csv` would mean another file, or be taken for a Hub id."""
    from workbench.catalog import BUNDLED

    data_path = cfg.data.path
    if data_path and not data_path.startswith("hub:") and not Path(data_path).is_absolute() \
            and Path(data_path).exists():
        cfg = replace(cfg, data=replace(cfg.data, path=str(Path(data_path).absolute())))
    name = cfg.model.name.strip()
    if name not in BUNDLED and not name.startswith(("run:", "hub:", "ollama:")) and not Path(name).is_absolute() \
            and not (Path(cfg.runs_dir) / name / "status.json").is_file() and Path(name).exists():
        cfg = replace(cfg, model=replace(cfg.model, name=str(Path(name).absolute())))
    return cfg


def described(cfg: RunConfig) -> dict:
    """What a run's status says of it from its creation on: what the run lists and Runs tab show."""
    return {"name": cfg.name, "model": cfg.model.name, "task": cfg.task.type, "method": cfg.method.type,
            "data": cfg.data.path}


def create_run(cfg: RunConfig) -> Run:
    """A new run folder holding the config, its "auto" learning rates filled in (resolve), and a
    queued status. A config validate() refuses raises its ConfigError before any folder exists;
    nothing is left behind either when the folder cannot be written (a full disk, no permission)."""
    cfg = cfg.resolve()
    cfg.validate()
    runs_dir = Path(cfg.runs_dir)
    run = None
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        # The id's last part names the model: "bert-base-uncased" of hub:bert-base-uncased or of a
        # huggingface.co address (whose path ends in tree/main), a folder's own name.
        name = hub_id_in(cfg.model.name.strip()) or cfg.model.name
        model = _slug(Path(name).name or name)
        base = f"{datetime.now():%Y%m%d-%H%M%S}-{model}-{cfg.method.type}"
        for suffix in [""] + [f"-{i}" for i in range(2, 1000)]:
            try:
                (runs_dir / (base + suffix)).mkdir()
                run = Run(runs_dir / (base + suffix))
                break
            except FileExistsError:
                continue
        cfg = with_absolute_paths(cfg)
        cfg.save(run.dir / "config.yaml")
        write_json_atomic(run.status_path, {"id": run.id, "status": "queued", "created": time.time(),
                                            **described(cfg)})
    except OSError as err:
        if run is not None:
            shutil.rmtree(run.dir, ignore_errors=True)
        why = "it is a file, not a folder" if runs_dir.is_file() else err.strerror or err
        raise WorkbenchError(f"cannot write a run folder in '{runs_dir}' ({why}); {_write_fix(err)}") from None
    return run


def _write_fix(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return ("free some space on that disk (delete runs you no longer need, or the checkpoints of "
                "finished runs: `workbench delete RUN --checkpoints`) or set runs_dir to a folder on "
                "another disk")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "set runs_dir to a folder you can write to"
    return "set runs_dir to another folder"


def _is_run_folder(folder: Path) -> bool:
    """A folder of the runs folder holding a run: its status.json, or its config.yaml when the
    status is gone (deleted by hand, left out of a copy). Such a run reads as failed with the
    reason (raw_status) rather than vanishing while its model and checkpoints are still there."""
    return (folder / "status.json").is_file() or (folder / "config.yaml").is_file()


def list_runs(runs_dir: str | Path) -> list[Run]:
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [Run(p) for p in runs_dir.iterdir() if _is_run_folder(p)]
    return sorted(runs, key=lambda r: r.raw_status().get("created", 0), reverse=True)


def get_run(runs_dir: str | Path, run_id: str | os.PathLike) -> Run:
    run_id = os.fspath(run_id)
    path = Path(run_id)
    if (path / "status.json").is_file():  # a run folder path works too
        return Run(path)
    run = Run(Path(runs_dir) / run_id.removeprefix("run:"))
    if not run_id or not _is_run_folder(run.dir):
        raise WorkbenchError(f"there is no run '{run_id}' in {runs_dir}; `workbench runs` lists them")
    return run


def running_seconds(status: dict, now: float | None = None) -> float | None:
    """How long a run has trained, wall clock: every session since it first started, without the
    pauses between an abort and its resume. None for a run that never started."""
    if not status.get("started"):
        return None
    if status.get("status") == "running":
        since = status.get("resumed") or status["started"]
        return (status.get("earlier_seconds") or 0.0) + (now or time.time()) - since
    if status.get("ran_seconds") is not None:
        return status["ran_seconds"]
    return status["ended"] - status["started"] if status.get("ended") else None  # runs from before


def as_run(run: Run | str | os.PathLike, runs_dir: str | Path = "runs") -> Run:
    """The run a Python API call was given: a Run, a run's folder, or a run id in `runs_dir` (the
    default runs folder, as the CLI's --runs-dir)."""
    if isinstance(run, Run):
        return run
    if isinstance(run, (str, os.PathLike)):
        return get_run(runs_dir, run)
    raise WorkbenchError(f"a run is given as a Run, its folder or its id, not a {type(run).__name__}; "
                         "get_run(runs_dir, run_id) gives the Run")


def require_trainable(run: Run, resume: bool) -> None:
    """What a training process may do with this run, checked before it touches the folder: a new
    run trains once, a stopped one resumes, and a finished one never trains again (that would
    overwrite its model and repeat its metrics). A resumed run reads as queued once launched."""
    current = run.status()
    status = current["status"]
    if status == "finished":
        raise WorkbenchError(f"run {run.id} already finished; start a new run to train more "
                             f"(its config: {run.dir / 'config.yaml'})")
    if status == "running":
        raise WorkbenchError(f"run {run.id} is running; wait for it or abort it first")
    launched = current.get("pid") if status == "queued" else None  # status() keeps only a live one
    if launched and launched not in (os.getpid(), os.getppid()):  # the parent: torchrun's, for its workers
        raise WorkbenchError(f"run {run.id} is starting (process {launched}); wait for it or abort it first")
    if resume:
        _refuse_finished_without_status(run, current)
    if not resume and status != "queued":
        raise WorkbenchError(f"run {run.id} is {status}: it has trained before; resume it from its last "
                             f"checkpoint (workbench resume {run.id}, or launch(run, resume=True)), or start a new run")


@contextmanager
def exclusive_lock(path: Path):
    """Wait for, then hold, the lock on `path` (made if missing) while the block runs: between
    processes, e.g. the app's and a terminal's."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def launching(run: Run):
    """One launcher at a time for this run: the check that it may train, its process started and
    that process's pid recorded happen together, so a second Resume clicked or typed meanwhile
    finds the run starting (require_trainable) instead of launching a second process."""
    return exclusive_lock(run.dir / ".launch.lock")


def hold_training(run: Run) -> int | None:
    """Claim the run for this training process until it exits (the kernel releases the claim of
    a killed one too); a second process resuming the same run (two Resumes at once, `workbench
    resume` in two terminals) is refused instead of writing the same checkpoints and status."""
    try:
        fd = os.open(run.dir / ".training.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a folder gone or read-only: the run's first write says so
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WorkbenchError(f"run {run.id} is already training in another process; wait for it or abort "
                             "it first (`workbench runs` shows its progress)") from None
    return fd


def require_resumable(run: Run) -> None:
    """Only a run that stopped before the end (aborted, or failed: killed, crashed) resumes."""
    current = run.status()
    status = current["status"]
    if status in ACTIVE:
        raise WorkbenchError(f"run {run.id} is {status}; wait for it or abort it first")
    if status == "finished":
        raise WorkbenchError(f"run {run.id} already finished; start a new run to train more")
    _refuse_finished_without_status(run, current)


def _refuse_finished_without_status(run: Run, status: dict) -> None:
    """A run whose status.json was lost reads as failed; if its final model is there (written whole,
    by a rename, after the last step), it had finished, and resuming would train again from its last
    checkpoint and overwrite that model. Say so, and how to train it again on purpose."""
    if status.get("error") == UNREADABLE_STATUS and (run.model_dir / "workbench_model.json").is_file():
        raise WorkbenchError(f"run {run.id} has its final model but its status.json was lost, so it reads as "
                             "failed: it had finished training. Evaluate, predict or export it as it is; to "
                             f"train it again from its last checkpoint, delete {run.model_dir} first")


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under a folder; 0 when it is gone. os.walk skips what disappears while
    it counts (a checkpoint the Trainer rotates out)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def folder_megabytes(folder: Path) -> float:
    return round(folder_bytes(folder) / 2**20, 1)


def human_size(size: float) -> str:
    """"518 MB", "1.5 GB", "248.2 TB": what a person reads for a folder or a free disk."""
    for unit, scale in (("TB", 2**40), ("GB", 2**30)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{max(size, 0) / 2**20:.0f} MB"


def delete_checkpoints(run: Run) -> int:
    """Remove a finished run's checkpoints, keeping its model, predictions and logs; returns the
    bytes freed. A finished run never reads them again (its model is in model/, the kept best
    checkpoint included); an unfinished run's are what resume continues from, so they stay."""
    status = run.status()["status"]
    if status in ACTIVE:
        raise WorkbenchError(f"run {run.id} is {status}; its checkpoints are being written")
    if status != "finished":
        raise WorkbenchError(f"run {run.id} is {status}: its checkpoints are what resume continues "
                             "from; resume it, or delete the whole run")
    freed = folder_bytes(run.checkpoints_dir)
    shutil.rmtree(run.checkpoints_dir, ignore_errors=True)
    return freed


def delete_run(run: Run) -> None:
    """Remove a run's folder. A queued or running run is refused: its process would go on
    writing into a folder that is gone."""
    status = run.status()["status"]
    if status in ACTIVE:
        raise WorkbenchError(f"run {run.id} is {status}; abort it before deleting "
                             f"(Abort in the Monitor tab, or `workbench abort {run.id} --wait`)")
    shutil.rmtree(run.dir)
