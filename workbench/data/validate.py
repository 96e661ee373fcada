"""The pre-flight check: every problem of a dataset, found before a run starts, with row numbers.

Dataset format errors are the first thing users of training tools trip on. The check never stops
at the first problem: it reports them all, each naming the split, the rows and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.config import DataConfig, RunConfig
from workbench.data.carve import distinct_labels, single_text_classes
from workbench.data.columns import (NUMBER, ColumnMapping, detect_columns, label_candidates, label_column_doubt,
                                    named_like_label, numbers_only, pair_column)
from workbench.data.load import RawData, SplitFrame, load_raw, shortened
from workbench.errors import DataError, WorkbenchError

MAX_ROWS_LISTED = 8
MAX_CLASSES_LISTED = 10
MAX_COLUMNS_LISTED = 20
# More distinct labels than this that are fractional numbers, or that are unique to about every
# other row, are not classes; fewer (ratings like 1.5) only get a warning.
MAX_SCORE_CLASSES = 20
# Texts repeated across splits, or with conflicting labels, are reported from this share of a
# split's rows: enough to move its metrics by a point.
REPEATED_SHARE = 0.01


@dataclass
class Problem:
    severity: str  # "error" blocks the run, "warning" does not
    message: str
    split: str | None = None
    rows: list[str] = field(default_factory=list)  # "line 12", ...
    count: int = 0  # how many rows in all (rows lists the first few)

    @property
    def detail(self) -> str:
        """The problem without its severity: for a log line, which names its level itself."""
        where = f"[{self.split}] " if self.split else ""
        text = f"{where}{self.message}"
        if self.rows:
            more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
            text += f" ({', '.join(self.rows)}{more})"
        return text

    def __str__(self) -> str:
        return f"{self.severity.upper()}: {self.detail}"


@dataclass
class PreflightReport:
    problems: list[Problem]
    columns: ColumnMapping | None
    available_columns: list[str]
    label_names: list[str]
    label_counts: dict[str, dict[str, int]]  # split -> label name -> rows
    split_rows: dict[str, int]
    source: str
    # Validation or test splits without any label: left out of the run (with a warning).
    unlabeled_splits: list[str] = field(default_factory=list)
    # The train split's label values as written (label_key), in class order: value i is class i,
    # named label_names[i]. A run keeps them, so other data's values map to the same classes.
    label_values: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def facts(self) -> str:
        """What the check found, on one line: the rows of each split, the columns it reads (a
        guessed column is seen here, not only in the JSON line) and the labels."""
        parts = [", ".join(f"{split} {rows:,} rows" for split, rows in self.split_rows.items())]
        if self.columns:
            roles = (("text", self.columns.text), ("second text", self.columns.text_pair),
                     ("label", self.columns.label))
            parts.append("columns: " + ", ".join(f"{role} {str(name)!r}" for role, name in roles if name is not None))
        if self.label_names:
            parts.append(f"{len(self.label_names)} labels: {shortened(self.label_names, MAX_CLASSES_LISTED)}")
        return "; ".join(parts)

    def summary(self) -> str:
        head = "Data check failed" if not self.ok else "Data OK, with warnings" if self.problems else "Data OK"
        return "\n".join([f"{head}: {self.facts()}"] + [f"- {p}" for p in self.problems])


def check_data(cfg: DataConfig, raw: RawData | None = None, for_training: bool = True) -> PreflightReport:
    """Check a dataset against a DataConfig. An unreadable train file raises DataError (nothing to
    check); each other file that cannot be read is reported first, beside the problems of the
    files that were, so the user fixes them all in one go. `for_training=False` checks data to
    score a trained model on: one class, or a few rows of a class, is fine there."""
    _require_data_config(cfg)
    raw = raw or load_raw(cfg.path, partial=True)
    report = _check_read(cfg, raw, for_training)
    report.problems[:0] = [Problem("error", why, split) for split, why in raw.unreadable.items()]
    return report


def _check_read(cfg: DataConfig, raw: RawData, for_training: bool) -> PreflightReport:
    """check_data of the splits that were read."""
    train = raw.splits["train"].frame
    available = [str(c) for c in train.columns]
    report = PreflightReport([], None, available, [], {}, {k: len(v.frame) for k, v in raw.splits.items()},
                             raw.source)
    problems = report.problems

    for split, part in raw.splits.items():
        if len(part.frame) == 0:
            problems.append(Problem("error", f"{part.source} has no rows; add data", split))
    if not report.ok:
        return report

    columns = _resolve_columns(cfg, train, problems)
    if columns is None:
        return report
    report.columns = columns
    raw = _without_unlabeled_splits(raw, report, columns.label)
    for split, part in raw.splits.items():
        missing = [c for c in (columns.text, columns.text_pair, columns.label)
                   if c is not None and c not in part.frame.columns]
        if missing:
            fix = _misnamed_columns(part, raw.splits["train"], columns.label)
            problems.append(Problem("error", f"column {', '.join(map(repr, missing))} is missing from "
                                    f"{part.source} (it has {column_list(part.frame.columns)})"
                                    f"{': ' + fix if fix else '; give every split the same columns'}", split))
    if not report.ok:
        return report

    for split, part in raw.splits.items():
        for column in (columns.text, columns.text_pair):
            if column is not None:
                _check_text(part, split, column, problems)
        _check_label_present(part, split, columns.label, problems)
    # Every split is checked (a list, not a short-circuiting generator), so each one is reported.
    label_shapes_ok = [_check_label_shape(part, split, columns.label, problems) for split, part in raw.splits.items()]
    if not all(label_shapes_ok):
        return report  # classes made of lists would only add noise to the report

    train_values = label_values(raw.splits["train"].frame[columns.label])
    report.label_values = train_values
    report.label_names = label_names_for(train_values, cfg.label_names, raw, columns.label, problems)
    names = dict(zip(train_values, report.label_names))
    for split, part in raw.splits.items():
        values = part.frame[columns.label].map(label_key)
        counts = values.dropna().map(lambda v: names.get(v, v)).value_counts()
        report.label_counts[split] = {str(k): int(v) for k, v in counts.items()}
        if split != "train":
            unknown = values.notna() & ~values.isin(train_values)
            if unknown.any():
                seen = sorted(values[unknown].unique())[:5]
                problems.append(_rows_problem(
                    part, split, unknown, f"label {', '.join(map(repr, seen))} never occurs in train, so "
                    "the model cannot learn it; fix these rows or add examples to train"))

    _check_label_spelling(train_values, problems)
    _check_label_numbers(train_values, problems)
    if for_training:
        _check_classes(report, cfg, problems)
        _check_repeated_texts(raw, columns, problems)
        if "validation" not in raw.splits and report.ok:
            _check_carve(raw, columns, cfg, names, problems)
    return report


def _require_data_config(cfg) -> None:
    """check_data takes a DataConfig: a path, a whole RunConfig or a DataFrame given instead failed
    with "AttributeError: 'str' object has no attribute 'path'". Say which call was meant."""
    if isinstance(cfg, DataConfig):
        return
    if isinstance(cfg, RunConfig):
        call = "check_data(cfg.data), the RunConfig's data settings"
    elif isinstance(cfg, (str, os.PathLike)):
        call = f"check_data(DataConfig(path={os.fspath(cfg)!r}))"
    elif isinstance(cfg, dict):
        call = "check_data(RunConfig.from_dict({'data': settings}).data), which also checks the settings"
    elif isinstance(cfg, pd.DataFrame):
        call = ("check_data(DataConfig(path='data.csv')) on the rows saved first, e.g. "
                "frame.to_csv('data.csv', index=False)")
    else:
        call = "check_data(DataConfig(path='data.csv'))"
    raise WorkbenchError(f"check_data takes the data settings, a DataConfig, not a {type(cfg).__name__}: "
                         f"call {call}")


def _check_carve(raw: RawData, columns: ColumnMapping, cfg: DataConfig, names: dict[str, str],
                 problems: list[Problem]) -> None:
    """Data without a validation split gets one carved from train (carve.held_out): say when that
    split cannot hold every class, or cannot be carved at all, before a run exists."""
    train = raw.splits["train"]
    labels = distinct_labels(text_keys(train.frame, columns.text, columns.text_pair),
                             train.frame[columns.label].map(label_key))
    classes = labels.nunique()
    single = [names.get(v, v) for v in single_text_classes(labels)]
    suffix = Path(train.source).suffix if Path(train.source).suffix in (".csv", ".tsv", ".jsonl") else ".csv"
    add_file = f"a validation file (dev{suffix} beside train{suffix}, in one folder)"
    if len(single) == classes:
        problems.append(Problem("error", "there is no validation split, and none can be carved from train: "
                                "each class has a single distinct text, which the model needs to learn it; "
                                f"add rows to the classes, or {add_file}", "train"))
        return
    if single:
        listed = shortened(list(map(repr, single)), MAX_CLASSES_LISTED)
        has, it = ("has", "it") if len(single) == 1 else ("have", "them")
        problems.append(Problem("warning", f"class {listed} {has} a single distinct text, which stays in "
                                f"train, so the validation split carved from train has no row of {it} and cannot "
                                f"score {it}; add rows of {it}, or {add_file}", "validation"))
    wanted, splittable = math.ceil(cfg.validation_fraction * len(labels)), classes - len(single)
    if wanted < splittable:
        texts = f"{len(labels)} distinct texts" if len(labels) < len(train.frame) else f"{len(labels)} rows"
        problems.append(Problem("warning", f"data.validation_fraction ({cfg.validation_fraction:g}) of train's "
                                f"{texts} is {wanted}, fewer than its {splittable} classes, "
                                "so the validation split carved from train takes at least one text of each class "
                                f"instead; to choose the validation rows yourself, give {add_file}",
                                "validation"))


def _without_unlabeled_splits(raw: RawData, report: PreflightReport, label_column: str) -> RawData:
    """`raw` less its validation and test splits that hold no label at all, each named in a warning.
    Such test splits are common: a Kaggle-style folder's test.csv has no label column, and the
    Hub's benchmarks (GLUE's test splits) hide their test labels as -1. They cannot be scored, but
    they are no reason to refuse the run. A missing validation split is then carved from train."""
    unlabeled = {}
    for split, part in raw.splits.items():
        if split == "train":
            continue
        if label_column not in part.frame.columns:
            if _misnamed_columns(part, raw.splits["train"], label_column):
                continue  # a mistake, not a test set without labels: the missing column is an error
            unlabeled[split] = f"it has no column '{label_column}', only {column_list(part.frame.columns)}"
        elif part.frame[label_column].map(label_key).isna().all():
            unlabeled[split] = f"no row has a label in column '{label_column}'"
    for split, why in unlabeled.items():
        carve = " validation is carved from train instead, and" if split == "validation" else ""
        source = raw.splits[split].source
        in_app = " (in the app: Analyze > Predict, with this file)" if Path(source).is_file() else ""
        report.problems.append(Problem(
            "warning", f"{source} has no labels ({why}), so the run leaves it out;{carve} once "
            f"trained, `workbench predict RUN --data {raw.source} --split {split}` labels its rows{in_app}",
            split))
        report.unlabeled_splits.append(split)
        report.split_rows.pop(split, None)
    if not unlabeled:
        return raw
    return RawData({k: v for k, v in raw.splits.items() if k not in unlabeled}, raw.source,
                   raw.label_names_file, raw.hub_label_names)


def _misnamed_columns(part: SplitFrame, train: SplitFrame, label_column: str) -> str:
    """Why a split lacks train's columns, when its own columns tell: a file read with another
    separator than it was written with (one column, whose name holds the separator), or its labels
    under another name than train's (a column named like a label, or holding train's labels).
    '' when they do not tell: then a split without the label column is one to predict on."""
    columns = [str(c) for c in part.frame.columns]
    separator = next((s for s in (",", ";", "\t", "|") if s in columns[0]), None) if len(columns) == 1 else None
    if separator:
        rename = ", or rename it to .csv" if separator in ",;" else ""
        return (f"it was read as one column, so it seems to be separated by {separator!r}; save it separated "
                f"as {Path(train.source).name} is{rename}")
    if label_column in part.frame.columns:
        return ""
    train_labels = set(train.frame[label_column].map(label_key).dropna())
    train_columns = {str(c) for c in train.frame.columns}

    def holds_labels(column) -> bool:
        values = part.frame[column].map(label_key).dropna()
        return named_like_label(column) or (len(values) > 0 and values.isin(train_labels).mean() >= 0.9)

    found = [str(c) for c in part.frame.columns if str(c) not in train_columns and holds_labels(c)]
    if not found:
        return ""
    return (f"if {' or '.join(map(repr, found))} holds its labels, name that column {label_column!r}, as in "
            f"{Path(train.source).name}")


def text_keys(frame: pd.DataFrame, text_column: str, text_pair_column: str | None = None) -> pd.Series:
    """A row's text (and second text) with whitespace runs collapsed: rows with the same key are
    the same input to the model."""
    def clean(values: pd.Series) -> pd.Series:
        return values.map(lambda v: " ".join(v.split()) if isinstance(v, str) else None)

    keys = clean(frame[text_column])
    if text_pair_column is not None:
        keys = keys + "\x1f" + clean(frame[text_pair_column])
    return keys


def _check_repeated_texts(raw: RawData, columns: ColumnMapping, problems: list[Problem]) -> None:
    """Texts that are in train and in an evaluation split (the model is scored on rows it learned,
    so its metrics are optimistic), and texts that train gives different labels (the model is
    taught both). A handful in a large set is noise (SST-2 has 5 conflicting phrases in 67,349),
    so only a share of at least REPEATED_SHARE is reported."""
    train = raw.splits["train"]
    train_keys = text_keys(train.frame, columns.text, columns.text_pair)
    for split, part in raw.splits.items():
        if split == "train":
            continue
        keys = text_keys(part.frame, columns.text, columns.text_pair)
        seen = keys.notna() & keys.isin(set(train_keys.dropna()))
        if seen.sum() >= REPEATED_SHARE * len(part.frame):
            problems.append(_rows_problem(
                part, split, seen, f"{seen.sum()} of {len(part.frame)} {split} texts "
                f"({100 * seen.mean():.1f} %) are also in train, so {split} metrics overstate how the "
                f"model does on new text; remove them from one of the two splits", "warning"))
    labels = train.frame[columns.label].map(label_key)
    known = train_keys.notna() & labels.notna()
    label_sets = labels[known].groupby(train_keys[known]).nunique()
    conflicting = train_keys.isin(set(label_sets[label_sets > 1].index))
    if conflicting.any() and conflicting.sum() >= REPEATED_SHARE * len(train.frame):
        texts = int((label_sets > 1).sum())
        problems.append(_rows_problem(
            train, "train", conflicting, f"{texts} text{'s appear' if texts > 1 else ' appears'} in train with "
            f"different labels ({conflicting.sum()} rows), so the model is taught both; give each text "
            "one label, or delete the rows that are wrong", "warning"))


def _check_label_spelling(values: list[str], problems: list[Problem]) -> None:
    """Labels that differ only in case ('Pos' and 'pos') are two classes to the model; almost
    always one was mistyped, so say so (a warning: some label sets do mean case)."""
    spellings: dict[str, list[str]] = {}
    for value in values:
        spellings.setdefault(value.casefold(), []).append(value)
    for group in spellings.values():
        if len(group) > 1:
            listed = " and ".join(repr(v) for v in sorted(group))
            problems.append(Problem("warning", f"labels {listed} differ only in case, so they are "
                                    "different classes; if they mean the same, write them the same way",
                                    "train"))


def _check_label_numbers(values: list[str], problems: list[Problem]) -> None:
    """Numbers written two ways ('01' and '1') are two classes to the model, and so are numeric
    codes beside names ('1' and 'positive'): almost always one export wrote them differently."""
    numbers = [v for v in values if _is_int(v)]
    same: dict[int, list[str]] = {}
    for value in numbers:
        same.setdefault(int(value), []).append(value)
    for group in same.values():
        if len(group) > 1:
            problems.append(Problem("warning", f"labels {' and '.join(map(repr, sorted(group)))} are the same "
                                    "number written differently, so they are different classes; if they mean "
                                    "the same, write them the same way", "train"))
    names = [v for v in values if not NUMBER.fullmatch(v)]  # scores (0.5) have their own check
    if numbers and names:
        problems.append(Problem("warning", f"the labels mix numbers ({', '.join(map(repr, numbers[:5]))}) and "
                                f"names ({', '.join(map(repr, names[:5]))}), so each is a class of its own; if a "
                                "number stands for a name, write every label as a name (or every one as a number)",
                                "train"))


def _resolve_columns(cfg: DataConfig, frame: pd.DataFrame, problems: list[Problem]) -> ColumnMapping | None:
    detected = detect_columns(frame)
    chosen = {}
    for role, configured in (("text", cfg.text_column), ("text_pair", cfg.text_pair_column),
                             ("label", cfg.label_column)):
        value = detected[role] if configured == "auto" else configured
        if configured not in ("auto", None) and configured not in frame.columns:
            problems.append(Problem(
                "error", f"data.{role}_column (--{role.replace('_', '-')}-column) {configured!r} is not a column"
                f"{_column_hint(configured, frame.columns)}; the file has {column_list(frame.columns)}: set "
                f"data.{role}_column to one of them"))
        chosen[role] = value
    doubt = label_column_doubt(frame, detected) if cfg.label_column == "auto" else None
    if doubt:
        problems.append(Problem("warning", doubt, "train"))
    token_level = token_level_columns(frame)
    if (chosen["text"] is None or chosen["label"] is None) and token_level and \
            not any(p.severity == "error" for p in problems):
        tokens, tags = token_level
        problems.append(Problem(
            "error", f"this looks like token-level data (a list of tokens per row in '{tokens}', "
            f"a tag per token in {', '.join(repr(t) for t in tags)}); text classification needs one "
            "text and one label per row: join the tokens into a text column and add a label column "
            "(token classification / NER is not available yet)"))
    other_task = generative_data_shape(frame)
    guessed = cfg.text_column == "auto" and cfg.label_column == "auto"  # a column the user named stands
    if other_task and (chosen["label"] is None or guessed) and not any(p.severity == "error" for p in problems):
        what, task = other_task
        problems.append(Problem(
            "error", f"this looks like {what}; text classification needs one text and one label per "
            f"row: pick a classification dataset, or set data.label_column ({task} is not available yet)"))
    if not any(p.severity == "error" for p in problems):
        for role in ("text", "label"):
            if chosen[role] is None:
                problems.append(Problem(
                    "error", f"no {role} column found among {column_list(frame.columns)}; "
                    f"set data.{role}_column (--{role}-column) to the column that holds the {role}"))
    if any(p.severity == "error" for p in problems):
        return None
    text, pair, label = chosen["text"], chosen["text_pair"], chosen["label"]
    if cfg.text_pair_column == "auto":  # the partner of the text column as chosen, never the label
        pair = pair_column(frame, text)
        pair = pair if pair not in (text, label) else None
    if (text, label) == (detected["label"], detected["text"]) and label not in label_candidates(frame):
        # Said first and alone: the checks that follow would call the labels numbers, not texts,
        # and the texts repeated with different labels.
        problems.append(Problem("error", f"the text and label columns look swapped: {text!r} holds the labels and "
                                f"{label!r} the texts; set data.text_column (--text-column) to {label!r} and "
                                f"data.label_column (--label-column) to {text!r}"))
        return None
    if text == label:
        problems.append(Problem("error", f"the text and label columns are both '{text}'; "
                                "set data.text_column and data.label_column to different columns"))
    if pair is not None and pair in (text, label):
        what = ("the label column: the model would read each row's label as its second text" if pair == label
                else "also the text column: the model would read each text twice")
        problems.append(Problem("error", f"data.text_pair_column (--text-pair-column) {pair!r} is {what}; set it "
                                "to the column that holds the second texts, or to null for single texts"))
    if any(p.severity == "error" for p in problems):
        return None
    return ColumnMapping(text=text, label=label, text_pair=pair)


def column_list(columns) -> str:
    """Column names as a message lists them: quoted, so that a space at either end shows."""
    return shortened([repr(str(c)) for c in columns], MAX_COLUMNS_LISTED)


def _column_hint(name: str, columns) -> str:
    """What the user probably meant by a name that is not a column: a column that differs only in
    case or in spaces at its ends (an export's 'Label', a header written 'text , label'), else
    the closest spelling ('lable'); '' when nothing is close."""
    names = [str(c) for c in columns]
    same = next((c for c in names if c.strip().casefold() == name.strip().casefold()), None)
    if same is not None:
        what = ("spaces at the ends" if same.strip() == name.strip() else
                "case" if same.casefold() == name.casefold() else "case and spaces at the ends")
        return f", but {same!r} is (they differ only in {what})"
    # 0.8: 'lable' and 'reviews' find their column; 'sentiment' is not offered 'sentence' (0.71).
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Column sets that mark data made for another objective, with what it is and the task it is for.
GENERATIVE_SHAPES = [
    ({"chosen", "rejected"}, "preference data (a chosen and a rejected answer per row)",
     "DPO / reward modelling"),
    ({"instruction", "output"}, "instruction-tuning data (instruction, input, output)", "instruction SFT"),
    ({"prompt", "completion"}, "prompt-completion data", "instruction SFT"),
    ({"messages"}, "chat data (a list of messages per row)", "instruction SFT"),
    ({"conversations"}, "chat data (a list of turns per row)", "instruction SFT"),
]


def generative_data_shape(frame: pd.DataFrame) -> tuple[str, str] | None:
    """(what the data is, the task it is for) when its columns are those of SFT or preference data."""
    columns = {str(c).lower() for c in frame.columns}
    for needed, what, task in GENERATIVE_SHAPES:
        if needed <= columns:
            return what, task
    return None


def token_level_columns(frame: pd.DataFrame) -> tuple[str, list[str]] | None:
    """('tokens', ['ner_tags', ...]) when rows hold a list of word tokens with per-token tag lists
    of the same length (CoNLL-style NER/POS data), else None. Looks at the first rows only."""
    head = frame.head(50)

    def lists(column) -> bool:  # JSON gives lists, Parquet numpy arrays
        return len(head) > 0 and all(isinstance(v, (list, tuple, np.ndarray)) for v in head[column])

    list_columns = [c for c in head.columns if lists(c)]
    for tokens in list_columns:
        if not all(all(isinstance(t, str) for t in list(v)) for v in head[tokens]):
            continue
        lengths = [len(v) for v in head[tokens]]
        tags = [c for c in list_columns if c != tokens and [len(v) for v in head[c]] == lengths]
        if tags:
            return str(tokens), [str(t) for t in tags]
    return None


def _rows_problem(part: SplitFrame, split: str, mask: pd.Series, message: str,
                  severity: str = "error") -> Problem:
    positions = [i for i, bad in enumerate(mask.tolist()) if bad]
    return Problem(severity, message, split, [part.where(i) for i in positions[:MAX_ROWS_LISTED]],
                   len(positions))


# Whitespace and the invisible characters str.strip keeps: zero-width space and joiners, the
# byte-order mark, soft hyphen, direction marks. A text of only these is empty to a reader, and the
# model gets [CLS] [SEP] from it.
_BLANK = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*")


def is_blank(value) -> bool:
    return isinstance(value, str) and _BLANK.fullmatch(value) is not None


def _check_text(part: SplitFrame, split: str, column: str, problems: list[Problem]) -> None:
    values = part.frame[column]
    empty = values.isna() | values.map(is_blank)
    if empty.any():
        problems.append(_rows_problem(part, split, empty, f"empty text in column '{column}'; "
                                      "fill these rows in or delete them"))
    not_text = values.notna() & ~values.map(lambda v: isinstance(v, str))
    if not_text.any():
        problems.append(_rows_problem(part, split, not_text, f"column '{column}' holds non-text "
                                      "values (numbers, lists); is it the right text column?"))
    elif numbers_only(values):
        # CSV and TSV are read as text, so an id or score column arrives as strings of digits: the
        # same mistake as numbers in JSON, found by the whole column (one numeric text is fine).
        problems.append(Problem("error", f"column '{column}' holds only numbers, not texts; is it the right "
                                "text column? Set data.text_column to the column that holds the texts", split))


def text_problems(part: SplitFrame, split: str, columns: list[str]) -> list[Problem]:
    """Empty or non-text rows in the given text columns of unlabeled data (data to predict on)."""
    problems: list[Problem] = []
    for column in columns:
        _check_text(part, split, column, problems)
    return problems


def _check_label_present(part: SplitFrame, split: str, column: str, problems: list[Problem]) -> None:
    labels = part.frame[column]
    missing = labels.map(label_key).isna()
    if missing.any():
        markers = sorted({v.strip() for v in labels[missing] if isinstance(v, str) and not is_blank(v)})
        read_as = f" ({', '.join(map(repr, markers))} read as missing, as pandas and R write it)" if markers else ""
        problems.append(_rows_problem(part, split, missing, f"missing label in column '{column}'{read_as}; "
                                      "give every row a label or delete it"))


def _check_label_shape(part: SplitFrame, split: str, column: str, problems: list[Problem]) -> bool:
    """One label per row: a list or mapping there (multi-label data, a nested JSON field) is not
    a class. Returns whether the column is fine."""
    nested = part.frame[column].map(lambda v: isinstance(v, (list, tuple, dict, np.ndarray)))
    if nested.any():
        problems.append(_rows_problem(part, split, nested, f"column '{column}' holds lists or "
                                      "mappings, not one label per row; classification takes one "
                                      "label per row (multi-label data is not supported): give each "
                                      "row a single label, or set data.label_column to a column that "
                                      "holds one"))
    return not nested.any()


# How R, Excel and pandas write a missing value. A label spelt so is missing, not a class named
# "NA" (texts stay as they are: "None" is a fine sentence). pandas' own list of default NA strings.
MISSING_LABELS = frozenset({"NA", "N/A", "n/a", "#N/A", "#N/A N/A", "#NA", "NaN", "-NaN", "nan", "-nan", "NULL",
                            "null", "None", "<NA>", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN"})


def label_key(value) -> str | None:
    """Labels compare as text: 1, 1.0 and "1" are the same label. None for a missing one."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # "1.0" is how pandas writes an integer column that had a gap: the same label as "1".
    if re.fullmatch(r"[+-]?\d+\.0+", text):
        text = text.split(".")[0].lstrip("+")
    return None if text in MISSING_LABELS or is_blank(text) else text


def label_values(series: pd.Series) -> list[str]:
    values = sorted({k for k in series.map(label_key) if isinstance(k, str)})
    if values and all(_is_int(v) for v in values):
        values.sort(key=int)
    return values


def _is_int(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


def label_names_for(values: list[str], configured: list[str] | None, raw: RawData, column: str,
                    problems: list[Problem]) -> list[str]:
    """Readable names for the label values: configured, Hub ClassLabel, classes.txt, or the values."""
    names = configured or raw.hub_label_names.get(column) or raw.label_names_file
    if not names or not values or not all(_is_int(v) for v in values):
        if configured and values and not all(_is_int(v) for v in values):
            problems.append(Problem("warning", "data.label_names is ignored: the labels are already "
                                    "names, not numbers"))
        return list(values)
    numbers = [int(v) for v in values]
    base = 0 if min(numbers) == 0 else 1  # ag_news style 1..K with K names in classes.txt
    if min(numbers) < 0 or max(numbers) - base >= len(names):
        if configured and min(numbers) >= 0 and len(names) < len(values):
            # Too few names typed for the classes: the run would drop them all; refuse, do not overrule.
            problems.append(Problem("error", f"data.label_names has {len(names)} names for the {len(values)} "
                                    f"label values ({min(numbers)} to {max(numbers)}); give one name per class, "
                                    "in order, or leave it empty to show the numbers"))
        else:
            problems.append(Problem("warning", f"{len(names)} label names for label values {min(numbers)} to "
                                    f"{max(numbers)}; showing the numbers instead"))
        return list(values)
    source = "data.label_names" if configured else "the dataset's label names" \
        if raw.hub_label_names.get(column) else "the label names file (classes.txt)"
    if base == 1 and max(numbers) < len(names):
        # Neither 0 nor the last name's number occurs: counting from 0 or from 1 both fit.
        from_zero = ", ".join(names[n] for n in numbers)
        problems.append(Problem("warning", f"the labels run from {min(numbers)} to {max(numbers)} and {source} "
                                f"holds {len(names)} names, so they are read as counting from 1 ({numbers[0]} = "
                                f"'{names[numbers[0] - 1]}'); if 0 is the first class, set data.label_names to "
                                f"the names of these values in order: [{from_zero}]"))
    elif base == 0 and max(numbers) + 1 < len(names):
        problems.append(Problem("warning", f"{source} holds {len(names)} names but the labels only reach "
                                f"{max(numbers)}; the extra names are unused: check that the names match "
                                "the labels"))
    return [names[n - base] for n in numbers]


def _check_classes(report: PreflightReport, cfg: DataConfig, problems: list[Problem]) -> None:
    counts = report.label_counts.get("train", {})
    if len(counts) < 2:
        problems.append(Problem("error", f"train has {len(counts)} distinct label(s); a classifier "
                                "needs at least two classes", "train"))
        return
    if not _labels_look_like_classes(report, counts, problems):
        return  # a list of hundreds of one-row "classes" would bury the one message that matters
    few = {k: v for k, v in counts.items() if v < cfg.min_rows_per_class}
    if few:
        ordered = sorted(few.items(), key=lambda kv: kv[1])
        listed = ", ".join(f"'{k}' ({v})" for k, v in ordered[:MAX_CLASSES_LISTED])
        if len(ordered) > MAX_CLASSES_LISTED:
            listed += f" and {len(ordered) - MAX_CLASSES_LISTED} more classes"
        problems.append(Problem("error", f"too few rows for class {listed}; give each class at least "
                                f"{cfg.min_rows_per_class} rows, or remove that class", "train"))
    largest, smallest = max(counts.values()), min(counts.values())
    if smallest and largest / smallest >= 10:
        problems.append(Problem("warning", f"classes are imbalanced ({largest}:{smallest}); "
                                "watch macro F1, not only accuracy, and consider train.class_weights: "
                                "balanced", "train"))


def _labels_look_like_classes(report: PreflightReport, counts: dict[str, int],
                              problems: list[Problem]) -> bool:
    """Scores (STS-B similarity, a 0-5 rating) or an id column mapped as the label make one class
    per distinct value; say what the column looks like instead. False when that is an error."""
    column = report.columns.label
    numbers = [_as_number(k) for k in counts]
    if all(n is not None for n in numbers) and not all(float(n).is_integer() for n in numbers):
        scores = (f"column '{column}' holds scores ({len(counts)} distinct numbers from "
                  f"{min(numbers):g} to {max(numbers):g}), and each distinct number would be a class")
        if len(counts) > MAX_SCORE_CLASSES:
            problems.append(Problem("error", f"{scores}; regression is not supported: bin the scores "
                                    "into classes (e.g. low / high), or set data.label_column to the "
                                    "column that holds the classes", "train"))
            return False
        problems.append(Problem("warning", f"{scores}; if they are measurements rather than classes, "
                                "bin them into classes (regression is not supported)", "train"))
    rows = sum(counts.values())
    if len(counts) > MAX_SCORE_CLASSES and len(counts) > rows / 2:
        problems.append(Problem("error", f"column '{column}' has {len(counts)} distinct values in "
                                f"{rows} rows, so it is not a set of classes (an id or a free-text "
                                "column?); set data.label_column to the column that holds the classes",
                                "train"))
        return False
    return True


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if np.isfinite(number) else None


def require_ok(report: PreflightReport) -> None:
    if not report.ok:
        raise DataError(report.summary(), report.problems)
