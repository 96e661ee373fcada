"""Reading run folders cheaply, many times a second, from many browser sessions at once.

metrics.jsonl only grows, so each file is read from where the last read stopped: a poll of a run
that logged nothing new costs one stat() call. One MetricsTail per file is shared by every
session (the UI polls twice a second per open browser tab).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from workbench.runs.store import metric_rows


class MetricsTail:
    """The rows of one metrics.jsonl, kept up to date by reading only the appended bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict] = []
        self.offset = 0
        self.inode = None
        self.generation = 0  # bumped when the file was replaced or truncated (rows restart)
        self.lock = threading.Lock()

    def poll(self) -> tuple[list[dict], tuple[int, int]]:
        """(rows, version); the version changes exactly when the rows do."""
        with self.lock:
            self._read_new()
            return self.rows, (self.generation, len(self.rows))

    def _read_new(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self.rows or self.offset:
                self._reset()
            return
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            self._reset()
            self.inode = stat.st_ino
        if stat.st_size == self.offset:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read(stat.st_size - self.offset)
        end = chunk.rfind(b"\n")
        if end < 0:  # a line still being written: read it next time
            return
        # A new list, not append: sessions holding the old list see a consistent snapshot.
        self.rows = self.rows + metric_rows(chunk[:end].splitlines())
        self.offset += end + 1

    def _reset(self) -> None:
        self.rows, self.offset, self.inode = [], 0, None
        self.generation += 1


_tails: dict[Path, MetricsTail] = {}
_tails_lock = threading.Lock()


def metrics_tail(run_dir: str | Path) -> MetricsTail:
    path = Path(run_dir) / "metrics.jsonl"
    with _tails_lock:
        tail = _tails.get(path)
        if tail is None:
            tail = _tails[path] = MetricsTail(path)
        return tail


def forget(run_dir: str | Path) -> None:
    """Drop the cached rows of a deleted run."""
    with _tails_lock:
        _tails.pop(Path(run_dir) / "metrics.jsonl", None)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1
