"""The Train tab's data section: load a dataset once, then preview, map columns and check it.

Loading is the slow part (a large CSV, a Hub download), so the loaded frames are cached by path
and modification time; changing a column mapping only re-runs the check.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.config import DataConfig, RunConfig
from workbench.data.columns import detect_columns
from workbench.data.load import RawData, load_raw
from workbench.data.prepare import sample_problems
from workbench.data.validate import PreflightReport, check_data
from workbench.errors import WorkbenchError
from workbench.ui import charts

PREVIEW_ROWS = 8
MAX_PROBLEM_CHARS = 400
_cache: OrderedDict[tuple, RawData] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass
class DataView:
    columns: list[str]  # the train split's columns
    detected: dict[str, str | None]  # detect_columns' guesses: text, text_pair, label
    preview: pd.DataFrame
    report: PreflightReport | None  # None when the data could not be read at all
    error: str | None = None
    column_widths: list[str] = field(default_factory=list)  # preview_widths of the full-length preview

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def num_labels(self) -> int:
        return len(self.report.label_names) if self.report else 0

    def message(self) -> str:
        """The pre-flight result as markdown: one line when fine, every problem otherwise."""
        if self.report is None:
            return f"✖ **The data cannot be read.** {escape_markdown(self.error or '')}"
        report = self.report
        head = ("✖ **Pre-flight check failed**" if not report.ok else "⚠ **Pre-flight check passed with warnings**"
                if report.problems else "✔ **Pre-flight check passed**")
        lines = [f"{head}: {escape_markdown(report.facts())}"]
        lines += [f"- {escape_markdown(_shorten(str(problem)))}" for problem in report.problems]
        return "\n".join(lines)


def _shorten(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """One problem in at most `limit` characters: a wrong label column can name every row."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def escape_markdown(text: str) -> str:
    """A message as markdown shows it: <id> would be an (empty) HTML tag, and the stars of
    `train.*` would set the words between them in italics."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")


def load_cached(path: str) -> RawData:
    """load_raw(partial=True), remembered while the file (or folder) is unchanged."""
    key = (path.strip(), _stamp(path.strip()))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    raw = load_raw(path, partial=True)
    with _cache_lock:
        _cache[key] = raw
        while len(_cache) > 4:
            _cache.popitem(last=False)
    return raw


def _stamp(path: str) -> tuple:
    p = Path(path).expanduser()
    if not p.exists():
        return ()
    files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file())
    return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def inspect_data(cfg: DataConfig, seed: int | None = None) -> DataView:
    """Preview, detected columns and the pre-flight report of cfg's dataset; with the data seed, the
    report also warns of a max_train_samples sample that misses a class. Never raises for bad
    data: an unreadable dataset comes back with `error` set to the reason."""
    if not cfg.path.strip():
        return DataView([], {}, pd.DataFrame(), None, "no dataset chosen; pick the demo, upload a file "
                        "or give a path")
    try:
        raw = load_cached(cfg.path)
        report = check_data(cfg, raw)
        if report.ok and seed is not None:
            report.problems += sample_problems(cfg, raw, report, seed)
    except WorkbenchError as err:
        return DataView([], {}, pd.DataFrame(), None, str(err))
    train = raw.splits["train"].frame
    preview = train.head(PREVIEW_ROWS).map(cell_text)
    preview.columns = [str(c) for c in preview.columns]
    # Widths from the texts as they are: shortened ones may no longer read as long.
    return DataView([str(c) for c in train.columns], detect_columns(train), shorten_texts(preview), report,
                    column_widths=preview_widths(preview))


def token_length_view(view: DataView, cfg: RunConfig):
    """The token-length chart of the checked data for cfg's model and max_length; the pre-flight
    warnings for texts max_length would cut or the tokenizer cannot read join view.report's
    problems. None when there is nothing to measure: unreadable data or columns not found. A model
    whose tokenizer cannot be loaded gives a chart that says so (the model section names it)."""
    from workbench.preflight import tokenizer_problems

    if view.report is None or view.report.columns is None or not view.report.ok:
        return None
    try:
        lengths, model_limit = _cached_lengths(cfg, view.report)
    except WorkbenchError as err:
        return charts.empty_figure("Token lengths", f"the model's tokenizer is needed: {str(err)[:80]}")
    view.report.problems += tokenizer_problems(cfg, lengths, model_limit)
    return charts.token_length_figure(lengths, cfg.task.max_length)


_lengths_cache: OrderedDict[tuple, tuple] = OrderedDict()


def _cached_lengths(cfg: RunConfig, report: PreflightReport):
    """token_lengths_of, remembered for the same data, columns and model: changing max_length
    only moves the line."""
    from workbench.preflight import token_lengths_of

    raw = load_cached(cfg.data.path)
    columns = report.columns
    key = (cfg.data.path.strip(), _stamp(cfg.data.path.strip()), columns.text, columns.text_pair,
           tuple(report.unlabeled_splits), cfg.model.name, cfg.model.trust_remote_code)
    with _cache_lock:
        if key in _lengths_cache:
            _lengths_cache.move_to_end(key)
            return _lengths_cache[key]
    try:
        measured = token_lengths_of(cfg, raw, report)
    except WorkbenchError:
        raise
    except Exception as err:  # a folder without a tokenizer, one that cannot load: the chart says
        # so, and the preview and the check above it stay (the model section names the problem)
        raise WorkbenchError(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    with _cache_lock:
        _lengths_cache[key] = measured
        while len(_lengths_cache) > 4:
            _lengths_cache.popitem(last=False)
    return measured


def cell_text(value):
    """Lists and mappings (token lists, nested JSON) shown as JSON text: the table would show
    [1] as a bare 1, and a token list as words run together by commas."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _long_text_columns(preview: pd.DataFrame) -> list[str]:
    # Any dtype: pandas 3 reads text as "str", not object.
    return [c for c in preview.columns if preview[c].map(lambda v: isinstance(v, str) and len(v) > 60).any()]


def preview_widths(preview: pd.DataFrame, short: int = 10) -> list[str]:
    """Column widths that keep every column in view: the long text columns share what the short
    ones (ids, labels) leave. Without them the table sizes columns by their content and a long text
    pushes the label column out of sight."""
    long_columns = set(_long_text_columns(preview))
    if not long_columns:
        return []
    share = (100 - short * (len(preview.columns) - len(long_columns))) / len(long_columns)
    return [f"{share:.0f}%" if c in long_columns else f"{short}%" for c in preview.columns]


def shorten_texts(preview: pd.DataFrame, width: int = 160) -> pd.DataFrame:
    """Long texts would push the other columns (the label) out of the table: the long text
    columns share `width` characters a row, at least 60 each. The full rows are in the file."""
    long_columns = _long_text_columns(preview)
    limit = max(60, width // max(1, len(long_columns)))
    shortened = preview.copy()
    for column in long_columns:
        shortened[column] = preview[column].map(
            lambda v: v[:limit - 3] + "..." if isinstance(v, str) and len(v) > limit else v)
    return shortened

