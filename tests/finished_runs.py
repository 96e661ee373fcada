"""A run trained to the end in the test process: what the fixtures of finished runs share."""

from __future__ import annotations

from pathlib import Path


def finished_run(settings: dict, runs_dir: Path):
    """A run of `settings` (a RunConfig as a dict) trained to the end in this process."""
    from workbench.config import RunConfig
    from workbench.runs.store import create_run
    from workbench.train.main import execute

    run = create_run(RunConfig.from_dict({**settings, "runs_dir": str(runs_dir)}).resolve())
    status = execute(run)
    assert status["status"] == "finished", status.get("error")
    return run
