"""Run folders: their ids, and folders that cannot be written (one message with the fix, nothing left behind)."""

from __future__ import annotations

import re
import subprocess

import pytest

from workbench.config import RunConfig
from workbench.errors import WorkbenchError
from workbench.runs.store import create_run, list_runs


def config(runs_dir) -> RunConfig:
    return RunConfig.from_dict({"data": {"path": "train.csv"}, "runs_dir": str(runs_dir)})


def test_a_full_disk_refuses_a_new_run_and_leaves_no_half_made_folder(make_small_disk):
    disk = make_small_disk(1)
    subprocess.run(["fallocate", "-l", "1m", str(disk / "filler")], check=True)
    with pytest.raises(WorkbenchError) as refused:
        create_run(config(disk))
    assert str(refused.value) == (f"cannot write a run folder in '{disk}' (No space left on device); free "
                                  "some space on that disk (delete runs you no longer need, or the "
                                  "checkpoints of finished runs: `workbench delete RUN --checkpoints`) or "
                                  "set runs_dir to a folder on another disk")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_file_where_the_runs_folder_should_be(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(WorkbenchError, match=r"cannot write a run folder in '.*runs' \(File exists\); "
                                             r"set runs_dir to another folder"):
        create_run(config(tmp_path / "runs"))


def test_a_run_folder_is_created_with_its_config_and_a_queued_status(tmp_path):
    run = create_run(config(tmp_path / "runs"))
    assert run.status()["status"] == "queued" and run.config().data.path == "train.csv"
    assert [r.id for r in list_runs(tmp_path / "runs")] == [run.id]


@pytest.mark.parametrize("model, named", [
    ("minilm-l6", "minilm-l6"), ("/models/my-encoder", "my-encoder"), ("hub:bert-base-uncased", "bert-base-uncased"),
    ("https://huggingface.co/google-bert/bert-base-uncased/tree/main", "bert-base-uncased"),
])
def test_a_run_id_names_its_model(tmp_path, model, named):
    cfg = config(tmp_path / "runs")
    cfg.model.name = model
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{named}-full", create_run(cfg).id)
