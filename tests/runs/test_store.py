"""Run folders: their ids, and folders that cannot be written (one message with the fix, nothing left behind)."""

from __future__ import annotations

import re
import subprocess

import pytest

from workbench.config import RunConfig
from workbench.errors import ConfigError, WorkbenchError
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
    with pytest.raises(WorkbenchError, match=r"cannot write a run folder in '.*runs' \(it is a file, not a folder\); "
                                             r"set runs_dir to another folder"):
        create_run(config(tmp_path / "runs"))


def test_a_run_folder_is_created_with_its_config_and_a_queued_status(tmp_path):
    run = create_run(config(tmp_path / "runs"))
    assert run.status()["status"] == "queued" and run.config().data.path == "train.csv"
    assert [r.id for r in list_runs(tmp_path / "runs")] == [run.id]


def test_a_new_run_holds_a_checked_config_with_its_learning_rates_filled_in(tmp_path):
    # The Python API's create_run checks as the CLI and the app do: a forgotten resolve() or a
    # batch of 0 used to make a run that then failed in the Trainer with its own words.
    run = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(tmp_path)}))
    assert run.config().train.learning_rate == 1e-4 and run.config().train.head_learning_rate == 1e-3
    with pytest.raises(ConfigError, match="train.batch_size"):
        create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "train": {"batch_size": 0},
                                        "runs_dir": str(tmp_path / "other")}))
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("model, named", [
    ("minilm-l6", "minilm-l6"), ("/models/my-encoder", "my-encoder"), ("hub:bert-base-uncased", "bert-base-uncased"),
    ("https://huggingface.co/google-bert/bert-base-uncased/tree/main", "bert-base-uncased"),
])
def test_a_run_id_names_its_model(tmp_path, model, named):
    cfg = config(tmp_path / "runs")
    cfg.model.name = model
    assert re.fullmatch(rf"\d{{8}}-\d{{6}}-{named}-full", create_run(cfg).id)


def test_a_run_whose_config_is_missing_or_damaged_says_which_and_how_to_recover(tmp_path):
    run = create_run(config(tmp_path / "runs"))
    (run.dir / "config.yaml").write_text("model: [unclosed\n")
    with pytest.raises(WorkbenchError) as refused:
        run.config()
    assert str(refused.value) == (
        f"run {run.id}'s settings cannot be read: {run.dir / 'config.yaml'} is not valid YAML (line 2, column 1: "
        "expected ',' or ']', but got '<stream end>'); fix the syntax; or copy config.yaml back from a copy "
        "of the run folder, or train the run again")
    (run.dir / "config.yaml").unlink()
    with pytest.raises(WorkbenchError, match=rf"^run {run.id} has no config.yaml: its folder is incomplete; "):
        run.config()


def test_label_names_come_from_the_model_when_the_status_is_damaged(tmp_path):
    run = create_run(config(tmp_path / "runs"))
    run.update_status(label_names=["negative", "positive"])
    assert run.label_names() == ["negative", "positive"]
    run.status_path.write_text('{"status": "fini')
    assert run.label_names() == []  # no model either
    run.model_dir.mkdir()
    (run.model_dir / "config.json").write_text('{"id2label": {"10": "ten", "2": "two", "0": "zero"}}')
    assert run.label_names() == ["zero", "two", "ten"]  # by id, not as text


@pytest.mark.parametrize("content", [b"[1, 2]", b"null", b'{"status": 5}', b'{"status": "done"}', b"\xff\xfe",
                                     b'{"status": "fini'])
def test_a_status_file_that_is_not_a_status_marks_that_run_failed_and_lists_the_others(tmp_path, content, capsys):
    # A JSON list or null, edited in by hand, was "AttributeError: 'list' object has no attribute
    # 'get' (unexpected)" for `workbench runs`: one odd folder hid every run.
    from workbench.cli import main

    runs_dir = tmp_path / "runs"
    odd, fine = create_run(config(runs_dir)), create_run(config(runs_dir))
    odd.status_path.write_bytes(content)
    assert odd.status() == {"id": odd.id, "status": "failed", "error": "status.json is missing or unreadable"}
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    table = capsys.readouterr().out
    assert re.search(rf"{odd.id} +failed", table) and re.search(rf"{fine.id} +queued", table)


def test_a_run_whose_status_file_is_gone_is_listed_failed_and_still_found(tmp_path, capsys):
    # Deleted by hand, or left out of a copy: the run vanished from `workbench runs` and was "no
    # run" to eval, export and resume, though its model and checkpoints were all there.
    import json

    from workbench.cli import main
    from workbench.runs.store import get_run

    runs_dir = tmp_path / "runs"
    gone, fine = create_run(config(runs_dir)), create_run(config(runs_dir))
    gone.status_path.unlink()
    assert main(["runs", "--json", "--runs-dir", str(runs_dir)]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)["runs"]}
    assert rows[gone.id]["status"] == "failed" and rows[gone.id]["error"] == "status.json is missing or unreadable"
    assert rows[fine.id]["status"] == "queued"
    assert get_run(runs_dir, gone.id).dir == gone.dir
    (runs_dir / "notes").mkdir()  # a folder of something else is still no run
    with pytest.raises(WorkbenchError, match="there is no run 'notes'"):
        get_run(runs_dir, "notes")


