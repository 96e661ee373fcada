"""Balanced class weights: real tiny runs of MiniLM on an imbalanced sample of SST-2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.config import RunConfig
from workbench.runs.store import create_run
from workbench.train.main import execute
from workbench.train.pipeline import balanced_class_weights


def test_balanced_weights_are_rows_over_classes_times_class_rows():
    weights = balanced_class_weights([0] * 9 + [1], 2)
    assert weights.tolist() == pytest.approx([10 / (2 * 9), 10 / (2 * 1)])


@pytest.fixture(scope="module")
def imbalanced_sst2(datasets_dir, tmp_path_factory):
    """10 negative sentences to 1 positive in train; a balanced dev split."""
    folder = tmp_path_factory.mktemp("imbalanced")
    train = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t")
    sample = pd.concat([train[train.label == 0].head(300), train[train.label == 1].head(30)])
    sample.sample(frac=1, random_state=0).to_csv(folder / "train.csv", index=False)
    pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(200).to_csv(folder / "dev.csv", index=False)
    return folder


def positive_recall(run) -> float:
    rows = [json.loads(line) for line in run.predictions_path.open()]
    positives = [r for r in rows if r["gold"] == "1"]
    return sum(r["predicted"] == "1" for r in positives) / len(positives)


def test_balanced_weights_lift_the_rare_class(imbalanced_sst2, tmp_path):
    recalls = {}
    for weighting in ("none", "balanced"):
        cfg = RunConfig.from_dict({
            "data": {"path": str(imbalanced_sst2)}, "task": {"max_length": 48},
            "train": {"epochs": 2, "batch_size": 16, "class_weights": weighting, "eval_steps": 1000},
            "runs_dir": str(tmp_path)}).resolve()
        run = create_run(cfg)
        status = execute(run)
        assert status["status"] == "finished", status.get("error")
        assert any("classes are imbalanced (300:30)" in w and "train.class_weights: balanced" in w
                   for w in status["warnings"])
        recalls[weighting] = positive_recall(run)
    log = run.log_path.read_text()
    assert "class weights (balanced): 0 0.55, 1 5.50" in log
    # Unweighted, the rare positive class is mostly predicted negative; weighted, far less so.
    assert recalls["balanced"] > recalls["none"] + 0.2, recalls
