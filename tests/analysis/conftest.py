"""Analysis fixtures: the fine-tuned SST-2 run's model and predictions (loaded once), the MRPC
pair run's model, and run folders in states that cannot be analysed."""

from __future__ import annotations

import os
import shutil

# These tests make thousands of small forward passes. With OpenMP's default wait policy (threads
# spin at every barrier), a 2-core machine that also runs other work made them up to 10x slower
# here; passive waiting changes no result. It only takes effect if torch is not imported yet.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest

from workbench.runs.store import Run


@pytest.fixture(scope="session")
def sst2_model(sst2_run):
    """(model, tokenizer, max_length) of the fine-tuned SST-2 run, with eager attention."""
    from workbench.analysis import load_model

    return load_model(sst2_run)


@pytest.fixture(scope="session")
def mrpc_model(mrpc_run):
    """(model, tokenizer, max_length) of the MRPC sentence-pair run."""
    from workbench.analysis import load_model

    return load_model(mrpc_run)


@pytest.fixture(scope="session")
def sst2_predictions(sst2_run):
    """(predictions table, label names) of the fine-tuned SST-2 run's eval set."""
    from workbench.analysis import load_predictions

    return load_predictions(sst2_run)


@pytest.fixture
def copied_run(sst2_run, tmp_path):
    """A writable copy of the finished SST-2 run folder (without its model weights), to break."""
    target = tmp_path / "runs" / sst2_run.id
    shutil.copytree(sst2_run.dir, target, ignore=shutil.ignore_patterns("model", "checkpoints"))
    return Run(target)

