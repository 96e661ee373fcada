"""Read a dataset into pandas frames, one per split, keeping where each row came from.

We read into pandas (not straight into `datasets`) so the pre-flight check can point at the
exact line of the file the user has to fix. Training converts the checked frames to `datasets`.
"""

from __future__ import annotations

import bisect
import bz2
import contextlib
import csv
import difflib
import gzip
import io
import json
import lzma
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data.columns import header_looks_like_data
from workbench.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
# Text formats may come compressed (train.jsonl.gz is how many datasets ship): read as they are.
COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# Files people try that we do not read, with what to do instead.
_SAVE_AS_CSV = "save the sheet as CSV UTF-8 from the spreadsheet program (File > Save As)"
ADVICE = {".xlsx": _SAVE_AS_CSV, ".xls": _SAVE_AS_CSV, ".ods": _SAVE_AS_CSV,
          ".zip": "unzip it and give the file inside (or the folder of split files)",
          ".txt": "rename it to .tsv if its columns are tab separated, or .csv if comma separated (a "
                  "plain-text corpus is for pretraining, which is not available yet)"}
# File stems that name a split: train.csv, dev.tsv, validation.jsonl, test_2k.csv, ...
SPLIT_NAMES = {"train": "train", "training": "train", "dev": "validation", "valid": "validation",
               "val": "validation", "validation": "validation", "eval": "validation", "test": "test"}
LABEL_NAME_FILES = ("classes.txt", "labels.txt")
# Separators we do not read, recognised in a header line that has no comma, semicolon or tab.
OTHER_SEPARATORS = ("|", ":")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Excel's first line naming the separator, `sep=;`, and as some tools quote it, `"sep=;"`.
_SEPARATOR_HINT = re.compile(r'"?sep=(.)"?')
# The shards of one split, as the Hub and datasets name them: train-00000-of-00002.parquet.
_SHARD = re.compile(r"(.+)-(\d+)-of-(\d+)")
# Lines, files or names listed in one message; the rest are counted.
MAX_LISTED = 8
# One field of a TSV written with CSV quoting (pandas, Excel): "quoted, with "" inside" or bare.
_TSV_FIELD = re.compile(r'(?:"[^"]*(?:""[^"]*)*"|[^\t\r\n"]*)(?=\t|\r?\n|\r|\Z)')


def shortened(items: list, limit: int = MAX_LISTED) -> str:
    """Items joined by commas, the first `limit` of a longer list and how many more."""
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass
class SplitFrame:
    """One split: its rows and how to name a row to the user."""

    frame: pd.DataFrame
    source: str  # the file (or hub dataset) it came from
    line_offset: int  # row i of the frame is `line i + line_offset` of the file
    unit: str = "line"  # "line" for text files, "row" for parquet / hub
    # Row i's first line when rows span several lines (quoted texts with line breaks), else None.
    lines: np.ndarray | None = None
    # Class names by column, as 🤗 datasets' ClassLabel gives them (a Hub dataset, its Parquet files).
    class_names: dict[str, list[str]] = field(default_factory=dict)
    # (first row, file name) of each file when the split was read from several (shards).
    files: list[tuple[int, str]] = field(default_factory=list)

    def where(self, index: int) -> str:
        number = self.lines[index] if self.lines is not None else index + self.line_offset
        if not self.files:
            return f"{self.unit} {number}"
        name = self.files[bisect.bisect_right([start for start, _ in self.files], index) - 1][1]
        return f"{name} {self.unit} {number}"

    def row_numbers(self) -> np.ndarray:
        """Each row's line (or record, or row) number, as where() names it."""
        return self.lines if self.lines is not None else np.arange(len(self.frame)) + self.line_offset


@dataclass
class RawData:
    splits: dict[str, SplitFrame]
    source: str
    label_names_file: list[str] | None = None  # classes.txt beside the data, if any
    hub_label_names: dict[str, list[str]] = field(default_factory=dict)  # ClassLabel names
    # Why a split's file (or classes.txt, under None) cannot be read, by split: only from
    # load_raw(partial=True), whose caller reports these beside the problems of the splits read.
    unreadable: dict[str | None, str] = field(default_factory=dict)


