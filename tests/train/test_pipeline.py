"""How a RunConfig becomes the Trainer's arguments (train/arguments.py)."""

from __future__ import annotations

import pytest

from workbench.config import RunConfig
from workbench.runs.store import create_run
from workbench.train.arguments import training_arguments


@pytest.mark.parametrize("train_rows, logging_steps", [
    (40, 1),      # 3 steps: every step is a point
    (162, 1),     # the demo: 11 steps
    (800, 3),     # 50 steps: about 17 points
    (4000, 10),   # the SST-2 benchmark: 250 steps, every 10th
    (100000, 10),
])
def test_auto_logging_draws_a_curve_even_for_a_short_run(train_rows, logging_steps, tmp_path):
    cfg = RunConfig.from_dict({"data": {"path": "train.csv"}, "runs_dir": str(tmp_path)}).resolve()
    args = training_arguments(cfg, create_run(cfg), train_rows)
    assert args.logging_steps == logging_steps


def test_logging_steps_set_by_hand_are_kept(tmp_path):
    cfg = RunConfig.from_dict({"data": {"path": "train.csv"}, "train": {"logging_steps": 7},
                               "runs_dir": str(tmp_path)}).resolve()
    assert training_arguments(cfg, create_run(cfg), 40).logging_steps == 7


@pytest.mark.parametrize("train, eval_steps, save_steps", [
    ({"epochs": 10}, 250, 250),                                  # 1,000 steps: about 4 evaluations
    ({"epochs": 10, "select_best": "accuracy"}, 100, 100),       # keeping the best: once an epoch
    ({"epochs": 1, "select_best": "accuracy"}, 25, 25),          # 100 steps: 4 evaluations already
    ({"epochs": 10, "select_best": "loss", "save_steps": 50}, 50, 50),  # at each checkpoint
    ({"epochs": 10, "select_best": "loss", "eval_steps": 40}, 40, 40),
])
def test_evaluation_cadence(train, eval_steps, save_steps, tmp_path):
    cfg = RunConfig.from_dict({"data": {"path": "train.csv"}, "train": {"batch_size": 16, **train},
                               "runs_dir": str(tmp_path)}).resolve()
    args = training_arguments(cfg, create_run(cfg), 1600)  # 100 steps an epoch
    assert (args.eval_steps, args.save_steps) == (eval_steps, save_steps)
    assert args.load_best_model_at_end == ("select_best" in train)
