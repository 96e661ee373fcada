"""Steps a run makes, and the warning when they are too few to learn from or all warmup."""

from __future__ import annotations

import pytest

from workbench.config import RunConfig
from workbench.train.steps import step_count_warning


def _config(tmp_path, **train) -> RunConfig:
    return RunConfig.from_dict({"data": {"path": "train.csv"}, "train": train, "runs_dir": str(tmp_path)}).resolve()


def test_a_batch_larger_than_the_data_is_named_with_its_fix(tmp_path):
    warning = step_count_warning(_config(tmp_path, batch_size=64), 40)
    assert warning == ("this run makes only 1 optimizer step (a batch of 64 takes all 40 training rows at "
                       "once, 1 epoch): too few to learn from; lower train.batch_size below 40")


def test_a_run_of_a_few_steps_suggests_more_epochs(tmp_path):
    warning = step_count_warning(_config(tmp_path, batch_size=16), 100)  # 7 steps
    assert warning.startswith("this run makes only 7 optimizer steps (100 training rows in batches of 16")
    assert warning.endswith("raise train.epochs (e.g. 2) or lower train.batch_size")


def test_a_step_made_large_by_accumulation_names_accumulation(tmp_path):
    warning = step_count_warning(_config(tmp_path, batch_size=16, gradient_accumulation_steps=1000), 180)
    assert warning.endswith("a batch of 16000 takes all 180 training rows at once, 1 epoch): too few to learn "
                            "from; lower train.gradient_accumulation_steps (each step takes 16 x 1000 rows)")
    warning = step_count_warning(_config(tmp_path, batch_size=16, gradient_accumulation_steps=4), 200)
    assert warning.endswith("raise train.epochs (e.g. 3) or lower train.gradient_accumulation_steps")


@pytest.mark.parametrize("train, rows", [
    ({"batch_size": 16}, 162),     # the demo: 11 steps
    ({"max_steps": 3}, 40),        # a short run asked for by hand
    ({"batch_size": 16, "epochs": 3}, 100),
])
def test_enough_steps_or_max_steps_by_hand_need_no_warning(train, rows, tmp_path):
    assert step_count_warning(_config(tmp_path, **train), rows) is None


def test_a_warmup_longer_than_the_run_is_named(tmp_path):
    # 500 steps of warmup written where a fraction was meant: the rate climbs for the whole run.
    warning = step_count_warning(_config(tmp_path, warmup=500), 4000)  # 250 steps
    assert warning == ("train.warmup is 500 steps but this run makes 250: the learning rate never reaches "
                       "its peak; give warmup as a fraction of the steps (0.1 = the first 10 %) or fewer "
                       "than 250 steps")
    assert step_count_warning(_config(tmp_path, warmup=500, max_steps=100), 40).startswith("train.warmup is 500")
    assert step_count_warning(_config(tmp_path, warmup=100), 4000) is None  # 100 of 250 steps: fine
    assert step_count_warning(_config(tmp_path, warmup=0.5), 4000) is None  # a fraction
