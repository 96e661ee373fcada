"""The CLI: bad input gives one clear message and creates no run; good input ends in one JSON line."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main


def run_cli(capsys, *args) -> tuple[int, dict, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return code, json.loads(lines[-1]) if lines else {}, err


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


def assert_no_run(runs_dir):
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_malformed_csv(tmp_path, runs_dir, capsys):
    data = tmp_path / "broken.csv"
    data.write_text("text,label\ngood,1\nbad, really,0\n")
    code, record, err = run_cli(capsys, "train", "--data", str(data), "--runs-dir", str(runs_dir))
    assert code == 2 and record["status"] == "invalid"
    assert "line 3" in record["error"] and "Traceback" not in err
    assert_no_run(runs_dir)


def test_missing_label_column(tmp_path, runs_dir, capsys, datasets_dir):
    code, record, err = run_cli(capsys, "train", "--data", str(datasets_dir / "sst2"), "--runs-dir",
                                str(runs_dir), "--set", "data.label_column=stars")
    assert code == 2 and "data.label_column (--label-column) 'stars' is not a column" in record["error"]
    # Each problem of the data check also as one string, as `workbench check` lists them.
    assert record["problems"] == ["ERROR: data.label_column (--label-column) 'stars' is not a column; the file has "
                                  "'sentence', 'label': set data.label_column to one of them"]
    assert_no_run(runs_dir)


def test_model_path_that_does_not_exist(tmp_path, runs_dir, capsys, datasets_dir):
    code, record, _ = run_cli(capsys, "train", "--model", str(tmp_path / "my-model"), "--data",
                              str(datasets_dir / "sst2"), "--runs-dir", str(runs_dir))
    assert code == 2 and "does not exist" in record["error"]
    assert_no_run(runs_dir)


def test_cls_pooling_on_a_decoder(runs_dir, capsys, datasets_dir):
    code, record, _ = run_cli(capsys, "train", "--model", "smollm2-135m-instruct", "--data",
                              str(datasets_dir / "sst2"), "--set", "task.pooling=cls", "--runs-dir", str(runs_dir))
    assert code == 2 and record["problems"][0][0] == "task.pooling"
    assert "use last" in record["error"]
    assert_no_run(runs_dir)


def test_empty_dataset(tmp_path, runs_dir, capsys):
    data = tmp_path / "train.csv"
    data.write_text("text,label\n")
    code, record, _ = run_cli(capsys, "train", "--data", str(data), "--runs-dir", str(runs_dir))
    assert code == 2 and "has no rows" in record["error"]
    assert_no_run(runs_dir)


def test_gpu_the_machine_does_not_have(runs_dir, capsys, datasets_dir):
    # Always a missing index, on a CPU machine or a GPU one; it used to train on the CPU quietly.
    from workbench.train.launch import available_gpus

    missing = str(len(available_gpus()) + 7)
    code, record, _ = run_cli(capsys, "train", "--data", str(datasets_dir / "sst2"), "--devices", missing,
                              "--max-steps", "1", "--runs-dir", str(runs_dir))
    assert code == 2
    assert record["problems"][0][0] == "devices"
    assert f"GPU {missing} asked for, but this machine has" in record["error"]
    assert_no_run(runs_dir)


def test_negative_learning_rate(runs_dir, capsys, datasets_dir):
    code, record, _ = run_cli(capsys, "train", "--data", str(datasets_dir / "sst2"), "--lr", "-0.001",
                              "--runs-dir", str(runs_dir))
    assert code == 2
    assert "train.learning_rate: -0.001 must be a positive number" in record["error"]
    assert_no_run(runs_dir)


@pytest.mark.parametrize("method, words", [
    ("qlora", "method.type: 'qlora' is not available yet; choose one of full, freeze, lora"),
    ("lorra", "method.type: 'lorra' is not a method; choose one of full, freeze, lora"),
])
def test_a_method_there_is_no_default_for(runs_dir, capsys, datasets_dir, method, words):
    # The learning-rate defaults are per method: filling them in for an unknown one was a KeyError.
    for command in ("train", "check"):
        code, record, err = run_cli(capsys, command, "--data", str(datasets_dir / "sst2"), "--method", method,
                                    "--runs-dir", str(runs_dir))
        assert code == 2 and words in record["error"] and "unexpected" not in err
    assert_no_run(runs_dir)


def test_a_number_that_is_not_one(runs_dir, capsys, datasets_dir):
    # YAML reads .nan and .inf as numbers: an infinite epoch count was "OverflowError (unexpected)".
    code, record, err = run_cli(capsys, "train", "--data", str(datasets_dir / "sst2"), "--set", "train.epochs=.inf",
                                "--set", "train.weight_decay=.nan", "--runs-dir", str(runs_dir))
    assert code == 2 and "unexpected" not in err
    assert record["problems"] == [["train.epochs", "inf is not a number that can be used; give a finite number"],
                                  ["train.weight_decay", "nan is not a number that can be used; give a finite number"]]
    assert_no_run(runs_dir)


def test_a_flag_and_a_set_that_disagree_are_refused(capsys, datasets_dir):
    # --set silently won over the flag: the run trained 2 epochs where the command line also said 3.
    code, record, err = run_cli(capsys, "check", "--data", str(datasets_dir / "sst2"), "--epochs", "3",
                                "--set", "train.epochs=2", "--max-train-samples", "64")
    assert code == 2 and record["problems"] == [
        ["train.epochs", "is given twice, as --epochs 3.0 and --set train.epochs=2; keep one"]]
    assert "Traceback" not in err
    # The same value twice is only redundant.
    from workbench.cli import build_parser, config_from_args
    args = build_parser().parse_args(["check", "--data", "x.csv", "--lr", "1e-4", "--set", "train.learning_rate=1e-4"])
    assert config_from_args(args).train.learning_rate == 1e-4


def test_check_command_reports_columns_and_labels(capsys, datasets_dir):
    code, record, _ = run_cli(capsys, "check", "--data", str(datasets_dir / "mrpc"))
    assert code == 0 and record["columns"]["text_pair"] == "sentence2"
    assert record["rows"] == {"test": 1725, "train": 3668, "validation": 408}
    code, record, _ = run_cli(capsys, "check", "--data", str(datasets_dir / "mrpc"), "--text-column", "sentence2",
                              "--text-pair-column", "sentence1", "--label-column", "label")
    assert code == 0 and record["columns"] == {"text": "sentence2", "text_pair": "sentence1", "label": "label"}
    assert record["problems"] == []
    # The run the config would make: 64 MRPC rows in batches of 32 for one epoch is 2 steps.
    code, record, err = run_cli(capsys, "check", "--data", str(datasets_dir / "mrpc"), "--max-train-samples", "64",
                                "--batch-size", "32")
    assert code == 0 and record["problems"] == [
        "WARNING: [train] this run makes only 2 optimizer steps (64 training rows in batches of 32, 1 epoch): "
        "too few to learn from; raise train.epochs (e.g. 5) or lower train.batch_size"]
    assert "Data OK, with warnings" in err


def test_check_and_train_warn_of_another_methods_settings(runs_dir, capsys, datasets_dir):
    # `--set method.lora.r=8` on the default full method would otherwise do nothing without a word.
    code, record, err = run_cli(capsys, "check", "--data", str(datasets_dir / "sst2"), "--set", "method.lora.r=8")
    assert code == 0 and record["problems"] == [
        "WARNING: method.lora.r=8 is ignored: the method is full, and only a lora run reads method.lora; "
        "give --method lora to use it, or drop it"]
    code, record, err = run_cli(capsys, "train", "--data", str(datasets_dir / "sst2"), "--method", "lora",
                                "--set", "method.freeze.trainable_layers=4", "--max-train-samples", "32",
                                "--max-eval-samples", "32", "--set", "train.max_steps=1", "--runs-dir", str(runs_dir))
    assert code == 0 and "WARNING: method.freeze.trainable_layers=4 is ignored" in err  # before the run
    # ... and the run keeps it: its log, and its status (the Monitor's warnings, the JSON line).
    assert any("method.freeze.trainable_layers=4 is ignored" in w for w in record["warnings"])
    assert "method.freeze.trainable_layers=4 is ignored" in (runs_dir / record["run_id"] / "train.log").read_text()


def test_check_says_which_texts_max_length_cuts_before_the_run(capsys, datasets_dir):
    # AG News articles run to ~120 MiniLM tokens: 64 cuts some, the default 128 almost none.
    code, record, _ = run_cli(capsys, "check", "--data", str(datasets_dir / "ag_news"), "--set", "task.max_length=64")
    assert code == 0
    [warning] = [p for p in record["problems"] if "task.max_length" in p]
    assert warning.startswith("WARNING: [train] ") and "of 5,000 sampled) are longer than task.max_length (64 tokens)" in warning
    assert warning.endswith("keeps 99 % of them whole, at some cost in speed")
    code, record, _ = run_cli(capsys, "check", "--data", str(datasets_dir / "ag_news"))
    assert code == 0 and not [p for p in record["problems"] if "task.max_length" in p]


def test_check_refuses_what_train_would_refuse_before_the_data(runs_dir, capsys, datasets_dir):
    # `check` is the pre-flight of `train`: a LoRA module the model lacks used to pass it, and the
    # run then failed in peft with "No modules were targeted for adaptation".
    for command in ("check", "train"):
        code, record, _ = run_cli(capsys, command, "--data", str(datasets_dir / "sst2"), "--method", "lora",
                                  "--set", "method.lora.target_modules=[query,q_proj]", "--runs-dir", str(runs_dir))
        assert code == 2 and record["problems"] == [[
            "method.lora.target_modules", "'q_proj' is not a module of this model; its layers have dense, "
            "key, query, value: pick from those, or auto"]], (command, record)
    assert_no_run(runs_dir)


def test_a_model_folder_without_its_tokenizer_is_refused_before_a_run(runs_dir, capsys, tmp_path, datasets_dir):
    # model.save_pretrained alone: transformers would build a 5-token tokenizer from config.json,
    # every word [UNK], and the run would train on that without an error.
    from workbench.catalog import bundled_model_path

    folder = tmp_path / "saved-without-tokenizer"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).symlink_to(bundled_model_path("minilm-l6") / name)
    for command in ("check", "train"):
        code, record, _ = run_cli(capsys, command, "--model", str(folder), "--data", str(datasets_dir / "sst2"),
                                  "--runs-dir", str(runs_dir))
        assert code == 2 and record["error"] == (
            f"the tokenizer in '{folder}' knows 5 tokens but the model has 30,522: the folder lacks its "
            "tokenizer files (tokenizer.json, vocab.txt, ...). Save them beside the model "
            "(tokenizer.save_pretrained(folder)), or copy them from the model it was trained from"), command
    assert_no_run(runs_dir)


def test_train_runs_eval_and_resume_refusal(runs_dir, capsys, datasets_dir):
    code, record, _ = run_cli(
        capsys, "train", "--data", str(datasets_dir / "sst2"), "--method", "lora", "--max-steps", "2",
        "--max-train-samples", "32", "--max-eval-samples", "16", "--batch-size", "8",
        "--runs-dir", str(runs_dir), "--set", "train.eval_steps=50", "--set", "task.max_length=32")
    assert code == 0 and record["status"] == "finished"
    assert set(record) >= {"run_id", "status", "output", "metrics"} and "accuracy" in record["metrics"]
    assert any("reach task.max_length (32 tokens)" in w for w in record["warnings"]), record.get("warnings")

    code, listing, _ = run_cli(capsys, "runs", "--json", "--runs-dir", str(runs_dir))
    assert [r["id"] for r in listing["runs"]] == [record["run_id"]]
    assert 0 < listing["runs"][0]["disk_megabytes"] < 10  # a LoRA run: the adapter, not the encoder

    code, evaluated, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(datasets_dir / "sst2"),
                                 "--split", "validation", "--runs-dir", str(runs_dir))
    assert code == 0 and evaluated["metrics"]["rows"] == 872 and 0 <= evaluated["metrics"]["accuracy"] <= 1
    # Data to score can hold one class only (training data could not): every positive dev sentence.
    dev = (datasets_dir / "sst2" / "dev.tsv").read_text().splitlines()
    positives = runs_dir.parent / "positives.tsv"
    positives.write_text("\n".join([dev[0]] + [line for line in dev[1:] if line.endswith("\t1")]) + "\n")
    code, evaluated, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(positives),
                                 "--runs-dir", str(runs_dir))
    assert code == 0 and evaluated["metrics"]["rows"] == 444, evaluated
    assert evaluated["split"] == "all rows"  # one file: not a "train" split
    # Columns named otherwise, beside another text column: named on the command line.
    import pandas as pd

    renamed = runs_dir.parent / "renamed.csv"
    frame = pd.read_csv(positives, sep="\t").rename(columns={"sentence": "review", "label": "stars"})
    frame.insert(0, "headline", frame["review"].str.upper() + " -- from the archive of long headlines")
    frame.to_csv(renamed, index=False)
    code, evaluated, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(renamed), "--text-column",
                                 "review", "--label-column", "stars", "--runs-dir", str(runs_dir))
    assert code == 0 and evaluated["metrics"]["rows"] == 444, evaluated
    code, refused, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(renamed), "--text-column",
                               "reviews", "--runs-dir", str(runs_dir))
    assert code == 2 and "'reviews' is not a column (did you mean 'review'?); the file has 'headline', 'review', 'stars'" \
        in refused["error"]
    # MRPC's sentence pairs to a single-sentence model: refused, not scored as garbage.
    code, refused, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(datasets_dir / "mrpc"),
                               "--runs-dir", str(runs_dir))
    assert code == 2
    assert "was trained on single texts ('sentence')" in refused["error"]
    assert "pairs 'sentence1' with 'sentence2'" in refused["error"]

    # A damaged model file: one message naming the run and the file's problem, no traceback.
    weights = runs_dir / record["run_id"] / "model" / "adapter_model.safetensors"  # a LoRA run
    intact = weights.read_bytes()
    weights.write_bytes(intact[:1000])
    code, refused, _ = run_cli(capsys, "eval", record["run_id"], "--data", str(datasets_dir / "sst2"),
                               "--runs-dir", str(runs_dir))
    assert code == 2 and f"the model of run {record['run_id']}" in refused["error"]
    assert "could not be loaded: SafetensorError" in refused["error"]
    weights.write_bytes(intact)

    code, refused, _ = run_cli(capsys, "resume", record["run_id"], "--runs-dir", str(runs_dir))
    assert code == 2 and "already finished" in refused["error"]
    code, refused, _ = run_cli(capsys, "abort", record["run_id"], "--runs-dir", str(runs_dir))
    assert code == 2 and "nothing to abort" in refused["error"]


def test_train_help_names_the_choices(capsys):
    # The flags' help is built from the config's own lists, so it cannot drift from what validates.
    from workbench.catalog import BUNDLED
    from workbench.config import METHODS, TASKS

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for choice in (*BUNDLED, *METHODS, *TASKS):
        assert choice in text
    assert "lora 0.001" in text  # the method-aware default learning rate


def test_runs_table_shows_names_and_why_a_run_failed(runs_dir, capsys):
    import subprocess
    import sys

    from workbench.config import RunConfig
    from workbench.runs.store import create_run, process_identity

    named = create_run(RunConfig.from_dict({"name": "baseline-lr1e-4", "data": {"path": "x.csv"}, "runs_dir": str(runs_dir)}))
    killed = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(runs_dir)}))
    # A training process that died without reporting: a real process, started and gone.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(gone.pid)
    gone.wait()
    killed.update_status(status="running", **identity)

    code = main(["runs", "--runs-dir", str(runs_dir)])
    table = capsys.readouterr().out.splitlines()
    assert code == 0 and table[0].split() == ["id", "name", "status", "method", "step", "accuracy", "disk", "started"]
    row = next(i for i, line in enumerate(table) if line.startswith(killed.id))
    assert table[row].split()[1] == "failed"
    assert table[row + 1].strip().startswith("error: the training process ended without reporting")
    # The whole message, wrapped under the row: its end says how to go on (a cut at 160 characters dropped it).
    error = " ".join(line.strip() for line in table[row + 1:row + 5] if not line.startswith(named.id))
    assert f"`workbench resume {killed.id}`, starts it again from step 0" in error
    assert max(len(line) for line in table[row + 1:]) <= len(killed.id) + 2 + 100
    assert any(line.startswith(named.id) and "baseline-lr1e-4" in line for line in table)


def test_runs_of_a_runs_dir_that_is_a_file_says_so(tmp_path, capsys):
    # It said "no runs in ...", as if the runs were gone.
    file = tmp_path / "runs"
    file.write_text("")
    for flags in ([], ["--json"]):
        code, refused, _ = run_cli(capsys, "runs", *flags, "--runs-dir", str(file))
        assert code == 2
        assert refused["error"] == f"--runs-dir '{file}' is a file, not a folder; give the folder the runs are in"


def test_delete_removes_a_stopped_run_and_refuses_an_active_one(runs_dir, capsys):
    from workbench.config import RunConfig
    from workbench.runs.store import create_run

    cfg = RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(runs_dir)})
    queued, other = create_run(cfg), create_run(cfg)
    code, refused, _ = run_cli(capsys, "delete", queued.id, "--runs-dir", str(runs_dir))
    assert code == 2 and refused["error"] == (f"run {queued.id} is queued; abort it before deleting (Abort in "
                                              f"the Monitor tab, or `workbench abort {queued.id} --wait`)")
    assert queued.dir.is_dir()
    run_cli(capsys, "abort", queued.id, "--runs-dir", str(runs_dir))
    code, record, _ = run_cli(capsys, "delete", queued.id, "--runs-dir", str(runs_dir))
    assert code == 0 and record == {"run_id": queued.id, "status": "deleted", "output": str(queued.dir)}
    assert not queued.dir.exists() and other.dir.is_dir()
    code, refused, _ = run_cli(capsys, "delete", queued.id, "--runs-dir", str(runs_dir))
    assert code == 2 and "no run" in refused["error"]


def test_a_config_reads_relative_paths_beside_itself_when_missing_here(tmp_path, capsys, monkeypatch):
    import shutil

    from workbench.ui.workspace import DEMO_DATA

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(DEMO_DATA, project / "tickets.csv")
    (project / "run.yaml").write_text("data: {path: tickets.csv}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, record, err = run_cli(capsys, "check", str(project / "run.yaml"))
    assert code == 0 and record["rows"] == {"train": 180}
    assert f"data.path 'tickets.csv' read relative to the config file: {project / 'tickets.csv'}" in err

    # Missing everywhere: the message says where relative paths start from.
    (project / "run.yaml").write_text("data: {path: missing.csv}\n")
    code, record, _ = run_cli(capsys, "check", str(project / "run.yaml"))
    assert code == 2 and f"does not exist (relative paths start from {elsewhere})" in record["error"]


def test_delete_checkpoints_of_a_finished_run_keeps_its_model(runs_dir, capsys, datasets_dir):
    from tests.train.test_training import tiny_config
    from workbench.runs.store import create_run, folder_bytes
    from workbench.train.main import execute

    run = create_run(tiny_config(datasets_dir, runs_dir, "full", max_steps=3, save_steps=1))
    assert execute(run)["status"] == "finished"
    size = folder_bytes(run.checkpoints_dir)
    assert size > 2 * 250 * 2**20  # two kept checkpoints of weights and AdamW moments
    code, record, _ = run_cli(capsys, "delete", run.id, "--checkpoints", "--runs-dir", str(runs_dir))
    assert code == 0 and record == {"run_id": run.id, "status": "checkpoints deleted", "output": str(run.dir),
                                    "freed_megabytes": round(size / 2**20, 1)}
    assert not run.checkpoints_dir.exists() and run.status()["status"] == "finished"
    code, record, _ = run_cli(capsys, "eval", run.id, "--data", str(datasets_dir / "sst2"), "--split",
                              "validation", "--runs-dir", str(runs_dir))
    assert code == 0 and 0 <= record["metrics"]["accuracy"] <= 1  # the model did not need them


def test_delete_checkpoints_refuses_a_run_that_can_still_resume(runs_dir, capsys):
    from workbench.config import RunConfig
    from workbench.runs.store import create_run

    run = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(runs_dir)}))
    run.request_abort()  # queued, then aborted: resume would start it
    code, refused, _ = run_cli(capsys, "delete", run.id, "--checkpoints", "--runs-dir", str(runs_dir))
    assert code == 2 and refused["error"] == (f"run {run.id} is aborted: its checkpoints are what resume "
                                              "continues from; resume it, or delete the whole run")
    assert run.dir.is_dir()


def test_a_run_the_disk_cannot_hold_is_refused_before_it_exists(runs_dir, capsys, datasets_dir):
    # A checkpoint at every one of a million steps, all kept: tens of TB.
    flags = ["--data", str(datasets_dir / "sst2"), "--max-steps", "1000000", "--runs-dir", str(runs_dir),
             "--set", "train.save_steps=1", "--set", "train.save_total_limit=1000000"]
    for command in ("check", "train"):
        code, record, err = run_cli(capsys, command, *flags)
        assert code == 2 and record["error"].startswith("not enough disk space: this run writes about ")
        assert " TB (its checkpoints and the final model)" in record["error"]
        assert "Traceback" not in err
    assert_no_run(runs_dir)
    code, record, _ = run_cli(capsys, "check", *flags[:-4])  # the default checkpoints fit
    assert code == 0 and record["status"] == "ok"


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(sst2_run):
    """`workbench runs | head -1`: head closes the pipe; the command exits without a traceback."""
    import subprocess
    import sys

    for command in (["runs"], ["runs", "--json"], ["predict", sst2_run.id, "--text", "a gripping film"]):
        process = subprocess.Popen([sys.executable, "-m", "workbench", *command, "--runs-dir",
                                    str(sst2_run.dir.parent)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()  # before the command writes anything: its first write meets a closed pipe
        errors = process.stderr.read().decode()
        assert process.wait() == 141, (command, errors)
        assert "Traceback" not in errors and "BrokenPipeError" not in errors, (command, errors)


def test_a_detached_run_reports_the_warnings_known_before_it_starts(runs_dir, capsys, datasets_dir):
    code, queued, _ = run_cli(capsys, "train", "--model", "minilm-l6", "--data", str(datasets_dir / "sst2"),
                              "--max-train-samples", "64", "--max-eval-samples", "32", "--runs-dir", str(runs_dir),
                              "--detach")
    try:
        assert code == 0 and queued["status"] in ("queued", "running")
        assert [w for w in queued["warnings"] if "optimizer steps" in w], queued
    finally:
        assert main(["abort", queued["run_id"], "--runs-dir", str(runs_dir), "--wait"]) == 0


def test_a_run_whose_data_is_gone_is_refused_on_resume_and_stays_aborted(runs_dir, capsys, tmp_path, datasets_dir):
    import shutil

    from workbench.config import RunConfig
    from workbench.runs.store import create_run

    data = tmp_path / "reviews.tsv"
    shutil.copy(datasets_dir / "sst2" / "dev.tsv", data)
    run = create_run(RunConfig.from_dict({"data": {"path": str(data)}, "runs_dir": str(runs_dir)}).resolve())
    run.update_status(status="aborted")
    data.unlink()  # moved away since the run stopped
    code, refused, _ = run_cli(capsys, "resume", run.id, "--runs-dir", str(runs_dir))
    assert code == 2 and refused["error"].startswith(f"run {run.id} cannot resume: data path '{data}' does not exist")
    assert run.status()["status"] == "aborted"  # still resumable once the file is back


def test_check_names_unreadable_files_and_the_problems_of_the_others_at_once(capsys, datasets_dir, tmp_path):
    # An unreadable dev.csv was the only message: train's empty texts came one check later.
    from tests.broken_data import folder_with_two_unreadable_files

    folder = folder_with_two_unreadable_files(datasets_dir, tmp_path / "data")
    code, record, err = run_cli(capsys, "check", "--data", str(folder))
    assert code == 2 and record["status"] == "invalid"
    assert record["problems"] == [
        "ERROR: [validation] 'dev.csv' is not UTF-8 text (line 4 has byte 0xe9, perhaps Latin-1 or Windows-1252); "
        "save it as UTF-8 and try again",
        "ERROR: [test] 'test.csv' is not a well-formed CSV file: line 32 has more fields than the header (2). Quote "
        'fields that contain a comma ("like, this") or fix that line',
        "ERROR: [train] empty text in column 'sentence'; fill these rows in or delete them (line 5, line 11)"]
    assert "Traceback" not in err
    code, refused, _ = run_cli(capsys, "train", "--data", str(folder), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and refused["problems"] == record["problems"]
    assert_no_run(tmp_path / "runs")


def test_a_saved_config_run_with_another_method_gets_that_methods_rates(tmp_path, capsys):
    # A run's config.yaml holds full fine-tuning's automatic 1e-4; run again with --method lora, LoRA
    # trained at a tenth of its own rate (1e-3) without a word.
    from workbench.cli import build_parser, config_from_args
    from workbench.config import RunConfig, default_learning_rates

    saved = tmp_path / "config.yaml"
    RunConfig.from_dict({"data": {"path": "x.csv"}}).resolve().save(saved)

    def rates(*argv):
        cfg = config_from_args(build_parser().parse_args(["check", str(saved), *argv])).resolve()
        return cfg.train.learning_rate, cfg.train.head_learning_rate

    assert rates() == default_learning_rates("full", 384)  # the same method: the saved rates
    assert rates("--method", "lora") == default_learning_rates("lora", 384) == (1e-3, 3e-3)
    assert "is the automatic rate of full on minilm-l6; lora on minilm-l6 gets its own" in capsys.readouterr().err
    # A rate given on the command line, even the saved one, stays.
    assert rates("--method", "lora", "--lr", "1e-4") == (1e-4, 3e-3)
    # One chosen by hand in the file stays too, with a warning.
    RunConfig.from_dict({"data": {"path": "x.csv"}, "train": {"learning_rate": 3e-5}}).resolve().save(saved)
    assert rates("--method", "lora")[0] == 3e-5
    assert "warning: train.learning_rate 3e-05 in the config file was chosen for full on minilm-l6" in capsys.readouterr().err


def test_a_model_given_where_a_run_goes_is_named_as_a_model(sst2_run, tmp_path, capsys):
    # 'there is no run .../model in runs' read as if the path did not exist.
    runs = str(sst2_run.dir.parent)
    code, refused, _ = run_cli(capsys, "eval", str(sst2_run.model_dir), "--data", "dev.csv", "--runs-dir", runs)
    assert code == 2 and refused["error"] == (f"'{sst2_run.model_dir}' is the model folder of run {sst2_run.id}; "
                                              f"give the run itself: {sst2_run.dir}")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    for command in (("predict", str(gguf), "--text", "fine"), ("export", str(gguf))):
        code, refused, _ = run_cli(capsys, *command, "--runs-dir", runs)
        assert code == 2 and refused["error"] == (
            f"'{gguf}' is a model, not a run: give a finished run's id or folder (`workbench runs` lists them); "
            f"to fine-tune this model first, `workbench train --model {gguf} --data ...`")
    code, refused, _ = run_cli(capsys, "compare", sst2_run.id, "nope", "--runs-dir", runs)
    assert code == 2 and refused["error"] == f"there is no run 'nope' in {runs}; `workbench runs` lists them"
