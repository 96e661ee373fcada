"""Which column is the text, the optional second text, and the label.

Detection tries the names datasets commonly use, then falls back on the data itself: the text is
the column of the longest strings, the label a column with few distinct values.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

import pandas as pd

TEXT_NAMES = ("text", "sentence", "content", "review", "document", "sentence1", "text_a",
              "question1", "premise", "question", "query", "input", "description", "tweet")
PAIR_NAMES = {"sentence1": "sentence2", "text_a": "text_b", "question1": "question2",
              "premise": "hypothesis", "question": "context", "text": "text_pair",
              "query": "passage"}
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "polarity", "emotion",
               "y", "gold", "intent", "topic")
# A header cell longer than this (characters or words) is a sentence, not a column name.
MAX_NAME_CHARS, MAX_NAME_WORDS = 40, 5
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class ColumnMapping:
    text: str
    label: str
    text_pair: str | None = None


def detect_columns(frame: pd.DataFrame) -> dict[str, str | None]:
    """Best guesses for text, text_pair and label; None where nothing fits."""
    columns = list(frame.columns)
    lower = {str(c).lower(): c for c in columns}
    # A column named like text but mostly blank (a ticket export's unused "text" beside its "body")
    # is not the text: the data decides then.
    text = next((lower[n] for n in TEXT_NAMES if n in lower and _mostly_filled(frame[lower[n]])), None)
    pair = pair_column(frame, text)
    label = next((lower[n] for n in LABEL_NAMES if n in lower), None)
    if label is None:
        # A second text of few distinct values (NLI's templated hypotheses) is still a text: taken
        # for the label, it would also be fed to the model as the second text.
        label = next(iter(label_candidates(frame, exclude={text, pair})), None)
    if text is None:
        text = _longest_text_column(frame, exclude={label})
        pair = pair_column(frame, text)
    return {"text": text, "text_pair": pair if pair != label else None, "label": label}


def pair_column(frame: pd.DataFrame, text) -> str | None:
    """The column named as the partner of the text column (sentence1: sentence2), if any."""
    partner = PAIR_NAMES.get(str(text).lower()) if text is not None else None
    return {str(c).lower(): c for c in frame.columns}.get(partner) if partner else None


def _mostly_filled(values: pd.Series, sample: int = 1000) -> bool:
    """At least half of the first rows hold a non-blank value."""
    head = values.head(sample)
    if head.empty:
        return True  # nothing to judge by: trust the name
    filled = head.map(lambda v: bool(v.strip()) if isinstance(v, str)
                      else not (v is None or (isinstance(v, float) and v != v)))  # v != v: NaN
    return filled.mean() >= 0.5


def _longest_text_column(frame: pd.DataFrame, exclude: set) -> str | None:
    best, best_length = None, 0.0
    for column in frame.columns:
        if column in exclude or not (frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column])):
            continue
        values = frame[column].dropna().head(500)
        if values.empty or not all(isinstance(v, str) for v in values):
            continue
        length = values.str.len().mean()
        if length > best_length:
            best, best_length = column, length
    return best


def label_candidates(frame: pd.DataFrame, exclude: set = frozenset()) -> list[str]:
    """The columns that could be the label by their data (2 to 100 distinct values, fewer than half
    the rows), best first: a name that says label ('gold_label', 'review_polarity') first, then
    fewer distinct values, then the column name."""
    rows = max(len(frame), 1)
    candidates = []
    for column in frame.columns:
        if column in exclude:
            continue
        try:
            distinct = frame[column].nunique(dropna=True)
        except TypeError:  # unhashable values (lists)
            continue
        if 2 <= distinct <= 100 and distinct < 0.5 * rows:
            candidates.append((not named_like_label(column), distinct, str(column), column))
    return [candidate[-1] for candidate in sorted(candidates)]


def label_column_doubt(frame: pd.DataFrame, detected: dict[str, str | None] | None = None) -> str | None:
    """A one-line warning when detect_columns had to guess the label among several columns that
    all fit (review, polarity_score, domain: which is the label?), else None. Neither a column
    named like a label (LABEL_NAMES) nor the only candidate whose name says label is a guess.
    `detected`: detect_columns(frame), when the caller has it already."""
    detected = detected or detect_columns(frame)
    lower = {str(c).lower() for c in frame.columns}
    if detected["label"] is None or any(n in lower for n in LABEL_NAMES):
        return None
    candidates = label_candidates(frame, exclude={detected["text"], detected["text_pair"]})
    named = [c for c in candidates if named_like_label(c)]
    rivals = named if named else candidates
    if len(rivals) < 2:
        return None
    listed = ", ".join(repr(str(c)) for c in rivals[:5])
    return (f"columns {listed} could each be the label; using '{detected['label']}': set "
            "data.label_column (--label-column) to the right one")


def named_like_label(column) -> bool:
    """A word of the name is a label name: gold_label, label_id, review-sentiment, starsClass."""
    words = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(column)).lower()
    return any(word in LABEL_NAMES for word in re.split(r"[^a-z0-9]+", words))


def header_looks_like_data(frame: pd.DataFrame) -> str | None:
    """Why the column names of a CSV/TSV read with its first line as header look like a row of data
    (a file saved without a header row, whose first row would be lost), else None.

    A column name that is a number ('0', '-1', '1.0') is a label or id value; a name of more than
    MAX_NAME_CHARS characters or MAX_NAME_WORDS words is a sentence when every other name is a
    value of its own column too (a header line shaped like the data rows). A survey export whose
    questions head the columns beside a 'Timestamp' column is not flagged."""
    names = [str(c) for c in frame.columns]
    if names == [str(i) for i in range(len(names))]:
        return None  # pandas' own names for an unnamed frame (DataFrame(rows).to_csv()): a real header
    number = next((n for n in names if NUMBER.fullmatch(n.strip())), None)
    if number is not None:
        return f"'{number.strip()}' is a number, not a column name"
    long = [n for n in names if len(n.strip()) > MAX_NAME_CHARS or len(n.split()) > MAX_NAME_WORDS]
    if long and all(n in long or _is_value_of(frame[c], n) for n, c in zip(names, frame.columns)):
        shown = long[0].strip()
        shown = shown if len(shown) <= MAX_NAME_CHARS else shown[:MAX_NAME_CHARS].rstrip() + "..."
        return f"'{shown}' is a sentence, not a column name"
    # The first row's label heading a column of labels ('positive' over positive and negative rows).
    named = [c for c in frame.columns if _is_value_of(frame[c], str(c)) and not _repeats_header(frame, c)]
    candidates = label_candidates(frame) if named else []
    label = next((c for c in named if c in candidates), None)
    if label is not None:
        return f"'{str(label).strip()}' is one of the labels in its column, not a column name"
    return None


def _repeats_header(frame: pd.DataFrame, column) -> bool:
    """Whether the rows in which `column` holds its own name hold every other column's name too:
    the header line again (files joined with cat), not a label that became a column name."""
    rows = frame[_cells_named(frame[column], column)]
    return all(_cells_named(rows[c], c).all() for c in frame.columns)


def _cells_named(values: pd.Series, name) -> pd.Series:
    """Which cells hold `name` (spaces at the ends aside)."""
    return values.map(lambda v: isinstance(v, str) and v.strip() == str(name).strip())


def _is_value_of(values: pd.Series, name: str) -> bool:
    return bool(_cells_named(values, name).any())


def numbers_only(values: pd.Series) -> bool:
    """Every non-blank value is a number, or a string that spells one ('1000', '-2.5'): a column of
    ids or scores, not texts. CSV and TSV are read as strings (dtype=str), so a numeric column
    there holds '1000' where JSONL holds 1000; this sees both the same way."""
    seen = False
    for value in values:
        if value is None or (isinstance(value, float) and value != value):  # v != v: NaN
            continue
        if isinstance(value, str):
            if not value.strip():
                continue
            if not NUMBER.fullmatch(value.strip()):
                return False
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy's too; bool is no score
            return False
        seen = True
    return seen
