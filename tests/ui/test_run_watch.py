"""Reading a growing metrics.jsonl incrementally (workbench/ui/run_watch.py), on real files."""

from __future__ import annotations

import json
import os

from workbench.ui import run_watch
from workbench.ui.run_watch import MetricsTail, file_size, forget, metrics_tail


def append(path, *records, raw: bytes = b""):
    with open(path, "ab") as fh:
        for record in records:
            fh.write(json.dumps(record).encode() + b"\n")
        fh.write(raw)


def test_missing_file_is_no_rows(tmp_path):
    tail = MetricsTail(tmp_path / "metrics.jsonl")
    assert tail.poll() == ([], (0, 0))


def test_reads_only_what_was_appended(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    append(path, {"step": 1, "loss": 0.9}, {"step": 2, "loss": 0.8})
    rows, version = tail.poll()
    assert [r["step"] for r in rows] == [1, 2]
    offset = tail.offset
    assert offset == path.stat().st_size
    append(path, {"step": 3, "loss": 0.7})
    rows, version2 = tail.poll()
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert version2 != version and tail.offset > offset


def test_version_changes_exactly_when_rows_do(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    append(path, {"step": 1})
    first = tail.poll()
    assert tail.poll()[1] == first[1]  # nothing new: same version, same list object
    assert tail.poll()[0] is first[0]


def test_a_line_being_written_waits_for_its_newline(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    append(path, {"step": 1}, raw=b'{"step": 2, "lo')
    assert [r["step"] for r in tail.poll()[0]] == [1]
    append(path, raw=b'ss": 0.5}\n')
    rows, _ = tail.poll()
    assert rows[-1] == {"step": 2, "loss": 0.5}


def test_a_damaged_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "metrics.jsonl"
    # Not JSON, not UTF-8 (UnicodeDecodeError is no JSONDecodeError), and JSON that is no row.
    append(path, {"step": 1}, raw=b"{not json\n\xff\xfe\n[1, 2]\n5\nnull\n")
    append(path, {"step": 2})
    assert [r["step"] for r in MetricsTail(path).poll()[0]] == [1, 2]


def test_the_run_reads_its_metrics_as_the_monitor_does(tmp_path):
    from workbench.config import RunConfig
    from workbench.runs.store import create_run

    run = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(tmp_path / "runs")}))
    assert run.metrics() == []
    append(run.metrics_path, {"step": 1}, raw=b"{not json\n\xff\xfe\n[1, 2]\n")
    append(run.metrics_path, {"step": 2}, raw=b'{"step": 3, "lo')
    assert run.metrics() == MetricsTail(run.metrics_path).poll()[0] == [{"step": 1}, {"step": 2}]


def test_old_snapshots_stay_unchanged(tmp_path):
    """A session holding the previous rows list sees it unchanged while others read new rows."""
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    append(path, {"step": 1})
    before, _ = tail.poll()
    append(path, {"step": 2})
    after, _ = tail.poll()
    assert len(before) == 1 and len(after) == 2


def test_a_replaced_or_truncated_file_starts_over(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    append(path, {"step": 1}, {"step": 2}, {"step": 3})
    _, (generation, _) = tail.poll()
    # Truncated (a run restarted from scratch in the same folder).
    path.write_text(json.dumps({"step": 1, "loss": 2.0}) + "\n")
    rows, (generation2, count) = tail.poll()
    assert rows == [{"step": 1, "loss": 2.0}] and count == 1 and generation2 > generation
    # Replaced by another file (a new inode), even one of the same size.
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"step": 1, "loss": 3.0}) + "\n")
    os.replace(other, path)
    rows, (generation3, _) = tail.poll()
    assert rows == [{"step": 1, "loss": 3.0}] and generation3 > generation2
    # Deleted.
    path.unlink()
    assert tail.poll()[0] == []


def test_one_shared_tail_per_run_until_forgotten(tmp_path):
    run_dir = tmp_path / "run-a"
    run_dir.mkdir()
    tail = metrics_tail(run_dir)
    assert metrics_tail(str(run_dir)) is tail
    forget(run_dir)
    assert metrics_tail(run_dir) is not tail
    forget(run_dir)
    assert run_dir / "metrics.jsonl" not in run_watch._tails


def test_file_size(tmp_path):
    assert file_size(tmp_path / "nothing") == -1
    (tmp_path / "log").write_text("abc")
    assert file_size(tmp_path / "log") == 3
