"""The model cache's listing and removal: what is still used, what never will be, and what --prune
frees. A real conversion's states (current, source changed, source gone) are followed in
tests/test_catalog.py::test_a_gguf_file_converts_once_into_the_cache, which converts a GGUF file."""

from __future__ import annotations

import json
import os

import pytest

from workbench import model_cache
from workbench.cli import main
from workbench.errors import WorkbenchError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "models"


def folder(path, megabytes: int = 1):
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"\0" * megabytes * 2**20)
    return path


def states(entries) -> dict[str, str]:
    return {e.name: e.state for e in entries}


def test_an_empty_or_missing_cache_lists_nothing(cache, capsys):
    assert model_cache.cached_models() == []
    assert main(["cache"]) == 0
    assert capsys.readouterr().out.strip() == f"no converted models in {cache}"


def test_half_written_conversions_are_told_from_running_ones(cache, capsys, dead_pid):
    # catalog._converted_gguf writes <target>.tmp<pid> and renames it once complete.
    killed = folder(cache / f"gguf-mine-0123456789ab.tmp{dead_pid}", megabytes=3)
    running = folder(cache / f"gguf-other-ba9876543210.tmp{os.getpid()}")
    older = folder(cache / "gguf-old-aaaaaaaaaaaa")  # converted before sources were recorded
    assert states(model_cache.cached_models()) == {
        killed.name: "unfinished", running.name: "converting", older.name: "unknown source"}
    assert [e.name for e in model_cache.cached_models()][0] == killed.name  # largest first

    assert main(["cache"]) == 0
    table = capsys.readouterr().out
    assert f"converted models in {cache} (5 MB)" in table
    assert "unfinished: a conversion that was stopped half way; it is never used" in table
    assert "1 never used again (3 MB): `workbench cache --prune` removes them" in table

    assert main(["cache", "--prune"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["removed"] == [killed.name] and record["freed_megabytes"] == 3.0
    assert not killed.exists() and running.exists() and older.exists()


def test_remove_by_name_or_all_and_refusals(cache, capsys):
    older = folder(cache / "gguf-old-aaaaaaaaaaaa")
    running = folder(cache / f"gguf-other-ba9876543210.tmp{os.getpid()}")

    assert main(["cache", "--remove", "gguf-nope"]) == 2
    error = json.loads(capsys.readouterr().out.strip())["error"]
    assert error.startswith("no cached model named 'gguf-nope' in ")
    assert f"give a name that `workbench cache` lists ({older.name}, {running.name}), or all" in error

    with pytest.raises(WorkbenchError, match="is being converted by a running process"):
        model_cache.remove(model_cache.find([older.name, running.name], model_cache.cached_models()))
    assert older.exists()  # nothing is removed when one cannot be
    assert main(["cache", "--remove", "all"]) == 0  # all but the conversion in progress
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["removed"] == [older.name]
    assert not older.exists() and running.exists()


def test_the_bundled_conversion_is_named_as_such(cache, capsys):
    folder(cache / "smollm2-135m-instruct")
    (entry,) = model_cache.cached_models()
    assert entry.state == "bundled" and entry.source.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert main(["cache", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert listed == [{"name": "smollm2-135m-instruct", "path": str(entry.path), "bytes": 2**20,
                       "state": "bundled", "source": entry.source}]
