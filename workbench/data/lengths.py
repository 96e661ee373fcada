"""How long a dataset's texts are in a model's tokens, before any run: how many `task.max_length`
would cut, and which max_length would keep them whole.

A run says after tokenizing how many texts it cut (tasks/classify.truncation_warning), but by then
the settings are fixed. Measured here on a seeded sample of each split (a fast tokenizer does
5,000 texts in well under a second), it is something to decide on in the pre-flight check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SAMPLE_ROWS = 5000
# The max_length to suggest keeps this share of the texts whole: the last percent are often a few
# very long outliers that would double every batch's padding.
KEEP_WHOLE = 0.99
# Fewer texts cut than this share is not worth a warning before the run (the run's log still
# counts every one).
WARN_SHARE = 0.01


@dataclass
class TokenLengths:
    """Tokens per text (special tokens included, as the model reads them) of a sample of one split."""

    split: str
    lengths: np.ndarray
    rows: int  # rows in the split; the sample holds min(rows, SAMPLE_ROWS)

    @property
    def sampled(self) -> bool:
        return len(self.lengths) < self.rows

    def share_cut(self, max_length: int) -> float:
        return float((self.lengths > max_length).mean()) if len(self.lengths) else 0.0

    def keeps_whole(self, share: float = KEEP_WHOLE) -> int:
        """The fewest tokens that hold `share` of the texts whole."""
        return int(math.ceil(np.quantile(self.lengths, share))) if len(self.lengths) else 0


def token_lengths(tokenizer, frame: pd.DataFrame, text_column: str, pair_column: str | None,
                  split: str, sample: int = SAMPLE_ROWS, seed: int = 0) -> TokenLengths:
    """Token counts of up to `sample` rows of `frame`, without truncation."""
    rows = frame if len(frame) <= sample else frame.sample(sample, random_state=seed)
    texts = rows[text_column].astype(str).tolist()
    pairs = rows[pair_column].astype(str).tolist() if pair_column else None
    # verbose=False: the tokenizer would otherwise warn that texts exceed the model's length,
    # which is what we are measuring.
    encoded = tokenizer(texts, pairs, truncation=False, verbose=False)
    return TokenLengths(split, np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64), len(frame))


def suggested_max_length(lengths: TokenLengths, model_limit: int | None) -> int:
    """The max_length that keeps 99 % of the texts whole, rounded up to a multiple of 8 (tensor
    cores like it), at most what the model reads."""
    suggestion = int(math.ceil(lengths.keeps_whole() / 8) * 8)
    return min(suggestion, model_limit) if model_limit else suggestion


def cut_warning(lengths: TokenLengths, max_length: int, model_limit: int | None = None) -> str | None:
    """A warning when task.max_length would cut at least 1 % of the split's texts (enough to move
    its metrics), with the max_length that would not; None otherwise."""
    share = lengths.share_cut(max_length)
    if share < WARN_SHARE:
        return None
    cut = int((lengths.lengths > max_length).sum())
    counted = f"{cut:,} of {len(lengths.lengths):,} sampled" if lengths.sampled else f"{cut:,} of {lengths.rows:,}"
    text = (f"{100 * share:.1f} % of the texts ({counted}) are longer than task.max_length "
            f"({max_length} tokens) and will be cut there")
    suggestion = suggested_max_length(lengths, model_limit)
    if suggestion <= max_length:  # max_length is already all the model reads
        return text + f"; this model reads at most {model_limit} tokens: shorten the texts or pick a model that reads more"
    if suggestion < lengths.keeps_whole():
        return text + f"; task.max_length {suggestion}, the most this model reads, cuts fewer, at some cost in speed"
    return text + f"; task.max_length {suggestion} keeps 99 % of them whole, at some cost in speed"
