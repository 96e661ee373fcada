"""Where the app keeps things: <workspace>/runs, uploads and saved configs."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.data.load import data_suffix

DEMO_DATA = Path(__file__).resolve().parents[1] / "data" / "demo" / "support_tickets.csv"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def configs_dir(self) -> Path:
        return self.root / "configs"

    def create(self) -> "Workspace":
        for folder in (self.runs_dir, self.uploads_dir, self.configs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def keep_upload(self, temp_path: str | Path) -> Path:
        """Copy a browser upload (a temp file gradio may delete) into uploads/, keeping its name."""
        source = Path(temp_path)
        target = self.uploads_dir / safe_name(source.name)
        if target.exists() and target.read_bytes() != source.read_bytes():
            # The stamp goes before the whole data suffix: train.csv.gz -> train-<stamp>.csv.gz
            suffix = data_suffix(target)
            stem = target.name[: len(target.name) - len(suffix)]
            target = target.with_name(f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}")
        shutil.copyfile(source, target)
        return target

    def saved_configs(self) -> list[str]:
        if not self.configs_dir.is_dir():
            return []
        return sorted(p.name for p in self.configs_dir.glob("*.yaml"))


def safe_name(name: str) -> str:
    """A file name without path parts or odd characters (it comes from the browser)."""
    name = Path(name).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "upload"
