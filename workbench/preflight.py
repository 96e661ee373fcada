"""Everything that can be checked before a run exists, in one place for every front end: the CLI's
`train` and `check` and the app's Start all refuse the same settings with the same message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.config import RunConfig

if TYPE_CHECKING:  # pandas and friends load only when a check runs
    from workbench.data.validate import PreflightReport


def check_settings(cfg: RunConfig) -> None:
    """The config, the devices and what the model allows (pooling, layers, max_length, LoRA
    modules). Raises WorkbenchError with the message."""
    from workbench.catalog import resolve_model
    from workbench.tasks.classify import check_model
    from workbench.train.launch import require_available_devices

    cfg.validate()
    require_available_devices(cfg.devices)
    check_model(cfg, resolve_model(cfg.model.name, cfg.runs_dir))


def preflight(cfg: RunConfig) -> PreflightReport:
    """check_settings, then the data, then the disk the run will write; raises DataError when
    the data check finds an error, WorkbenchError when the disk lacks the space."""
    from workbench.data.validate import check_data, require_ok
    from workbench.train.disk import require_disk_for

    check_settings(cfg)
    report = check_data(cfg.data)
    require_ok(report)
    require_disk_for(cfg, report.split_rows, len(report.label_names))
    return report