def data_path_text(path: str | os.PathLike) -> str:
    """A data path as the loaders read it: text, from a pathlib.Path too. A DataFrame (or any
    other object) is refused with the way to hand its rows over."""
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    raise DataError(f"the data is given by its path (a file, a folder of split files or hub:<dataset id>), "
                    f"not a {type(path).__name__}; save a DataFrame first, e.g. frame.to_csv('data.csv', "
                    "index=False), and give that path")


def load_raw(path: str | os.PathLike, partial: bool = False) -> RawData:
    """Load a file, a folder of split files, or `hub:<id>` into frames. A folder file that cannot be
    read raises DataError naming every such file; with `partial`, the other splits still load and
    the reasons are in `unreadable` (unless train is among them)."""
    path = data_path_text(path).strip()
    if not path:
        raise DataError("no data path is given; give a file (CSV, TSV, JSON, JSONL, Parquet), a folder of "
                        "split files or hub:<dataset id>")
    if path.startswith("hub:"):
        name = path.removeprefix("hub:").rstrip(": ")  # a trailing colon names no subset
        if not name:
            raise DataError("hub: needs a dataset id after it, e.g. hub:nyu-mll/glue:sst2 or hub:stanfordnlp/imdb")
        return _load_hub(name)
    if re.match(r"[a-zA-Z][\w+.-]*://", path):
        raise DataError(f"'{path}' is a URL; the workbench reads files on this machine and "
                        "Hub datasets: download it and give its path, or use hub:<dataset id>")
    p = Path(path).expanduser()
    if p.is_dir():
        return _load_folder(p, partial)
    if p.is_file():
        part = read_file(p)
        return RawData({"train": part}, str(p), _label_names_beside(p.parent), part.class_names)
    # datasets/sst with a folder datasets/ here is a mistyped path (datasets/sst2), not a Hub id.
    if re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", path) and not path.startswith(".") \
            and not _names_a_file(p) and not Path(path.split("/")[0]).exists():
        return _load_hub(path)
    where = "" if p.is_absolute() else f" (relative paths start from {Path.cwd()})"
    similar = _similar_path(p)
    meant = f"did you mean '{similar}'? Or " if similar else ""
    raise DataError(f"data path '{path}' does not exist{where}; {meant}give a CSV, TSV, JSON, JSONL or Parquet "
                    "file, a folder of split files (train/dev/test), or hub:<dataset id>[:<subset>]")


def _similar_path(path: Path) -> Path | None:
    """The existing path closest to a missing one, each missing part replaced by the closest name
    beside it (datasets/sst -> datasets/sst2); None when some part has no close name."""
    found = Path(path.anchor)
    for part in path.parts[1 if path.anchor else 0:]:
        if not (found / part).exists():
            try:
                names = [entry.name for entry in found.iterdir() if not entry.name.startswith(".")]
            except OSError:  # not a folder, or not ours to list
                return None
            close = difflib.get_close_matches(part, names, n=1)
            if not close:
                return None
            part = close[0]
        found = found / part
    return found


def _names_a_file(path: Path) -> bool:
    """data/goood.csv is a mistyped file, not a Hub id: Hub ids do not end in a file extension, and
    calling it an unreachable dataset hides the typo."""
    suffix, compression = _split_suffix(path)
    return suffix in FORMATS or suffix in ADVICE or bool(compression)


def _split_suffix(path: Path) -> tuple[str, str]:
    """('.csv', '') for train.csv, ('.csv', '.gz') for train.csv.gz."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSED:
        return suffixes[-2], suffixes[-1]
    return (suffixes[-1] if suffixes else ""), ""


def data_suffix(path: Path) -> str:
    """The suffix that names a data file's format: '.csv', or '.csv.gz' for a compressed one."""
    return "".join(_split_suffix(path))


def data_format(path: Path) -> str | None:
    """csv, tsv, json, jsonl or parquet; None for a file we do not read."""
    suffix, compression = _split_suffix(path)
    fmt = FORMATS.get(suffix)
    if fmt == "parquet" and compression:
        return None  # parquet compresses itself; pyarrow does not read a .parquet.gz
    return fmt


