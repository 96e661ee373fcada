"""Token lengths before a run: measured with the bundled model's tokenizer on real datasets."""

import pandas as pd
import pytest
from transformers import AutoTokenizer

from workbench.catalog import bundled_model_path
from workbench.data.lengths import SAMPLE_ROWS, cut_warning, suggested_max_length, token_lengths
from workbench.data.load import load_raw


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(bundled_model_path("minilm-l6"))


@pytest.fixture(scope="module")
def ag_news(datasets_dir):
    return load_raw(str(datasets_dir / "ag_news")).splits["train"].frame


def test_lengths_are_what_the_tokenizer_gives_on_a_seeded_sample(tokenizer, ag_news):
    lengths = token_lengths(tokenizer, ag_news, "content", None, "train")
    assert (len(lengths.lengths), lengths.rows, lengths.sampled) == (SAMPLE_ROWS, 8000, True)
    again = token_lengths(tokenizer, ag_news, "content", None, "train")
    assert (lengths.lengths == again.lengths).all()  # seeded: the same rows every time
    rows = ag_news.sample(SAMPLE_ROWS, random_state=0)
    expected = [len(tokenizer(text)["input_ids"]) for text in rows["content"].head(50)]
    assert lengths.lengths[:50].tolist() == expected


def test_pairs_count_both_texts(tokenizer, datasets_dir):
    frame = load_raw(str(datasets_dir / "mrpc")).splits["validation"].frame
    lengths = token_lengths(tokenizer, frame, "sentence1", "sentence2", "validation")
    first = frame.iloc[0]
    assert lengths.rows == 408 and not lengths.sampled
    assert lengths.lengths[0] == len(tokenizer(first["sentence1"], first["sentence2"])["input_ids"])


def test_a_max_length_that_cuts_news_articles_gets_a_warning_with_one_that_does_not(tokenizer, ag_news):
    lengths = token_lengths(tokenizer, ag_news, "content", None, "train")
    cut = int((lengths.lengths > 64).sum())
    suggestion = suggested_max_length(lengths, 512)
    assert suggestion % 8 == 0 and lengths.share_cut(suggestion) <= 0.01 < lengths.share_cut(suggestion - 8)
    assert cut_warning(lengths, 64, 512) == (
        f"{100 * cut / SAMPLE_ROWS:.1f} % of the texts ({cut:,} of 5,000 sampled) are longer than "
        f"task.max_length (64 tokens) and will be cut there; task.max_length {suggestion} keeps 99 % of "
        "them whole, at some cost in speed")
    assert cut_warning(lengths, suggestion, 512) is None  # under 1 % cut: the run's log still counts them


def test_texts_longer_than_the_model_reads(tokenizer, ag_news):
    # Fifteen news articles run together: about 600 tokens, past the 512 positions MiniLM has.
    long_texts = pd.DataFrame({"text": [" ".join(ag_news["content"].iloc[i:i + 15]) for i in range(0, 600, 15)]})
    lengths = token_lengths(tokenizer, long_texts, "text", None, "train")
    assert lengths.share_cut(512) > 0.01
    assert cut_warning(lengths, 512, 512).endswith(
        "will be cut there; this model reads at most 512 tokens: shorten the texts or pick a model that reads more")
    assert "task.max_length 512, the most this model reads, cuts fewer" in cut_warning(lengths, 256, 512)
