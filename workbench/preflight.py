"""Everything that can be checked before a run exists, in one place for every front end: the CLI's
`train` and `check` and the app's Start all refuse the same settings with the same message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.config import DataConfig, RunConfig

if TYPE_CHECKING:  # pandas and friends load only when a check runs
    from workbench.data.lengths import TokenLengths
    from workbench.data.load import RawData
    from workbench.data.validate import Problem, PreflightReport


def check_settings(cfg: RunConfig):
    """The config, the devices and what the model allows (pooling, layers, max_length, LoRA
    modules) and needs (its tokenizer). Raises WorkbenchError with the message; returns the
    tokenizer it loaded, for the checks that follow (token_lengths_of)."""
    from workbench.catalog import resolve_model
    from workbench.tasks.classify import check_model, load_tokenizer
    from workbench.train.arguments import require_trainer_arguments
    from workbench.train.launch import require_available_devices, require_supported_precision

    cfg.validate()
    require_available_devices(cfg.devices)
    require_supported_precision(cfg.train.precision, cfg.devices)
    require_trainer_arguments(cfg)
    resolved = resolve_model(cfg.model.name, cfg.runs_dir)
    check_model(cfg, resolved)
    return load_tokenizer(cfg, resolved)  # refuses a folder whose tokenizer files are missing


def preflight(cfg: RunConfig) -> PreflightReport:
    """check_settings, then the data, then the disk the run will write; raises DataError when
    the data check finds an error, WorkbenchError when the disk lacks the space."""
    from workbench.data.load import load_raw
    from workbench.data.prepare import sample_problems
    from workbench.data.validate import check_data, require_ok
    from workbench.train.disk import require_disk_for

    tokenizer = check_settings(cfg)
    raw = load_raw(cfg.data.path, partial=True)
    report = check_data(cfg.data, raw)  # names the files it could not read too
    require_ok(report)
    report.problems += sample_problems(cfg.data, raw, report, cfg.data_seed)
    report.problems += tokenizer_problems(cfg, *token_lengths_of(cfg, raw, report, tokenizer))
    require_disk_for(cfg, report.split_rows, len(report.label_names))
    return report


def token_lengths_of(cfg: RunConfig, raw: "RawData", report: "PreflightReport",
                     tokenizer=None) -> tuple[dict[str, "TokenLengths"], int | None]:
    """Token counts of a sample of each split the run uses, by the model's own tokenizer (the one
    check_settings returned, else loaded here), and how many tokens the model reads. Needs a report
    whose columns were found."""
    from workbench.catalog import resolve_model
    from workbench.data.lengths import token_lengths
    from workbench.tasks.classify import load_tokenizer, model_config, readable_positions

    resolved = resolve_model(cfg.model.name, cfg.runs_dir)
    if tokenizer is None:
        tokenizer = load_tokenizer(cfg, resolved)
    columns = report.columns
    lengths = {split: token_lengths(tokenizer, part.frame, columns.text, columns.text_pair, split)
               for split, part in raw.splits.items() if split not in report.unlabeled_splits}
    return lengths, readable_positions(model_config(cfg, resolved))


def tokenizer_problems(cfg: RunConfig, lengths: dict[str, "TokenLengths"], model_limit: int | None) -> list["Problem"]:
    """A warning for each split of which task.max_length would cut at least 1 % of the texts, and
    for each split the model's tokenizer cannot read (data/lengths.unknown_warning)."""
    from workbench.data.lengths import cut_warning, unknown_warning
    from workbench.data.validate import Problem

    problems = []
    for split, split_lengths in lengths.items():
        for text in (cut_warning(split_lengths, cfg.task.max_length, model_limit), unknown_warning(split_lengths)):
            if text:
                problems.append(Problem("warning", text, split))
    return problems


def check_resume(run) -> None:
    """What a resumed run reads, checked before it starts: its model and data may have moved since
    it stopped (a file deleted, a folder renamed), or its data changed (a row appended). Refused
    here, the run keeps its status (aborted stays aborted, resumable once the file is back as it
    was) instead of failing on it."""
    from workbench.catalog import resolve_model
    from workbench.data.prepare import prepare_data
    from workbench.errors import WorkbenchError

    cfg = run.config()
    try:
        resolve_model(cfg.model.name, cfg.runs_dir)
        data = prepare_data(cfg.data, cfg.data_seed)
    except WorkbenchError as err:
        raise WorkbenchError(f"run {run.id} cannot resume: {err}") from None
    if run.complete_checkpoints():  # without one the run starts again from step 0, on the data as it is
        require_same_data(run, cfg, data.fingerprint())


def require_same_data(run, cfg: RunConfig, fingerprint: str) -> None:
    """Refuse to continue a checkpoint on rows other than those it was trained on (the data file
    was edited, replaced or grew since the run started). Runs recorded before fingerprints pass."""
    from workbench.errors import WorkbenchError

    recorded = run.raw_status().get("data_fingerprint")
    if recorded is not None and recorded != fingerprint:
        raise WorkbenchError(
            f"the data at {cfg.data.path} changed since run {run.id} started: its rows are not the ones "
            "its checkpoints were trained on, so resuming would continue on other data; put the "
            f"original data back and resume, or train a new run on this data (workbench train "
            f"{run.dir / 'config.yaml'})")