def _open_text(path: Path, encoding: str = "utf-8", errors: str = "strict", newline: str | None = None):
    opener = COMPRESSED.get(path.suffix.lower())
    if opener is not None:
        return opener(path, "rt", encoding=encoding, errors=errors, newline=newline)
    return path.open(encoding=encoding, errors=errors, newline=newline)


def _read_bytes(path: Path) -> bytes:
    opener = COMPRESSED.get(path.suffix.lower())
    if opener is not None:
        with opener(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def _text_encoding(path: Path) -> str:
    """UTF-16 when the file starts with its byte-order mark (Excel's "Unicode Text" export writes
    tab-separated UTF-16), else UTF-8 with an optional byte-order mark (Excel's "CSV UTF-8")."""
    opener = COMPRESSED.get(path.suffix.lower())
    with (opener(path, "rb") if opener is not None else path.open("rb")) as handle:
        start = handle.read(2)
    return "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"


def _first_lines(path: Path, encoding: str) -> tuple[str | None, str, str]:
    """The separator named by Excel's `sep=;` first line (scripts write it so Excel splits the
    columns in any locale), or None; then the header line and the first row's line."""
    with _open_text(path, encoding=encoding, errors="replace") as handle:
        first = handle.readline()
        hint = _SEPARATOR_HINT.fullmatch(first.rstrip("\r\n"))
        if hint:
            first = handle.readline()
        return (hint.group(1) if hint else None), first, handle.readline()


def _separator(header: str, fmt: str) -> str:
    """The separator the header line uses, because it is the one line whose cells hold no free text:
    for .csv ',' unless it has none but ';' or a tab (spreadsheets in many locales export CSV with
    semicolons, some tools write tabs into .csv files); for .tsv a tab unless it has none but commas
    or semicolons (a CSV named .tsv would read as one column named 'text,label')."""
    order = ("\t", ",", ";") if fmt == "tsv" else (",", ";", "\t")
    return next((separator for separator in order if separator in header), order[0])


def _other_separator(header: str, first_row: str) -> str | None:
    """'|' (or ':') when the header line has no comma, semicolon or tab but that character, and the
    first row has it as often: a file we cannot split, which otherwise reads as one column and
    gets advice about quoting or the label column that does not apply."""
    if any(separator in header for separator in (",", ";", "\t")):
        return None
    return next((sep for sep in OTHER_SEPARATORS
                 if header.count(sep) and first_row.count(sep) >= header.count(sep)), None)


def _tsv_uses_csv_quoting(path: Path, encoding: str) -> bool:
    """Whether a .tsv was written with CSV quoting (pandas' to_csv(sep="\\t"), Excel): every quote
    in it opens or closes a whole field or is doubled inside one, and some quoted field needed it
    (it holds a quote, tab or newline) or the header is quoted (R's write.table quotes every
    field). GLUE-style TSVs have bare quotes inside their texts (`he said "hi`) and are read with
    QUOTE_NONE, so those quotes stay text."""
    with _open_text(path, encoding=encoding) as handle:
        text = handle.read()
    if '"' not in text:
        return False
    needed, position = text.startswith('"'), 0
    while position < len(text):
        field = _TSV_FIELD.match(text, position)
        if field is None:
            return False  # a quote inside an unquoted field: the file does not use CSV quoting
        value = field.group()
        if value.startswith('"') and any(c in value[1:-1] for c in '"\t\n\r'):
            needed = True
        position = field.end() + (2 if text.startswith("\r\n", field.end()) else 1)
    return needed


def _read_text(path: Path) -> str:
    """A text file's content, decoded as CSV files are: UTF-16 after its byte-order mark, else UTF-8
    without one. Notepad and PowerShell write both, and a mark left in would break the first JSON
    line or the first class name."""
    with _open_text(path, encoding=_text_encoding(path)) as handle:
        return handle.read()


def _first_non_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 sits, as a line number a user can open."""
    data = _read_bytes(path)
    try:
        data.decode("utf-8")
        return "a byte that is not UTF-8"
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return f"line {line} has byte 0x{data[err.start]:02x}, perhaps Latin-1 or Windows-1252"


@dataclass
class _RowScan:
    """What Python's csv module finds in a file pandas could not read, line by line as an editor
    counts them (pandas counts records, so a quoted text with line breaks shifts its numbers)."""

    fields: int  # in the header
    long: list[tuple[int, bool]] = field(default_factory=list)  # (first line, extra fields all empty) per row
    unclosed: int | None = None  # the line of a quote that is never closed


def _scan_rows(path: Path, sep: str, quoting: int, encoding: str, skip: int, strict: bool = True) -> _RowScan:
    # newline="": lines are counted as the file has them, and line breaks inside quotes stay text.
    with _open_text(path, encoding=encoding, errors="replace", newline="") as handle, _long_fields():
        for _ in range(skip):
            handle.readline()
        reader = csv.reader(handle, delimiter=sep, quoting=quoting, strict=strict)
        scan, start = _RowScan(0), skip + 1
        try:
            scan.fields = len(next(reader, []))
            while True:
                start = skip + reader.line_num + 1
                row = next(reader, None)
                if row is None:
                    return scan
                if len(row) > scan.fields:
                    scan.long.append((start, not any(value.strip() for value in row[scan.fields:])))
        except csv.Error as err:
            if not strict:
                return scan  # what was found so far; pandas' own words stand in when that is nothing
            # Strict mode tells an unclosed quote at the end from the rest; anything else it refuses
            # (a character after a closing quote) pandas reads on, and so does the lenient mode.
            if "unexpected end of data" in str(err):
                scan.unclosed = start
                return scan
            return _scan_rows(path, sep, quoting, encoding, skip, strict=False)


@contextlib.contextmanager
def _long_fields():
    """The csv module refuses fields over 131,072 characters, which a quote never closed makes of
    the rest of the file; pandas reads them, so the scan that names its lines must too."""
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def _header_names(path: Path, sep: str, quoting: int, encoding: str, skip: int) -> list[str]:
    # Strict decoding: a binary file renamed .csv is named as one, not for its garbled "names".
    with _open_text(path, encoding=encoding, newline="") as handle:
        for _ in range(skip):
            handle.readline()
        try:
            return next(csv.reader(handle, delimiter=sep, quoting=quoting), [])
        except csv.Error:
            return []


def _require_distinct_names(path: Path, names: list[str]) -> None:
    """pandas reads a second 'label' column as 'label.1', and the check would silently use the first."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(names, start=1):
        if name.strip():  # Excel's blank names (trailing commas) become Unnamed: 2, Unnamed: 3
            positions.setdefault(name, []).append(number)
    repeated = [f"{name!r} (columns {shortened(numbers)})" for name, numbers in positions.items() if len(numbers) > 1]
    if repeated:
        raise DataError(f"'{path.name}' has more than one column named {', '.join(repeated)}; give each column "
                        "its own name in the header line")


def _malformed(path: Path, sep: str, quoting: int, encoding: str, skip: int,
               error: pd.errors.ParserError | None) -> DataError:
    """Every row with too many fields and an unclosed quote, at the lines an editor shows, with the
    fix for this file's separator."""
    scan = _scan_rows(path, sep, quoting, encoding, skip)
    found, fixes = [], []
    if scan.long:
        lines = [line for line, _ in scan.long]
        that = "that line" if len(lines) == 1 else "those lines"
        found.append(f"line {lines[0]} has more fields than the header ({scan.fields})" if len(lines) == 1 else
                     f"lines {shortened(lines)} have more fields than the header ({scan.fields})")
        name = SEPARATOR_NAMES.get(sep, repr(sep))
        if all(empty for _, empty in scan.long):  # every row ends in a separator: an empty extra field
            fixes.append(f"Remove the {name} at the end of {that} (or name the extra column in the header)")
        elif quoting == csv.QUOTE_NONE:  # a bare tab cannot be quoted in a TSV read with QUOTE_NONE
            fixes.append(f"Remove the tab inside the text in {that} (or the extra field), or save the file as .csv")
        else:
            example = f' ("like{sep} this")' if sep in ",;" else ""
            fixes.append(f"Quote fields that contain a {name}{example} or fix {that}")
    if scan.unclosed:
        found.append(f"the quote opened on line {scan.unclosed} is never closed")
        fixes.append('Close it (a quote inside a quoted text is written twice: "")')
    if not found and error is not None:  # pandas saw what the csv module did not: its own words
        found.append(str(error).strip().splitlines()[-1].replace("Error tokenizing data. C error: ", ""))
        fixes.append("Fix that line")
    kind = "TSV" if sep == "\t" else "CSV"
    return DataError(f"'{path.name}' is not a well-formed {kind} file: {', and '.join(found)}. {'; '.join(fixes)}")


def _row_lines(frame: pd.DataFrame, first: int) -> np.ndarray | None:
    """Each row's first line in the file, where quoted texts with line breaks make rows span
    several lines (pandas and Excel write them so); None when every row is one line."""
    breaks = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            breaks += frame[column].str.count(r"\r\n|\r|\n").fillna(0).to_numpy(dtype=np.int64)
    if not breaks.any():
        return None
    return first + np.concatenate(([0], np.cumsum(breaks + 1)[:-1]))


def _read_delimited(path: Path, fmt: str) -> SplitFrame:
    encoding = _text_encoding(path)
    hint, header, first_row = _first_lines(path, encoding)
    other = None if hint else _other_separator(header, first_row)
    if other:
        raise DataError(f"'{path.name}' seems to be separated by '{other}' (its header line has no "
                        "comma, semicolon or tab); save it with commas (CSV) or tabs (TSV)")
    sep = hint or _separator(header, fmt)
    quoting = csv.QUOTE_MINIMAL
    if fmt == "tsv" and sep == "\t" and not _tsv_uses_csv_quoting(path, encoding):
        quoting = csv.QUOTE_NONE
    skip = 1 if hint else 0
    _require_distinct_names(path, _header_names(path, sep, quoting, encoding, skip))
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""], skiprows=skip,
                            skip_blank_lines=False, quoting=quoting, encoding=encoding)
    except pd.errors.ParserError as err:
        raise _malformed(path, sep, quoting, encoding, skip, err) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # The first row had one field more than the header, so pandas silently took the first
        # column as an index: every text would shift by one column.
        raise _malformed(path, sep, quoting, encoding, skip, None)
    looks_like_data = header_looks_like_data(frame)
    if looks_like_data:  # read as a header, the first row of data would be silently lost
        example = "text<tab>label" if sep == "\t" else f"text{sep}label"
        raise DataError(f"'{path.name}' seems to have no header row: its first line looks like data "
                        f"({looks_like_data}); add a first line naming the columns, e.g. {example}")
    frame = _without_trailing_blank_rows(frame)
    # The first row follows the `sep=` line and the header, which may span lines itself.
    first = skip + 2 + sum(len(re.findall(r"\r\n|\r|\n", str(name))) for name in frame.columns)
    return SplitFrame(frame, str(path), line_offset=first, lines=_row_lines(frame, first))