def test_a_finished_run_whose_status_was_lost_is_not_trained_again(sst2_run, tmp_path):
    # Its status lost, a finished run read as failed, and resume trained it again from its last
    # checkpoint, overwriting the final model it had.
    import shutil

    from workbench.runs.store import Run, require_resumable, require_trainable

    copy = Run(tmp_path / "runs" / sst2_run.id)
    shutil.copytree(sst2_run.dir, copy.dir, ignore=shutil.ignore_patterns("checkpoints"))
    copy.status_path.unlink()
    for check in (require_resumable, lambda run: require_trainable(run, resume=True)):
        with pytest.raises(WorkbenchError, match="has its final model but its status.json was lost") as refused:
            check(copy)
        assert f"delete {copy.model_dir} first" in str(refused.value)
    shutil.rmtree(copy.model_dir)  # deleted on purpose: it trains again
    require_resumable(copy)


def test_a_status_field_of_the_wrong_type_is_dropped_not_trusted(tmp_path, capsys):
    from workbench.cli import main

    run = create_run(config(tmp_path / "runs"))
    run.update_status(status="finished", step="x", metrics=[1], created="yesterday", name=7, error=None,
                      label_names=["a", "b"])
    status = run.status()
    assert status["status"] == "finished" and status["label_names"] == ["a", "b"] and status["error"] is None
    assert not {"step", "metrics", "created", "name"} & set(status)
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert re.search(rf"{run.id} +finished", capsys.readouterr().out)


def test_a_name_with_line_breaks_from_before_names_were_checked_stays_on_its_line(tmp_path, capsys):
    from workbench.cli import main

    run = create_run(config(tmp_path / "runs"))
    run.update_status(name="lora\nsecond  try")
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and re.match(rf"{run.id} lora second try +queued", lines[1])


def test_relative_local_paths_are_kept_absolute_so_the_run_resumes_from_anywhere(tmp_path, monkeypatch,
                                                                                 datasets_dir):
    import shutil

    from workbench.catalog import bundled_model_path

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(datasets_dir / "sst2" / "dev.tsv", project / "data" / "reviews.tsv")
    shutil.copytree(bundled_model_path("minilm-l6"), project / "my-encoder")
    monkeypatch.chdir(project)  # where the user typed: --data data/reviews.tsv --model my-encoder
    cfg = RunConfig.from_dict({"data": {"path": "data/reviews.tsv"}, "model": {"name": "my-encoder"},
                               "runs_dir": str(tmp_path / "runs")})
    run = create_run(cfg)
    monkeypatch.chdir(tmp_path)  # `workbench resume` from elsewhere reads the same files
    saved = run.config()
    assert saved.data.path == str(project / "data" / "reviews.tsv") and saved.model.name == str(project / "my-encoder")
    assert run.status()["data"] == saved.data.path
    # Names that are not local paths stay as typed, and so does a path that does not exist (its
    # run fails with the data check's message, naming it as typed).
    for data, model in [("hub:glue", "minilm-l6"), ("missing.csv", "org/some-model"), ("data/x.csv", "run:abc")]:
        kept = create_run(RunConfig.from_dict({"data": {"path": data}, "model": {"name": model},
                                               "runs_dir": str(tmp_path / "runs")})).config()
        assert (kept.data.path, kept.model.name) == (data, model)


def test_how_long_a_run_trained_counts_its_sessions_not_the_pause_between():
    from workbench.runs.store import running_seconds

    assert running_seconds({"status": "queued"}) is None  # never started
    # First session 100 s, aborted, resumed an hour later and running for 50 s.
    running = {"status": "running", "started": 1000.0, "resumed": 4700.0, "earlier_seconds": 100.0}
    assert running_seconds(running, now=4750.0) == 150.0
    assert running_seconds({"status": "finished", "started": 1000.0, "ended": 4800.0, "ran_seconds": 200.0}) == 200.0
    assert running_seconds({"status": "finished", "started": 1000.0, "ended": 1060.0}) == 60.0  # a run from before


def test_a_run_killed_before_its_first_checkpoint_says_resume_starts_it_again(tmp_path, dead_pid):
    # It said "checkpoints are kept: ... continues" with no checkpoint to continue from.
    run = create_run(config(tmp_path / "runs"))
    run.update_status(status="running", pid=dead_pid, started=1.0)
    assert run.status()["error"] == (
        "the training process ended without reporting (killed or crashed; when the machine ran out of memory, "
        "lower train.batch_size or task.max_length); no checkpoint was saved yet: Resume in the Monitor tab, or "
        f"`workbench resume {run.id}`, starts it again from step 0")


def test_a_failure_in_another_gpus_process_is_the_reason_the_run_gives(tmp_path, monkeypatch):
    import sys

    from workbench.runs.store import process_identity

    run = create_run(config(tmp_path / "runs"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # the first process, killed by torchrun
    identity = process_identity(gone.pid)
    gone.wait()
    run.update_status(status="running", **identity)
    monkeypatch.setenv("RANK", "1")  # what the second GPU's process writes as it fails
    run.record_rank_failure("out of memory (CUDA out of memory. Tried to allocate 2.00 GiB)")
    monkeypatch.setenv("RANK", "0")
    run.record_rank_failure("the first process writes the status itself")  # not a side file
    assert run.status()["error"].startswith(
        "the training process ended without reporting (another GPU's process failed: out of memory (CUDA out of "
        "memory. Tried to allocate 2.00 GiB) (GPU process 1)); no checkpoint was saved yet")
    run.clear_rank_failures()  # as the launcher does before the next start
    assert run.rank_failure() is None
