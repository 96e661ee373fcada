"""Disk space: the estimate against what the Trainer really writes, a run refused before it trains,
and a disk that fills mid-run (real ENOSPC from /dev/full) named with the fix."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from workbench.catalog import resolve_model
from workbench.methods import METHODS
from workbench.runs.store import create_run
from workbench.tasks import classify
from workbench.train.disk import SMALL_FILES, checkpoint_bytes, disk_full_message, is_disk_full, saved_bytes
from workbench.train.launch import launch
from workbench.train.main import execute

from tests.train.test_training import tiny_config


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


@pytest.mark.parametrize("method", ["full", "freeze", "lora"])
def test_the_estimate_matches_the_checkpoint_and_model_the_trainer_writes(method, datasets_dir, tmp_path):
    cfg = tiny_config(datasets_dir, tmp_path, method, max_steps=2, save_steps=1)
    run = create_run(cfg)
    status = execute(run)
    assert status["status"] == "finished", status.get("error")
    checkpoint = run.checkpoints_dir / "checkpoint-1"
    model = METHODS[method].apply(classify.build_model(resolve_model("minilm-l6"), {0: "0", 1: "1"}, cfg), cfg)

    written, estimated = folder_bytes(checkpoint), checkpoint_bytes(model)
    # The pre-flight's model, on the meta device, gives the same figures without any weights.
    meta = classify.meta_model(cfg, resolve_model("minilm-l6"), 2)
    assert next(meta.parameters()).is_meta
    assert (checkpoint_bytes(meta), saved_bytes(meta)) == (estimated, saved_bytes(model))
    assert written <= estimated <= written * 1.05 + SMALL_FILES, (written, estimated)
    model_written = folder_bytes(run.model_dir)
    assert model_written <= saved_bytes(model) + 2 * 2**20 and saved_bytes(model) <= model_written * 1.05
    if method == "lora":  # adapter and head only: a few MB, not the 90 MB encoder
        assert estimated < 10 * 2**20


def test_a_run_that_cannot_fit_on_the_disk_fails_before_it_trains(datasets_dir, tmp_path):
    # A checkpoint at every step, all kept: tens of TB for a million steps, more than any disk here.
    cfg = tiny_config(datasets_dir, tmp_path, "full", max_steps=1_000_000, save_steps=1,
                      save_total_limit=1_000_000)
    run = create_run(cfg)
    status = execute(run)
    assert status["status"] == "failed"
    assert status["error"].startswith("not enough disk space: this run writes about ")
    assert f"the disk holding {tmp_path} has " in status["error"]
    assert "train.save_total_limit to 1" in status["error"] and "Traceback" not in status["error"]
    assert not status.get("step") and run.last_checkpoint() is None
    assert not (run.checkpoints_dir.is_dir() and any(run.checkpoints_dir.iterdir()))


def test_a_disk_that_fills_mid_run_fails_it_with_the_fix_and_resume_finishes(datasets_dir, make_small_disk):
    small_disk = make_small_disk(800)
    run = create_run(tiny_config(datasets_dir, small_disk, "full", max_steps=60, save_steps=20,
                                 save_total_limit=1))
    launch(run)
    deadline = time.time() + 120
    while time.time() < deadline and run.last_checkpoint() is None:
        assert run.status()["status"] in ("queued", "running"), run.status()
        time.sleep(0.1)
    # Another program takes the disk after the run's own check passed: 50 MB stay free, less than
    # the next checkpoint (272 MB) or the final model (90 MB) needs, whichever the run is at.
    filler = small_disk / "filler"
    subprocess.run(["fallocate", "-l", str(shutil.disk_usage(small_disk).free - 50 * 2**20), str(filler)],
                   check=True)
    while time.time() < deadline and run.status()["status"] in ("queued", "running"):
        time.sleep(0.2)
    status = run.status()
    assert status["status"] == "failed"
    assert status["error"].startswith(f"the disk holding {run.dir} is full (")
    assert "resume the run: it continues from its last complete checkpoint" in status["error"]
    # What the full disk cut short is gone; what resume takes was written to the end.
    kept = run.last_checkpoint()
    assert kept is not None and [p.name for p in run.checkpoints_dir.iterdir()] == [kept.name]
    assert not (run.dir / "model.tmp").exists()

    filler.unlink()
    status = execute(run, resume=True)
    assert status["status"] == "finished" and status["step"] == 60, status.get("error")
    assert f"training from {kept.name}" in run.log_path.read_text()


def test_full_disk_errors_are_recognised_however_they_arrive():
    # The errno Python raises, and the text of safetensors' Rust writer (seen on a full tmpfs).
    from safetensors import SafetensorError

    enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    rust = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert is_disk_full(enospc) and is_disk_full(rust)
    try:  # wrapped, as a library re-raising it would
        try:
            raise enospc
        except OSError as err:
            raise RuntimeError("saving the checkpoint failed") from err
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("the tensor is not contiguous"))
    assert "free now" in disk_full_message(Path("/tmp"))


def test_a_checkpoint_cut_short_is_skipped_and_resume_uses_the_last_complete_one(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=4, save_steps=1))
    assert execute(run)["status"] == "finished"
    # What a full disk leaves: the next checkpoint's folder with its trainer state cut off mid-write.
    shutil.rmtree(run.checkpoints_dir / "checkpoint-3")
    cut = run.checkpoints_dir / "checkpoint-3"
    shutil.copytree(run.checkpoints_dir / "checkpoint-2", cut)
    state = (cut / "trainer_state.json").read_text()
    (cut / "trainer_state.json").write_text(state[: len(state) // 2])
    assert [p.name for p in run.complete_checkpoints()] == ["checkpoint-2"]
    assert run.last_checkpoint().name == "checkpoint-2"

    run.update_status(status="failed", error="the disk holding it is full")
    status = execute(run, resume=True)
    assert status["status"] == "finished", status.get("error")
    assert "training from checkpoint-2" in run.log_path.read_text()