def read_file(path: Path) -> SplitFrame:
    fmt = data_format(path)
    if fmt is None:
        suffix = data_suffix(path)
        fix = ADVICE.get(suffix) or (f"use one of {', '.join(sorted(FORMATS))} "
                                     "(the text formats may also end in .gz, .bz2 or .xz)")
        raise DataError(f"'{path.name}' has an unknown extension '{suffix}'; {fix}")
    if path.stat().st_size == 0:
        raise DataError(f"'{path}' is empty; it needs a header line and at least one row")
    try:
        if fmt in ("csv", "tsv"):
            return _read_delimited(path, fmt)
        if fmt in ("json", "jsonl"):
            return _read_json_file(path, fmt)
        return _read_parquet(path)
    except DataError:
        raise
    except UnicodeDecodeError:
        if b"\x00" in _read_bytes(path)[:8192]:  # no text encoding but UTF-16 (read above) holds NUL bytes
            raise DataError(f"'{path.name}' is not a text file (it holds binary data, such as NUL bytes): "
                            f"{fmt.upper()} data is text; export the table as {fmt.upper()} from the program "
                            "that made it") from None
        raise DataError(f"'{path.name}' is not UTF-8 text ({_first_non_utf8(path)}); "
                        "save it as UTF-8 and try again") from None
    except (ValueError, OSError, EOFError, lzma.LZMAError) as err:  # EOFError: a truncated .gz
        if _split_suffix(path)[1] and isinstance(err, (OSError, EOFError, lzma.LZMAError)):
            raise DataError(f"'{path.name}' could not be decompressed ({str(err).splitlines()[0]}): it is "
                            "damaged or cut short; compress it again, or give the uncompressed file") from None
        raise DataError(f"'{path.name}' could not be read as {fmt.upper()}: "
                        f"{str(err).splitlines()[0]}") from None


