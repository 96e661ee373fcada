"""The model cache: GGUF files converted once into safetensors folders (catalog._converted_gguf),
listed and removed on request, as `huggingface-cli scan-cache` and `delete-cache` do for the Hub's.

Conversions are large (about 4 bytes a weight: 513 MB for SmolLM2-135M, some 28 GB for a 7B model),
and a GGUF file that is edited or replaced converts anew into another folder, so old ones pile up
unless someone removes them. Removing one is always safe: the next run that needs it converts the
file again, and a LoRA run trained on it finds its base by the GGUF's path (classify._base_path).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil

from workbench.catalog import BUNDLED, CONVERSION_SOURCE, SMOLLM2_GGUF, _package_dir, cache_dir
from workbench.errors import WorkbenchError
from workbench.runs.store import folder_bytes

# What each state means for the person deciding what to remove, and whether --prune removes it.
STATES = {
    "current": "runs of its GGUF file use it",
    "bundled": "the bundled smollm2-135m-instruct",
    "source changed": "its GGUF file was edited or replaced since; it is never used again",
    "source gone": "its GGUF file was deleted or moved; it is never used again",
    "unfinished": "a conversion that was stopped half way; it is never used",
    "converting": "a conversion in progress",
    "unknown source": "converted before the workbench recorded sources; still used if its file is unchanged",
}
STALE = ("source changed", "source gone", "unfinished")


@dataclass(frozen=True)
class CachedModel:
    name: str  # the folder's name under models/
    path: Path
    size: int  # bytes
    state: str  # a key of STATES
    source: str | None  # the GGUF file it was converted from, when known

    @property
    def stale(self) -> bool:
        return self.state in STALE

    def record(self) -> dict:
        return {"name": self.name, "path": str(self.path), "bytes": self.size, "state": self.state,
                "source": self.source}


def models_dir() -> Path:
    return cache_dir() / "models"


def cached_models() -> list[CachedModel]:
    """Every folder in the cache, largest first, each with its size and whether it is still used."""
    folder = models_dir()
    entries = [_entry(path) for path in folder.iterdir() if path.is_dir()] if folder.is_dir() else []
    return sorted(entries, key=lambda e: (-e.size, e.name))


def _entry(path: Path) -> CachedModel:
    state, source = _state(path)
    return CachedModel(path.name, path, folder_bytes(path), state, source)


def _state(path: Path) -> tuple[str, str | None]:
    # catalog._converted_gguf writes into <target>.tmp<pid> and renames it when it is complete.
    unfinished = re.fullmatch(r".+\.tmp(\d+)", path.name)
    if unfinished:
        return ("converting" if _writing(int(unfinished.group(1)), path) else "unfinished"), None
    if path.name == "smollm2-135m-instruct":
        try:
            return "bundled", str(_package_dir(BUNDLED[path.name].package) / SMOLLM2_GGUF)
        except WorkbenchError:  # the package was uninstalled: nothing resolves to this folder
            return "source gone", None
    try:
        recorded = json.loads((path / CONVERSION_SOURCE).read_text())
        gguf = Path(recorded["gguf"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown source", None
    # A Hub file or an Ollama model is shown by the name the user gave: its path is a hash.
    shown = recorded.get("name") or str(gguf)
    if not gguf.is_file():
        return "source gone", shown
    stat = gguf.stat()
    changed = (stat.st_size, stat.st_mtime_ns) != (recorded.get("size"), recorded.get("mtime_ns"))
    return ("source changed" if changed else "current"), shown


def _writing(pid: int, folder: Path) -> bool:
    """Whether process `pid` is alive and is the one writing `folder`: a process that started after
    the folder last changed has only been given the pid of the writer, which has died."""
    try:
        return psutil.Process(pid).create_time() <= folder.stat().st_mtime + 1
    except (psutil.Error, OSError):
        return False


def remove(entries: list[CachedModel]) -> None:
    """Delete these folders of the cache; nothing is deleted when one is still being written."""
    for entry in entries:
        if entry.state == "converting":
            raise WorkbenchError(f"'{entry.name}' is being converted by a running process; wait for it to "
                                 "finish, or stop that process first")
    for entry in entries:
        shutil.rmtree(entry.path)


def remove_abandoned(target: Path) -> None:
    """Delete what conversions into `target` that were killed half way left behind (GBs that
    nothing reads): called before converting into it again."""
    for path in target.parent.glob(f"{target.name}.tmp*"):
        if path.is_dir() and _state(path)[0] == "unfinished":
            shutil.rmtree(path, ignore_errors=True)


def find(names: list[str], entries: list[CachedModel]) -> list[CachedModel]:
    """The entries named (folder names as `workbench cache` lists them, or "all")."""
    if names == ["all"]:
        return [e for e in entries if e.state != "converting"]
    by_name = {e.name: e for e in entries}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        listed = ", ".join(by_name) or "none: the cache is empty"
        raise WorkbenchError(f"no cached model named {', '.join(repr(n) for n in unknown)} in {models_dir()}; "
                             f"give a name that `workbench cache` lists ({listed}), or all")
    return [by_name[n] for n in names]
