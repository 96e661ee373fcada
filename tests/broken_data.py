"""Data folders with files that cannot be read, made from the real SST-2 files beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def folder_with_two_unreadable_files(datasets_dir: Path, folder: Path) -> Path:
    """train.csv with two empty texts (lines 5 and 11), a Latin-1 dev.csv and a test.csv whose last
    row (line 32) has a field too many."""
    folder.mkdir()
    train = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t", dtype=str, quoting=3).head(60)
    train.loc[[3, 9], "sentence"] = ""
    train.to_csv(folder / "train.csv", index=False)
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t", dtype=str, quoting=3).head(30)
    (folder / "test.csv").write_text(dev.to_csv(index=False) + "one, two,1\n")
    dev.loc[2, "sentence"] = "un café"
    dev.to_csv(folder / "dev.csv", index=False, encoding="latin-1")
    return folder