def _read_parquet(path: Path) -> SplitFrame:
    import pyarrow.parquet as pq

    frame = pd.read_parquet(path)
    # 🤗 datasets' to_parquet keeps its features in the schema: ClassLabel names, as from the Hub.
    metadata = pq.read_schema(path).metadata or {}
    features = json.loads(metadata.get(b"huggingface", b"{}")).get("info", {}).get("features", {})
    names = {column: list(feature["names"]) for column, feature in features.items()
             if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and column in frame}
    for column in names:
        frame[column] = _class_label_ids(frame[column])
    for column in frame.columns:
        if getattr(frame[column].dtype, "na_value", None) is pd.NA:
            # Nullable columns (Int64, boolean, string) mark a gap with pd.NA, which str() makes the
            # class '<NA>'; None is missing everywhere, as in the other formats.
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return SplitFrame(frame, str(path), line_offset=1, unit="row", class_names=names)


def _class_label_ids(values: pd.Series) -> pd.Series:
    """-1 is ClassLabel's "no label" (GLUE hides its test labels so): a missing label."""
    return values.astype(object).where(values.fillna(-1) >= 0, None)


def _without_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the end of a file (editors leave them) are not rows. Blank lines before the
    last row stay, reported as empty rows, so every later row keeps its line number."""
    # astype: an empty text column keeps its str dtype through map, and str & bool is deprecated
    filled = frame.notna() & frame.map(lambda v: not (isinstance(v, str) and not v.strip())).astype(bool)
    rows_with_data = np.flatnonzero(filled.any(axis=1).to_numpy())
    return frame.iloc[:rows_with_data[-1] + 1 if len(rows_with_data) else 0]


def _read_json_file(path: Path, fmt: str) -> SplitFrame:
    """JSON Lines or one JSON document, whichever the text holds: editors and scripts save either
    under either extension, so both read the same under .json and .jsonl."""
    text = _read_text(path)
    data = _json_document(path, fmt, text)
    if data is None:
        return SplitFrame(_without_trailing_blank_rows(_read_jsonl(path, text)), str(path), line_offset=1)
    return SplitFrame(_json_records(path, data), str(path), line_offset=1, unit="record")


def _json_document(path: Path, fmt: str, text: str):
    """The parsed JSON of a document; None for JSON Lines."""
    if fmt == "jsonl":
        # A JSON array saved as .jsonl (json.dump(rows, f, indent=2)): its first line "[" is no record.
        if not text.lstrip().startswith("["):
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None  # read line by line, so each broken line is named
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg.startswith("Extra data"):  # JSON Lines saved as .json
            return None
        raise DataError(f"'{path.name}' is not valid JSON: {err.msg} at line {err.lineno}, "
                        f"column {err.colno}") from None


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records, broken = [], []
    for number, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            records.append({})  # keep line numbers aligned; reported as an empty row
            continue
        try:  # without its line break, which a cut-off string would report as a control character
            record = json.loads(line.rstrip("\n"))
        except json.JSONDecodeError as err:
            broken.append(f"line {number} is not valid JSON ({err.msg} at column {err.colno})")
            continue
        if not isinstance(record, dict):
            broken.append(f"line {number} is a JSON {type(record).__name__}, not an object")
            continue
        records.append(record)
    if broken:  # every broken line at once: fixing them one check at a time is the loop to avoid
        raise DataError(f"'{path.name}' {shortened(broken)}; each line must be one JSON object, like "
                        "{\"text\": ..., \"label\": ...}")
    return pd.DataFrame.from_records(records)


def _json_records(path: Path, data) -> pd.DataFrame:
    """The rows of a parsed JSON document: a list of records, or one of the layouts pandas writes."""
    if isinstance(data, dict) and {"columns", "data"} <= set(data) and isinstance(data["data"], list):
        return pd.DataFrame(data["data"], columns=data["columns"])  # pandas' to_json(orient="split")
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        return _pandas_json_table(data)
    if isinstance(data, dict):  # {"data": [...]} or {"text": [...], "label": [...]}
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(r, dict) for r in lists[0]):
            data = lists[0]
        elif lists and all(isinstance(v, list) for v in data.values()):
            return pd.DataFrame(data)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DataError(f"'{path.name}' must be a list of records like "
                        "[{\"text\": ..., \"label\": ...}] (or JSON Lines)")
    return pd.DataFrame.from_records(data)


def _pandas_json_table(data: dict) -> pd.DataFrame:
    """What pandas' DataFrame.to_json() writes by default, {"text": {"0": ...}, "label": {"0": ...}}
    (orient="columns"), or with orient="index", {"0": {"text": ..., "label": ...}}: rows back in
    their order (the keys are strings, and "10" sorts before "2")."""
    frame = pd.DataFrame(data)
    if all(str(key).isdigit() for key in data):  # the outer keys are row numbers: orient="index"
        frame = frame.T
    if all(str(row).isdigit() for row in frame.index):
        frame = frame.loc[sorted(frame.index, key=int)]
    return frame.reset_index(drop=True)


def _load_folder(folder: Path, partial: bool) -> RawData:
    files: dict[str, list[Path]] = {}
    for file in sorted(folder.iterdir()):
        if data_format(file) is not None and file.is_file():
            split = SPLIT_NAMES.get(re.split(r"[._-]", file.stem.lower())[0])
            if split is not None:
                files.setdefault(split, []).append(file)
    if "train" not in files:
        found = shortened(sorted(f.name for f in folder.iterdir() if data_format(f)))
        if not found:  # say what is there instead: a corpus in .txt, an unzipped archive's folder...
            others = sorted(f.name for f in folder.iterdir() if not f.name.startswith("."))
            found = f"none; it holds {shortened(others)}" if others else "none; it is empty"
        raise DataError(f"folder '{folder}' has no train file; name the files train.*, dev.* or "
                        f"validation.*, test.* (data files found: {found})")
    # Every file is read, and what stops each one is said at once: an unreadable dev file must not
    # hide train's problems until it is fixed.
    splits: dict[str, SplitFrame] = {}
    unreadable: dict[str | None, str] = {}
    for split, group in files.items():
        try:
            splits[split] = _read_split(folder, split, group)
        except DataError as err:
            unreadable[split] = str(err)
    try:
        label_names = _label_names_beside(folder)
    except DataError as err:
        label_names, unreadable[None] = None, str(err)
    if unreadable and (not partial or "train" in unreadable):
        if len(unreadable) == 1:
            raise DataError(next(iter(unreadable.values())))
        raise DataError(f"{len(unreadable)} problems with the files of folder '{folder}':\n"
                        + "\n".join(f"- {why}" for why in unreadable.values()))
    return RawData(splits, str(folder), label_names, splits["train"].class_names, unreadable)


def _read_split(folder: Path, split: str, group: list[Path]) -> SplitFrame:
    """One split's file, or its shards (train-00000-of-00002.csv, ...) read as one split, in order."""
    if len(group) == 1:
        return read_file(group[0])
    shards = [_SHARD.fullmatch(file.name[:-len(data_suffix(file))]) for file in group]
    sets = {(shard.group(1), shard.group(3), data_suffix(file)) if shard else None
            for shard, file in zip(shards, group)}  # one set: a stem, a count, a format
    numbers = {int(shard.group(2)): file for shard, file in zip(shards, group) if shard}
    if None in sets or len(sets) > 1 or max(numbers) >= int(shards[0].group(3)):
        raise DataError(f"folder '{folder}' has {len(group)} {split} files ({shortened([f.name for f in group])}); "
                        "keep one, or join them into one file")
    (stem, total, suffix), = sets
    width = len(shards[0].group(2))
    missing = [f"{stem}-{i:0{width}d}-of-{total}{suffix}" for i in range(int(total)) if i not in numbers]
    if missing:
        raise DataError(f"folder '{folder}' lacks {shortened(missing)} of the {int(total)} {split} shards; add "
                        f"{'it' if len(missing) == 1 else 'them'}")
    files = [numbers[i] for i in range(int(total))]
    parts = [read_file(file) for file in files]
    columns = list(parts[0].frame.columns)
    for file, part in zip(files[1:], parts[1:]):
        if list(part.frame.columns) != columns:
            raise DataError(f"'{file.name}' has the columns {', '.join(map(str, part.frame.columns))} but "
                            f"'{files[0].name}' has {', '.join(map(str, columns))}; give every {split} shard the "
                            "same columns")
    starts = np.cumsum([0] + [len(part.frame) for part in parts[:-1]])
    return SplitFrame(pd.concat([part.frame for part in parts], ignore_index=True),
                      str(folder / f"{stem}-*-of-{total}{suffix}"), parts[0].line_offset, parts[0].unit,
                      lines=np.concatenate([part.row_numbers() for part in parts]),
                      class_names=parts[0].class_names,
                      files=[(int(start), file.name) for start, file in zip(starts, files)])


