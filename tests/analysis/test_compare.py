"""Two real runs on the same SST-2 dev rows, compared: counts, accuracies, McNemar, refusals."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.test_cli import run_cli
from workbench.analysis import compare_runs
from workbench.errors import WorkbenchError
from workbench.runs.store import create_run
from workbench.train.main import execute


def second_run(sst2_run, tmp_path, **data):
    """A barely trained run (5 steps) on the fixture run's data config: the same 200 dev rows."""
    cfg = sst2_run.config()
    cfg.data.max_train_samples, cfg.train.max_steps, cfg.train.eval_steps = 80, 5, 1000
    for key, value in data.items():
        setattr(cfg.data, key, value)
    cfg.runs_dir = str(tmp_path)
    run = create_run(cfg)
    assert execute(run)["status"] == "finished"
    return run


def test_a_trained_run_against_a_barely_trained_one(sst2_run, tmp_path, capsys):
    weak = second_run(sst2_run, tmp_path)
    c = compare_runs(sst2_run, weak)
    assert c.examples == 200
    assert c.both_right + c.only_a_right + c.only_b_right + c.both_wrong == 200
    assert c.accuracy_a == pytest.approx(sst2_run.status()["metrics"]["accuracy"])
    assert c.accuracy_b == pytest.approx(weak.status()["metrics"]["accuracy"])
    assert (c.both_right + c.only_a_right) / 200 == pytest.approx(c.accuracy_a)
    # Where the runs predict differently, each disagreement is listed with both predictions.
    gold = [json.loads(line)["predicted"] for line in sst2_run.predictions_path.open()]
    other = [json.loads(line)["predicted"] for line in weak.predictions_path.open()]
    assert len(c.disagreements) == sum(x != y for x, y in zip(gold, other))
    assert (c.disagreements["predicted_a"] != c.disagreements["predicted_b"]).all()
    # About 0.8 against a model 5 steps in: far more than chance.
    assert c.accuracy_a - c.accuracy_b > 0.1 and c.p_value < 1e-3
    assert c.verdict().startswith(f"{sst2_run.id} is more accurate by ")

    # The same comparison from the command line, both runs in one runs folder, the disagreements
    # written out.
    shutil.copytree(sst2_run.dir, tmp_path / sst2_run.id, ignore=shutil.ignore_patterns("checkpoints", "model"))
    out = tmp_path / "disagreements.csv"
    code, record, err = run_cli(capsys, "compare", sst2_run.id, weak.id, "--output", str(out),
                                "--runs-dir", str(tmp_path))
    assert code == 0 and record["runs"] == [sst2_run.id, weak.id]
    assert record["accuracy"] == [c.accuracy_a, c.accuracy_b] and record["p_value"] == c.p_value
    assert record["verdict"] == c.verdict() and c.verdict() in err
    assert len(pd.read_csv(out)) == record["predictions_differ"] == len(c.disagreements)
    # The same id twice is a slip, not a comparison (the app's list leaves the run itself out).
    code, record, _ = run_cli(capsys, "compare", weak.id, weak.id, "--runs-dir", str(tmp_path))
    assert code == 2 and record["error"] == (f"RUN_A and RUN_B are both run {weak.id}; give two different runs "
                                             "(`workbench runs` lists them)")


def test_a_run_against_itself_and_against_other_rows(sst2_run, tmp_path):
    itself = compare_runs(sst2_run, sst2_run)
    assert itself.p_value == 1.0 and itself.disagreements.empty and itself.only_a_right == 0
    assert "within what chance gives on 200 examples (p = 1)" in itself.verdict()
    other_rows = second_run(sst2_run, tmp_path, max_eval_samples=100)
    with pytest.raises(WorkbenchError, match=r"evaluated on different examples \(200 and 100\)"):
        compare_runs(sst2_run, other_rows)


def test_pair_runs_list_both_texts_of_each_disagreement(datasets_dir, tmp_path):
    from workbench.config import RunConfig

    runs = []
    for steps in (1, 4):
        cfg = RunConfig.from_dict({
            "data": {"path": str(datasets_dir / "mrpc"), "max_train_samples": 64, "max_eval_samples": 32},
            "task": {"max_length": 64}, "train": {"max_steps": steps, "batch_size": 16, "eval_steps": 1000},
            "runs_dir": str(tmp_path)}).resolve()
        run = create_run(cfg)
        assert execute(run)["status"] == "finished"
        runs.append(run)
    c = compare_runs(*runs)
    assert len(c.disagreements) > 0  # 1 step against 4: some examples are labelled differently
    assert list(c.disagreements.columns) == ["text", "text_pair", "gold", "predicted_a", "predicted_b",
                                             "confidence_a", "confidence_b"]
    dev = pd.read_json(datasets_dir / "mrpc" / "validation.jsonl", lines=True)
    pairs = dict(zip(dev["sentence1"], dev["sentence2"]))
    assert all(pairs[t] == p for t, p in zip(c.disagreements["text"], c.disagreements["text_pair"]))


def test_disagreements_go_into_a_new_folder_and_a_path_that_cannot_be_written_is_named(sst2_run, tmp_path, capsys):
    # Two copies of the fixture's run (predictions and status are all compare reads): no training.
    for copy in ("a", "b"):
        shutil.copytree(sst2_run.dir, tmp_path / copy, ignore=shutil.ignore_patterns("checkpoints", "model"))
    args = ("compare", "a", "b", "--runs-dir", str(tmp_path), "--output")
    code, record, _ = run_cli(capsys, *args, str(tmp_path / "new" / "differ.csv"))  # was an 'unexpected' OSError
    assert code == 0 and record["disagreements_file"] == str(tmp_path / "new" / "differ.csv")
    assert (tmp_path / "new" / "differ.csv").is_file()
    code, record, _ = run_cli(capsys, *args, str(tmp_path / "new"))
    assert code == 2 and record["error"] == (f"cannot write the disagreements to '{tmp_path / 'new'}': Is a "
                                             "directory; choose another --output")
