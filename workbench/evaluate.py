"""Metrics of a finished run's model on any dataset (`workbench eval RUN --data PATH`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from workbench.config import DataConfig
from workbench.data.columns import detect_columns
from workbench.data.load import RawData, data_path_text, load_raw
from workbench.data.validate import check_data, label_key, label_values, require_ok
from workbench.errors import WorkbenchError
from workbench.predict import load_run_model, pick_split, predict_logits, reading_warnings, refuse_output_over_data
from workbench.runs.store import Run, as_run
from workbench.tasks import classify


def _require_labels(run: Run, frame, data_cfg: DataConfig, data_path: str, split: str | None,
                    other_splits: list[str]) -> None:
    """Scoring needs gold labels; data without them is for `workbench predict`. A wrong text
    column is left to the data check, which names it. `split` is None for a single file."""
    detected = detect_columns(frame)
    text = detected["text"] if data_cfg.text_column == "auto" else data_cfg.text_column
    label_column = data_cfg.label_column
    found = detected["label"] if label_column == "auto" else label_column
    predict = f"`workbench predict {run.id} --data {data_path}{f' --split {split}' if split else ''}`"
    if text in frame.columns and (found is None or found not in frame.columns):
        named = "" if label_column == "auto" else f" '{label_column}'"
        raise WorkbenchError(
            f"'{data_path}' has no label column{named} (it has {', '.join(map(str, frame.columns))}); eval "
            "compares predictions with gold labels: name the label column with --label-column, or "
            f"label data that has no labels with {predict}")
    if text in frame.columns and len(frame) and frame[found].map(label_key).isna().all():
        # The Hub's benchmarks hide their test labels (GLUE's test splits are all -1).
        where = f"'{data_path}' split {split}" if split else f"'{data_path}'"
        others = f" (--split {' or '.join(other_splits)})" if other_splits else ""
        raise WorkbenchError(
            f"no row of {where} has a label in column '{found}'; eval compares predictions with gold "
            f"labels: evaluate a labelled split{others}, or label these rows with {predict}")


def _require_same_input_shape(run: Run, trained: dict | None, columns, data_path: str) -> None:
    """A model trained on single texts given pairs (or the reverse) would score silently wrong.
    Runs from before the columns were recorded have no `trained` and are not checked."""
    if trained is None or bool(trained.get("text_pair")) == bool(columns.text_pair):
        return
    if trained.get("text_pair"):
        raise WorkbenchError(
            f"run {run.id} was trained on text pairs ('{trained['text']}' + '{trained['text_pair']}'), but "
            f"'{data_path}' has one text column ('{columns.text}'); name its second text with --text-pair-column, "
            "or evaluate on data with both texts")
    raise WorkbenchError(
        f"run {run.id} was trained on single texts ('{trained['text']}'), but '{data_path}' pairs "
        f"'{columns.text}' with '{columns.text_pair}'; name the one column to score with --text-column, "
        "or evaluate on single-text data")


def _model_classes(values: list[str], names: list[str], status: dict, label_names: list[str]
                   ) -> dict[str, tuple[str, int | None]]:
    """value -> (its name, the model's class id, None when the model has no such class) for the
    label values of the data to score. A value the run trained on is its class: the data alone
    cannot say which name a number has (label 3 alone, with classes.txt beside it, could count
    from 0 or from 1). Other values, and runs from before the values were kept, go by name:
    `names` are what the data's own check called them, in the order of `values`."""
    trained = [str(v) for v in status.get("label_values") or []]
    trained = trained if len(trained) == len(label_names) else []
    classes = {}
    for value, name in zip(values, names):
        if value in trained:
            classes[value] = (label_names[trained.index(value)], trained.index(value))
        else:
            classes[value] = (name, label_names.index(name) if name in label_names else None)
    return classes


COLUMN_KEYS = ("text_column", "text_pair_column", "label_column")


def _data_config(trained: DataConfig, data_path: str, frame, columns: dict[str, str] | None) -> DataConfig:
    """The column mapping to score `frame` with: `columns` where given, else the run's own column
    names where the new data has them, else detection (as `predict` does): a run trained on a
    'ticket' column scores a file whose texts are in 'text'."""
    example = "e.g. columns={'text_column': 'review', 'label_column': 'stars'}"
    if columns is not None and not isinstance(columns, Mapping):  # a string was taken letter by letter
        raise WorkbenchError(f"columns is a dict of column names, not a {type(columns).__name__}; {example}")
    named_otherwise = [f"{key}={name!r}" for key, name in (columns or {}).items()
                       if name is not None and not isinstance(name, str)]  # None: no second text
    if named_otherwise:  # a column position, as pandas' iloc takes, ended in an AttributeError
        raise WorkbenchError(f"columns are named by their names, not {', '.join(named_otherwise)}; {example}")
    unknown = sorted(set(columns or {}) - set(COLUMN_KEYS))
    if unknown:
        raise WorkbenchError(f"columns names {', '.join(COLUMN_KEYS)}, not {', '.join(map(repr, unknown))}; "
                             f"{example}")
    mapping = {key: getattr(trained, key) for key in COLUMN_KEYS}
    for key, name in mapping.items():
        if name not in (None, "auto") and name not in frame.columns:
            mapping[key] = "auto"
    return DataConfig(**{**trained.__dict__, "path": data_path, **mapping, **(columns or {})})


def evaluate_run(run: Run | str | os.PathLike, data_path: str | os.PathLike, split: str | None = None,
                 output: str | os.PathLike | None = None, columns: dict[str, str] | None = None) -> dict:
    """Metrics (and optionally predictions) of a finished run on another dataset. `columns`
    ({"text_column": ..., "label_column": ...}) names the new data's columns where they differ
    from the run's own mapping; by default the run's mapping applies ("auto" detects)."""
    run, data_path = as_run(run), data_path_text(data_path)
    output = os.fspath(output) if output else None
    status = run.status()
    if not run.model_dir.is_dir():
        raise WorkbenchError(f"run {run.id} has no final model (status: {status['status']}); "
                             "evaluate a finished run")
    if output and Path(output).suffix.lower() != ".jsonl":  # before minutes of predicting, not after
        raise WorkbenchError(f"--output '{output}' must end in .jsonl: eval writes one JSON line per row")
    cfg = run.config()
    label_names = run.label_names()
    raw = load_raw(data_path)
    if output:
        refuse_output_over_data(Path(output), raw)
    split = pick_split(raw.splits, data_path, split)
    data_cfg = _data_config(cfg.data, data_path, raw.splits[split].frame, columns)
    trained = status.get("columns")
    if trained and not trained.get("text_pair") and "text_column" in (columns or {}) \
            and "text_pair_column" not in (columns or {}):
        # A single-text run told which column to score reads it alone, as predict --text-column does;
        # the second text detection found beside it was refused with no way to leave it out.
        data_cfg.text_pair_column = None
    if status.get("label_values"):
        # The run's label_names named its training data's values, and its classes are matched to
        # the new data by those values (_model_classes); applied to other data, the names named
        # values they were never given for (2 names for AG News's 4 topics was an error).
        data_cfg.label_names = None
    _require_labels(run, raw.splits[split].frame, data_cfg, data_path, split if len(raw.splits) > 1 else None,
                    [s for s in raw.splits if s != split])
    # Check the chosen split as if it were the training split, with the run's column mapping,
    # and name the split it really is in the messages.
    report = check_data(data_cfg, RawData({"train": raw.splits[split]}, raw.source, raw.label_names_file,
                                          raw.hub_label_names), for_training=False)
    # A single file is loaded as a "train" split; its rows are not training rows, so say so.
    shown_split = split if len(raw.splits) > 1 else "all rows"
    for problem in report.problems:
        problem.split = shown_split
    # The message's first line counted them as "train 50 rows" too; a file's rows go by its name.
    shown_rows = split if len(raw.splits) > 1 else Path(raw.splits[split].source).name
    report.split_rows = {shown_rows: len(raw.splits[split].frame)}
    require_ok(report)
    frame = raw.splits[split].frame
    columns = report.columns
    classes = _model_classes(label_values(frame[columns.label]), report.label_names, status, label_names)
    unknown = sorted(name for name, class_id in classes.values() if class_id is None)
    if unknown:
        # Name the sizes too: the values the run trained on (0 and 1) match by value, so only the
        # rest is listed, and 2 of 4 classes named would read as if the other two were fine.
        raise WorkbenchError(f"labels {unknown} of '{data_path}' are not among the model's "
                             f"labels {label_names} (the data has {len(classes)} labels, the model "
                             f"{len(label_names)}); evaluate on data with the same labels")
    _require_same_input_shape(run, status.get("columns"), columns, data_path)
    texts = frame[columns.text].astype(str).tolist()
    pairs = frame[columns.text_pair].astype(str).tolist() if columns.text_pair else None
    gold = np.array([classes[label_key(v)][1] for v in frame[columns.label]])

    model, tokenizer = load_run_model(run)
    warnings = reading_warnings(tokenizer, frame, columns.text, columns.text_pair, shown_split, cfg.task.max_length)
    logits = predict_logits(model, tokenizer, texts, pairs, cfg.task.max_length)
    predicted = logits.argmax(-1)
    from sklearn.metrics import f1_score

    metrics = {"accuracy": float((predicted == gold).mean()),
               "f1_macro": float(f1_score(gold, predicted, average="macro", zero_division=0)),
               "rows": len(gold)}
    if output:
        import datasets

        part = raw.splits[split]
        rows = datasets.Dataset.from_dict({"text": texts, "label": gold.tolist(),
                                           **({"text_pair": pairs} if pairs else {}),
                                           "row": [part.where(i) for i in range(len(frame))]})
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)  # as predict's --output: a new folder is made
            classify.write_predictions(Path(output), rows, logits, label_names)
        except OSError as err:
            raise WorkbenchError(f"cannot write '{output}': {err.strerror or err}; choose another --output") from None
    return {"data": data_path, "split": shown_split, "metrics": metrics, **({"predictions": output} if output else {}),
            **({"warnings": warnings} if warnings else {})}
