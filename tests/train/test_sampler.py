"""Length-windowed batches on real SST-2 lengths: every row once, far less padding, seeded."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer

from workbench.catalog import bundled_model_path
from workbench.train.sampler import LengthWindowSampler


@pytest.fixture(scope="module")
def sst2_lengths(datasets_dir) -> list[int]:
    sentences = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t")["sentence"].head(1000).tolist()
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("minilm-l6"))
    return [len(ids) for ids in tokenizer(sentences, truncation=True, max_length=128)["input_ids"]]


def padded_tokens(order: list[int], lengths: list[int], batch_size: int) -> int:
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_every_row_once_and_much_less_padding(sst2_lengths):
    sampler = LengthWindowSampler(sst2_lengths, batch_size=16, seed=42)
    order = list(sampler)
    assert sorted(order) == list(range(len(sst2_lengths)))
    random_order = torch.randperm(len(sst2_lengths), generator=torch.Generator().manual_seed(42)).tolist()
    real = sum(sst2_lengths)
    # Padding = padded minus real tokens: a large share of random batches, a small one here.
    windowed_padding = padded_tokens(order, sst2_lengths, 16) - real
    random_padding = padded_tokens(random_order, sst2_lengths, 16) - real
    assert windowed_padding < 0.3 * random_padding


def test_batches_are_sorted_within_and_mixed_across(sst2_lengths):
    batches = LengthWindowSampler(sst2_lengths, batch_size=16, seed=42).batches()
    for batch in batches:
        lengths = [sst2_lengths[i] for i in batch]
        assert lengths == sorted(lengths, reverse=True)
    # Shuffled across the epoch: the batch maxima do not run long-to-short like one sorted window.
    maxima = [sst2_lengths[b[0]] for b in batches]
    assert maxima != sorted(maxima, reverse=True)


def test_seeded_per_epoch_and_short_batch_last():
    lengths = list(range(1, 101))  # 100 rows, batch 16: one short batch of 4
    sampler = LengthWindowSampler(lengths, batch_size=16, seed=7, window=2)
    first = list(sampler)
    assert first == list(LengthWindowSampler(lengths, batch_size=16, seed=7, window=2))
    sampler.set_epoch(1)
    assert list(sampler) != first
    batches = sampler.batches()
    assert [len(b) for b in batches] == [16] * 6 + [4]
