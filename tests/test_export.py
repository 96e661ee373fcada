"""`workbench export`: a LoRA run's model merged into one folder that plain transformers loads."""

from __future__ import annotations

import shutil

from tests.tasks.test_pooled_classifier import assert_loads_without_workbench
from tests.test_cli import run_cli


def test_a_lora_run_exports_merged_and_loads_without_the_workbench(datasets_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    code, trained, _ = run_cli(
        capsys, "train", "--data", str(datasets_dir / "sst2"), "--method", "lora", "--max-steps", "3",
        "--max-train-samples", "48", "--max-eval-samples", "16", "--batch-size", "16", "--runs-dir", str(runs),
        "--set", "train.eval_steps=50", "--set", "task.max_length=32", "--set", "data.label_names=[negative,positive]")
    assert code == 0, trained
    run_dir = runs / trained["run_id"]
    assert (run_dir / "model" / "adapter_model.safetensors").is_file()  # the run itself keeps the adapter

    code, exported, _ = run_cli(capsys, "export", trained["run_id"], "--output", str(tmp_path / "deploy"),
                                "--runs-dir", str(runs))
    assert code == 0, exported
    folder = tmp_path / "deploy"
    assert exported["export"] == str(folder) and exported["labels"] == ["negative", "positive"]
    assert {"config.json", "model.safetensors", "pooled_classifier.py", "tokenizer.json"} <= set(exported["files"])
    assert not (folder / "adapter_config.json").exists()  # merged: no peft needed
    assert 80 < exported["megabytes"] < 100  # MiniLM-L6's 22.7M parameters in fp32

    assert_loads_without_workbench(folder, run_dir / "predictions.jsonl", 32, tmp_path)

    # The exported folder is a local model like any other: the base of a next run.
    code, next_run, _ = run_cli(
        capsys, "train", "--model", str(folder), "--data", str(datasets_dir / "sst2"), "--method", "full",
        "--max-steps", "1", "--max-train-samples", "16", "--max-eval-samples", "8", "--batch-size", "8",
        "--runs-dir", str(runs), "--set", "train.eval_steps=50", "--set", "task.max_length=32")
    assert code == 0 and next_run["status"] == "finished", next_run

    # A second export into the same folder would mix two models: refused.
    code, refused, _ = run_cli(capsys, "export", trained["run_id"], "--output", str(folder), "--runs-dir", str(runs))
    assert code == 2 and refused["error"] == f"'{folder}' is not empty; export into a new or empty folder"
    (tmp_path / "a_file").write_text("")
    code, refused, _ = run_cli(capsys, "export", trained["run_id"], "--output", str(tmp_path / "a_file"),
                               "--runs-dir", str(runs))
    assert code == 2 and refused["error"].endswith("is a file; export into a new or empty folder")


def test_a_t5_encoder_run_evaluates_explains_and_exports_a_folder_plain_transformers_loads(
        datasets_dir, tmp_path, capsys, tiny_t5_folder):
    from workbench.analysis import integrated_gradients, load_model
    from workbench.runs.store import Run

    runs = tmp_path / "runs"
    code, trained, _ = run_cli(
        capsys, "train", "--model", str(tiny_t5_folder), "--data", str(datasets_dir / "sst2"), "--max-steps", "2",
        "--max-train-samples", "32", "--max-eval-samples", "16", "--batch-size", "16", "--runs-dir", str(runs),
        "--set", "train.eval_steps=50", "--set", "task.max_length=32", "--set", "data.label_names=[negative,positive]")
    assert code == 0 and trained["status"] == "finished", trained
    run = Run(runs / trained["run_id"])
    code, evaluated, _ = run_cli(capsys, "eval", trained["run_id"], "--data", str(datasets_dir / "sst2"),
                                 "--split", "validation", "--runs-dir", str(runs))
    assert code == 0 and evaluated["status"] == "finished", evaluated  # the saved model loads back

    model, tokenizer, _ = load_model(run)
    assert type(model.encoder).__name__ == "T5EncoderModel"
    attribution = integrated_gradients(model, tokenizer, "a gorgeous , witty , seductive movie .")
    assert any(abs(score) > 0 for score in attribution.scores)  # the hook sits on the embedding T5 calls

    code, exported, _ = run_cli(capsys, "export", trained["run_id"], "--output", str(tmp_path / "deploy"),
                                "--runs-dir", str(runs))
    assert code == 0, exported
    # Its tied embedding is saved once; plain transformers ties it back instead of initialising it.
    loaded = assert_loads_without_workbench(tmp_path / "deploy", run.predictions_path, 32, tmp_path)
    assert loaded["class"] == "PooledClassifier"


def test_an_export_the_disk_cannot_hold_is_named_and_leaves_nothing_behind(sst2_run, make_small_disk, capsys):
    # safetensors reports a full disk as its own error, not an OSError: it ended as 'unexpected',
    # with the half-written model left in a hidden .deploy.tmp folder.
    disk = make_small_disk(20)  # MiniLM-L6's weights take 87 MB
    code, refused, _ = run_cli(capsys, "export", sst2_run.id, "--output", str(disk / "deploy"),
                               "--runs-dir", str(sst2_run.dir.parent))
    assert code == 2 and refused["error"] == (f"cannot export to '{disk / 'deploy'}': No space left on device; "
                                              "choose another --output, or free space there (the model takes "
                                              "about 86 MB)")
    assert list(disk.iterdir()) == []


def test_a_second_export_to_the_default_folder_says_where_the_first_is(sst2_run, tmp_path, capsys):
    shutil.copytree(sst2_run.dir, tmp_path / sst2_run.id, ignore=shutil.ignore_patterns("checkpoints"))
    args = ("export", sst2_run.id, "--runs-dir", str(tmp_path))
    code, exported, _ = run_cli(capsys, *args)
    assert code == 0 and exported["export"] == str(tmp_path / sst2_run.id / "export")
    code, refused, _ = run_cli(capsys, *args)  # was "not empty; export into a new or empty folder", no flag named
    assert code == 2 and refused["error"] == (f"run {sst2_run.id} was exported before, to '{exported['export']}': use "
                                              "that folder, or give --output with a new or empty folder for another copy")
