"""What a model's tokenizer makes of a dataset's texts, before any run: how long they are in tokens
(how many `task.max_length` would cut, and which max_length would keep them whole), and how much of
them it cannot read at all.

A run says after tokenizing how many texts it cut (tasks/classify.truncation_warning), but by then
the settings are fixed. Measured here on a seeded sample of each split (a fast tokenizer does
5,000 texts in well under a second), it is something to decide on in the pre-flight check.

Unknown tokens are the silent failure of a vocabulary that does not fit the data: the bundled
English MiniLM turns most of a Chinese or Thai text, and every emoji, into [UNK], which carries no
meaning, so a run trains and "finishes" on what is left. English datasets (SST-2, AG News, MRPC,
CoNLL-2003) have none; byte-level tokenizers (GPT-2, Llama, SmolLM2) never produce one.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SAMPLE_ROWS = 5000
# The max_length to suggest keeps this share of the texts whole: the last percent are often a few
# very long outliers that would double every batch's padding.
KEEP_WHOLE = 0.99
# Fewer texts cut than this share is not worth a warning before the run (the run's log still
# counts every one).
WARN_SHARE = 0.01
# Unknown tokens worth a warning: this share of all tokens, or of the texts holding at least one
# (one emoji [UNK] in each of many tweets is a small share of the tokens but may be the sentiment).
UNKNOWN_TOKEN_SHARE = 0.01
UNKNOWN_TEXT_SHARE = 0.05


@dataclass
class TokenLengths:
    """Tokens per text (special tokens included, as the model reads them) of a sample of one split."""

    split: str
    lengths: np.ndarray
    rows: int  # rows in the split; the sample holds min(rows, SAMPLE_ROWS)
    # What the tokenizer read as its unknown token, by the piece of text it stood for ("😍": 12);
    # pieces are known only from fast tokenizers, a slow one counts them under "".
    unknown: Counter = field(default_factory=Counter)
    texts_with_unknown: int = 0

    @property
    def sampled(self) -> bool:
        return len(self.lengths) < self.rows

    def share_cut(self, max_length: int) -> float:
        return float((self.lengths > max_length).mean()) if len(self.lengths) else 0.0

    def cut_count(self, max_length: int) -> str:
        """How many texts max_length cuts, as a warning says it: "12 of 5,000 sampled"."""
        cut = int((self.lengths > max_length).sum())
        return f"{cut:,} of {len(self.lengths):,} sampled" if self.sampled else f"{cut:,} of {self.rows:,}"

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
    encoded = tokenizer(texts, pairs, truncation=False, verbose=False,
                        return_offsets_mapping=bool(getattr(tokenizer, "is_fast", False)))
    lengths = TokenLengths(split, np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64), len(frame))
    _count_unknown(tokenizer, encoded, texts, pairs, lengths)
    return lengths


def _count_unknown(tokenizer, encoded, texts: list[str], pairs: list[str] | None, lengths: TokenLengths) -> None:
    unknown_id = tokenizer.unk_token_id
    if unknown_id is None:
        return
    offsets = encoded.get("offset_mapping")
    for row, ids in enumerate(encoded["input_ids"]):
        if unknown_id not in ids:  # the common case, checked in C
            continue
        pieces = []
        for position, token in enumerate(ids):
            if token != unknown_id:
                continue
            if offsets is None:
                pieces.append("")
                continue
            source = pairs if pairs is not None and encoded.sequence_ids(row)[position] == 1 else texts
            start, end = offsets[row][position]
            piece = source[row][start:end]
            # GPT-2-style tokenizers name a special token as their unknown one (<|endoftext|>): a
            # text that spells it out is not a word the vocabulary lacks.
            if piece != tokenizer.unk_token:
                pieces.append(piece)
        lengths.unknown.update(pieces)
        lengths.texts_with_unknown += bool(pieces)


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
    text = (f"{100 * share:.1f} % of the texts ({lengths.cut_count(max_length)}) are longer than task.max_length "
            f"({max_length} tokens) and will be cut there")
    suggestion = suggested_max_length(lengths, model_limit)
    if suggestion <= max_length:  # max_length is already all the model reads
        return text + f"; this model reads at most {model_limit} tokens: shorten the texts or pick a model that reads more"
    if suggestion < lengths.keeps_whole():
        return text + f"; task.max_length {suggestion}, the most this model reads, cuts fewer, at some cost in speed"
    return text + f"; task.max_length {suggestion} keeps 99 % of them whole, at some cost in speed"


def unknown_warning(lengths: TokenLengths, examples: int = 5) -> str | None:
    """A warning when the tokenizer reads at least 1 % of the tokens, or something in at least 5 %
    of the texts, as its unknown token, with the commonest pieces; None otherwise."""
    unknown = sum(lengths.unknown.values())
    tokens = int(lengths.lengths.sum())
    texts = len(lengths.lengths)
    if not unknown or (unknown < UNKNOWN_TOKEN_SHARE * tokens and lengths.texts_with_unknown < UNKNOWN_TEXT_SHARE * texts):
        return None
    sampled = " sampled" if lengths.sampled else ""
    commonest = ", ".join(f"'{piece}' ({count:,})" for piece, count in lengths.unknown.most_common(examples) if piece)
    return (f"{100 * unknown / tokens:.1f} % of the tokens ({unknown:,} of {tokens:,}, in {lengths.texts_with_unknown:,} "
            f"of {texts:,}{sampled} texts) are unknown to this model's tokenizer: the model reads each as the "
            f"same placeholder token, which carries no meaning" + (f"; the commonest: {commonest}" if commonest else "")
            + ". Pick a model whose vocabulary covers these texts (a multilingual one for another "
            "language), or write them out in words it knows (emoji as words)")
