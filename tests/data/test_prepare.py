"""expected_train_rows: the training rows of a run, known before the run exists."""

from __future__ import annotations

import pytest

from workbench.config import DataConfig
from workbench.data.prepare import expected_train_rows, prepare_data
from workbench.data.validate import check_data
from workbench.ui.workspace import DEMO_DATA


@pytest.mark.parametrize("path, settings", [
    ("demo", {}),                                        # one file: validation carved from it
    ("demo", {"validation_fraction": 0.25}),             # 180 * 0.25 = 45 held out
    ("demo", {"validation_fraction": 0.33}),             # 59.4: the held-out share rounds up
    ("sst2", {"max_train_samples": 4000}),               # its own dev split; the sample caps train
    ("ag_news", {"max_train_samples": 100000}),          # a cap above the rows changes nothing
])
def test_it_matches_what_prepare_data_keeps(path, settings, datasets_dir):
    cfg = DataConfig(path=str(DEMO_DATA if path == "demo" else datasets_dir / path), **settings)
    report = check_data(cfg)
    assert expected_train_rows(cfg, report.split_rows) == len(prepare_data(cfg, seed=5).splits["train"])
