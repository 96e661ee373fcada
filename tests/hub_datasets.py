"""Datasets laid out as on the Hugging Face Hub, for the `hub:` paths, built from real rows.

`datasets.load_dataset(folder)` reads a local dataset repository through the same builders as a
downloaded one, so the tests exercise the real Hub-loading path without the network.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_parquet_dataset(root: Path, splits: dict[str, pd.DataFrame], label_names: list[str]) -> Path:
    """One parquet file per split, as `push_to_hub` writes them, with the label column a
    ClassLabel (the Hub's class feature; -1 means no label)."""
    import datasets

    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=label_names)})
    (root / "data").mkdir(parents=True)
    for split, frame in splits.items():
        dataset = datasets.Dataset.from_pandas(frame[["sentence", "label"]], features=features,
                                               preserve_index=False)
        dataset.to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return root


def sst2_as_on_the_hub(datasets_dir: Path, root: Path, rows: int = 300) -> Path:
    """SST-2 as GLUE publishes it: train and validation labelled, test with every label hidden (-1)."""
    folder = datasets_dir / "sst2"
    train = pd.read_csv(folder / "train.tsv", sep="\t").head(rows)
    validation = pd.read_csv(folder / "dev.tsv", sep="\t").head(rows // 3)
    test = pd.read_csv(folder / "test.tsv", sep="\t").head(rows // 3).assign(label=-1)
    return write_parquet_dataset(root, {"train": train, "validation": validation, "test": test}, ["0", "1"])
