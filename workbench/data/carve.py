"""Which rows of train a run holds out as its validation split when the data has none.

The pre-flight check (validate.py) and the carve itself (prepare.py) both decide with the
functions here, so the check cannot pass data that the carve then cannot split.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def distinct_labels(keys: pd.Series, labels: pd.Series) -> pd.Series:
    """The label of each distinct text (validate.text_keys), that of its first row: the carve
    splits distinct texts, so that repeated texts stay on one side."""
    return labels[~keys.duplicated().to_numpy()]


def single_text_classes(labels: pd.Series) -> list:
    """The classes with one distinct text: the carve keeps it in train, where the model can learn
    the class, so validation holds none of them. `labels`: distinct_labels."""
    counts = labels.value_counts()
    return sorted(counts[counts < 2].index)


def validation_rows(rows: int, classes: int, fraction: float) -> int:
    """How many of `rows` distinct texts the carve holds out when each of the `classes` has two or
    more: `fraction` of them, rounded up as train_test_split rounds (the split every benchmark so
    far ran on), but at least one of each class (small or many-class data) and at most all but one
    of each, since train_test_split stratifies only when both sides can hold every class."""
    return min(max(math.ceil(fraction * rows), classes), rows - classes)


def held_out(labels: pd.Series, fraction: float, seed: int) -> np.ndarray:
    """Which of the distinct texts (their labels, from distinct_labels) go to validation: `fraction`
    of them, stratified by label, then every class with two texts or more on both sides. A class
    with one text stays in train. No text is held out when every class has one."""
    from sklearn.model_selection import train_test_split  # sklearn loads only when a run carves

    counts = labels.value_counts()
    rows, classes = len(labels), len(counts)
    positions = np.arange(rows)
    if counts.min() >= 2:
        _, test = train_test_split(positions, test_size=validation_rows(rows, classes, fraction),
                                   random_state=seed, stratify=labels)
    elif math.ceil(fraction * rows) < rows:
        # A class of one text cannot be stratified: split at random, the repair below places it.
        _, test = train_test_split(positions, test_size=fraction, random_state=seed)
    else:
        test = positions[:0]
    validation = np.isin(positions, test)
    # Rounding leaves a small class wholly on one side (2 texts of 1,000 at 10 %): with none in
    # validation its scores go unmeasured, with none in train the model never learns it.
    values = labels.to_numpy()
    held = pd.Series(validation).groupby(values).agg(["sum", "size"])
    rng = np.random.default_rng(seed)
    for label, (in_validation, size) in held.iterrows():
        if size == 1:
            validation[values == label] = False
        elif in_validation in (0, size):
            validation[rng.choice(np.flatnonzero(values == label))] = in_validation == 0
    return validation
