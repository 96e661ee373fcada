"""Which column is the text, the optional second text, and the label.

Detection tries the names datasets commonly use, then falls back on the data itself: the text is
the column of the longest strings, the label a column with few distinct values.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

TEXT_NAMES = ("text", "sentence", "content", "review", "document", "sentence1", "text_a",
              "question1", "premise", "question", "query", "input", "description", "tweet")
PAIR_NAMES = {"sentence1": "sentence2", "text_a": "text_b", "question1": "question2",
              "premise": "hypothesis", "question": "context", "text": "text_pair",
              "query": "passage"}
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "gold",
               "intent", "topic")


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
    label = next((lower[n] for n in LABEL_NAMES if n in lower), None)
    if label is None:
        label = _few_valued_column(frame, exclude={text})
    if text is None:
        text = _longest_text_column(frame, exclude={label})
    pair = None
    if text is not None:
        partner = PAIR_NAMES.get(str(text).lower())
        pair = lower.get(partner) if partner else None
    return {"text": text, "text_pair": pair, "label": label}


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


def _few_valued_column(frame: pd.DataFrame, exclude: set) -> str | None:
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
            candidates.append((distinct, column))
    return min(candidates)[1] if candidates else None