def _label_names_beside(folder: Path) -> list[str] | None:
    for name in LABEL_NAME_FILES:
        file = folder / name
        if file.is_file():
            try:
                text = _read_text(file)
            except UnicodeDecodeError:
                raise DataError(f"the label names file '{file}' is not UTF-8 text ({_first_non_utf8(file)}); "
                                "save it as UTF-8 and try again") from None
            names = [line.strip() for line in text.splitlines() if line.strip()]
            return names or None
    return None


def _load_hub(name: str) -> RawData:
    """`<id>` or `<id>:<subset>` (a Hub dataset's configuration, e.g. nyu-mll/glue:sst2)."""
    import datasets

    dataset_id, _, subset = name.partition(":")
    shown = f"'{dataset_id}'" + (f" (subset '{subset}')" if subset else "")
    try:
        loaded = datasets.load_dataset(dataset_id, subset or None)
    except Exception as err:  # datasets raises many types (ConnectionError, DatasetNotFoundError...)
        subsets = _subsets_named_in(str(err))
        if subsets is not None:
            # datasets' own message shows Python usage; ours names the path syntax to type.
            problem = f"has no subset '{subset}'" if subset else "has several subsets"
            raise DataError(f"Hub dataset '{dataset_id}' {problem}: name one as hub:{dataset_id}:<subset>, "
                            f"e.g. hub:{dataset_id}:{subsets[0]} (its subsets: {', '.join(subsets)})") from None
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise DataError(f"Hub dataset {shown} could not be loaded: it is not in the local "
                            "cache and the Hub cannot be reached (offline). Fix: connect once so it "
                            "downloads, or download its files and give their path instead") from None
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"Hub dataset {shown} could not be loaded ({text}). If this machine "
                        "is offline, download the files and give their path instead") from None
    splits, names = {}, {}
    for split_name, dataset in loaded.items():
        split = SPLIT_NAMES.get(split_name, split_name)
        frame = dataset.to_pandas()
        for column, feature in dataset.features.items():
            if isinstance(feature, datasets.ClassLabel):
                names[column] = list(feature.names)
                frame[column] = _class_label_ids(frame[column])
        splits[split] = SplitFrame(frame, f"{name}[{split_name}]", 1, "row")
    return RawData(splits, f"hub:{name}", hub_label_names=names)


def _subsets_named_in(message: str) -> list[str] | None:
    """The subset names in datasets' "Config name is missing ... available configs: [...]" and
    "BuilderConfig 'x' not found. Available: [...]" errors; None for any other error."""
    found = re.search(r"(?:available configs|Available): \[([^\]]*)\]", message)
    if not found:
        return None
    names = re.findall(r"'([^']+)'", found.group(1))
    return names or None
