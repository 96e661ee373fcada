"""From checked frames to the `datasets` splits a task trains on.

Every run sees the same rows for the same config: the train sample (max_train_samples) is a
seeded shuffle, and a missing validation split is carved from train with the same seed,
stratified by label so small classes appear in both, with repeated texts kept on one side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import datasets
import pandas as pd

from workbench.config import DataConfig
from workbench.data.carve import distinct_labels, held_out, validation_rows
from workbench.data.load import RawData, load_raw
from workbench.data.validate import PreflightReport, Problem, check_data, label_key, label_values, require_ok, text_keys


@dataclass
class PreparedData:
    splits: datasets.DatasetDict  # columns: text, [text_pair], label (int), row (source line)
    label_names: list[str]
    report: PreflightReport

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.label_names))

    def fingerprint(self) -> str:
        """A digest of the rows a run trains and evaluates on, in order, and of its label names.
        The run records it, so resume can tell that its data file was edited, replaced or grew
        since: continuing a checkpoint on other rows would mix two datasets in one model without
        a trace. Line numbers are left out: they do not change what the model learns."""
        digest = hashlib.sha256("\x1f".join(self.label_names).encode())
        for name in sorted(self.splits):
            frame = self.splits[name].to_pandas()
            columns = [c for c in ("text", "text_pair", "label") if c in frame]
            digest.update(f"\x1e{name}:{len(frame)}".encode())
            digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
        return digest.hexdigest()[:16]


def prepare_data(cfg: DataConfig, seed: int) -> PreparedData:
    raw: RawData = load_raw(cfg.path)
    report = check_data(cfg, raw)
    require_ok(report)
    frames = labelled_frames(cfg, raw, report, seed)
    splits = datasets.DatasetDict({
        name: datasets.Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        for name, frame in frames.items()
    })
    if cfg.max_train_samples and cfg.max_train_samples < len(splits["train"]):
        splits["train"] = splits["train"].shuffle(seed=seed).select(range(cfg.max_train_samples))
        left_out = classes_left_out(splits["train"]["label"], report.label_names, cfg.max_train_samples)
        report.problems += [left_out] if left_out else []
    for name in ("validation", "test"):
        if name in splits and cfg.max_eval_samples and cfg.max_eval_samples < len(splits[name]):
            splits[name] = splits[name].shuffle(seed=seed).select(range(cfg.max_eval_samples))
    return PreparedData(splits, report.label_names, report)


def sample_problems(cfg: DataConfig, raw: RawData, report: PreflightReport, seed: int) -> list[Problem]:
    """classes_left_out for the rows prepare_data will sample (the validation carve, then the seeded
    shuffle; labels only), so the pre-flight warns before the run exists. Needs a report without
    errors."""
    if not cfg.max_train_samples:
        return []
    train = labelled_frames(cfg, raw, report, seed)["train"]
    if cfg.max_train_samples >= len(train):
        return []
    labels = datasets.Dataset.from_dict({"label": train["label"].to_numpy()})
    left_out = classes_left_out(labels.shuffle(seed=seed).select(range(cfg.max_train_samples))["label"],
                                report.label_names, cfg.max_train_samples)
    return [left_out] if left_out else []


def labelled_frames(cfg: DataConfig, raw: RawData, report: PreflightReport, seed: int) -> dict[str, pd.DataFrame]:
    """text (text_pair), label id and source row of each labelled split, validation carved from
    train when the data has none."""
    columns = report.columns
    # The same order as report.label_names: value i of the train labels is class i.
    value_to_id = {v: i for i, v in enumerate(label_values(raw.splits["train"].frame[columns.label]))}

    frames = {}
    for split, part in raw.splits.items():
        if split in report.unlabeled_splits:
            continue
        frame = pd.DataFrame({"text": part.frame[columns.text].astype(str)})
        if columns.text_pair:
            frame["text_pair"] = part.frame[columns.text_pair].astype(str)
        frame["label"] = part.frame[columns.label].map(label_key).map(value_to_id).astype("int64")
        frame["row"] = [part.where(i) for i in range(len(part.frame))]
        frames[split] = frame

    if "validation" not in frames:
        frames["train"], frames["validation"] = carve_validation(frames["train"], cfg.validation_fraction, seed)
    return frames


def classes_left_out(sampled_labels, label_names: list[str], samples: int) -> Problem | None:
    """A random sample can miss a rare class entirely: the model then has that class but never
    learns it. The sample is not stratified (it stays the plain seeded shuffle), so say so."""
    missing = sorted(set(range(len(label_names))) - set(sampled_labels))
    if missing:
        names = ", ".join(repr(label_names[i]) for i in missing)
        return Problem(
            "warning", f"the {samples:,}-row training sample (data.max_train_samples) holds no row of class {names}, "
            "so the model cannot learn it; raise data.max_train_samples, or change data.seed", "train")
    return None


def carve_validation(train: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation), stratified by label (carve.held_out). Repeated texts go to one side
    together: the model would otherwise be scored on rows it trained on. The split is drawn over
    the distinct texts, so data without repeats splits exactly as train_test_split splits its rows."""
    keys = text_keys(train, "text", "text_pair" if "text_pair" in train else None)
    distinct = distinct_labels(keys, train["label"])
    in_validation = keys.isin(set(keys[distinct.index[held_out(distinct, fraction, seed)]]))
    return train[~in_validation], train[in_validation]


def expected_train_rows(cfg: DataConfig, split_rows: dict[str, int], classes: int = 0) -> int:
    """The training rows prepare_data will keep, from the split sizes and the number of classes a
    pre-flight report counted: the validation carve (carve.validation_rows; repeated texts, which
    go to one side together, can move a few rows) and max_train_samples.
    Lets a front end warn about the run's length before the run exists."""
    rows = split_rows.get("train", 0)
    if "validation" not in split_rows:
        rows -= validation_rows(rows, classes, cfg.validation_fraction)
    if cfg.max_train_samples:
        rows = min(rows, cfg.max_train_samples)
    return rows
