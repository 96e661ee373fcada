"""Token lengths and unknown tokens before a run: measured with the bundled models' tokenizers on
real datasets, and on Article 1 of the Universal Declaration of Human Rights in languages the
English MiniLM vocabulary does not cover."""

import pandas as pd
import pytest
from transformers import AutoTokenizer

from workbench.catalog import bundled_model_path
from workbench.data.lengths import SAMPLE_ROWS, cut_warning, suggested_max_length, token_lengths, unknown_warning
from workbench.data.load import load_raw
from tests.udhr import ARTICLE_1


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


def test_english_datasets_have_no_unknown_tokens(tokenizer, ag_news, datasets_dir):
    sst2 = load_raw(str(datasets_dir / "sst2")).splits["train"].frame
    mrpc = load_raw(str(datasets_dir / "mrpc")).splits["train"].frame
    for lengths in (token_lengths(tokenizer, ag_news, "content", None, "train"),
                    token_lengths(tokenizer, sst2, "sentence", None, "train"),
                    token_lengths(tokenizer, mrpc, "sentence1", "sentence2", "train")):
        assert (sum(lengths.unknown.values()), lengths.texts_with_unknown) == (0, 0)
        assert unknown_warning(lengths) is None


def test_languages_the_vocabulary_lacks_are_named_with_their_unknown_pieces(tokenizer):
    frame = pd.DataFrame({"text": list(ARTICLE_1.values())}, index=list(ARTICLE_1))
    lengths = token_lengths(tokenizer, frame, "text", None, "train")
    unknown = sum(lengths.unknown.values())
    assert lengths.texts_with_unknown == 3  # Chinese, Japanese, Thai; Russian it spells letter by letter
    # Each unknown piece is the text the tokenizer could not read, cut out of the text itself.
    assert all(piece and any(piece in text for text in ARTICLE_1.values()) for piece in lengths.unknown)
    assert lengths.unknown["自"] >= 1 and not any(piece in ARTICLE_1["Russian"] for piece in lengths.unknown)
    tokens = int(lengths.lengths.sum())
    warning = unknown_warning(lengths)
    assert warning.startswith(
        f"{100 * unknown / tokens:.1f} % of the tokens ({unknown:,} of {tokens:,}, in 3 of 4 texts) are unknown to "
        "this model's tokenizer: the model reads each as the same placeholder token, which carries no meaning; "
        "the commonest: '")
    assert warning.endswith("Pick a model whose vocabulary covers these texts (a multilingual one for another "
                            "language), or write them out in words it knows (emoji as words)")


def test_unknown_pieces_of_the_second_text_of_a_pair_come_from_it(tokenizer, datasets_dir):
    mrpc = load_raw(str(datasets_dir / "mrpc")).splits["validation"].frame.head(20).copy()
    mrpc["sentence2"] = ARTICLE_1["Chinese"]
    lengths = token_lengths(tokenizer, mrpc, "sentence1", "sentence2", "validation")
    assert lengths.texts_with_unknown == 20
    assert set(lengths.unknown) <= set(ARTICLE_1["Chinese"]) and "自" in lengths.unknown


def test_one_unknown_emoji_in_many_texts_is_worth_a_warning(tokenizer, datasets_dir):
    # A thumbs-up after one review in ten: few of the tokens, but perhaps the sentiment itself.
    reviews = load_raw(str(datasets_dir / "sst2")).splits["validation"].frame.head(200).copy()
    reviews.loc[reviews.index[::10], "sentence"] += " 👍"
    lengths = token_lengths(tokenizer, reviews, "sentence", None, "validation")
    assert sum(lengths.unknown.values()) < 0.01 * lengths.lengths.sum()
    assert (lengths.unknown, lengths.texts_with_unknown) == ({"👍": 20}, 20)
    assert "in 20 of 200 texts" in unknown_warning(lengths) and "'👍' (20)" in unknown_warning(lengths)
    reviews.loc[reviews.index[::10], "sentence"] = reviews["sentence"].str.replace(" 👍", "")
    reviews.loc[reviews.index[:5], "sentence"] += " 👍"  # 5 of 200: under the 5 % of texts
    assert unknown_warning(token_lengths(tokenizer, reviews, "sentence", None, "validation")) is None


def test_a_byte_level_tokenizer_reads_every_language():
    # SmolLM2's tokenizer names <|endoftext|> as its unknown token; bytes leave nothing unknown,
    # and a text that spells the special token out is not a word the vocabulary lacks.
    smollm2 = AutoTokenizer.from_pretrained(bundled_model_path("smollm2-135m-instruct"))
    frame = pd.DataFrame({"text": [*ARTICLE_1.values(), "great movie 😍", "the end <|endoftext|>"]})
    lengths = token_lengths(smollm2, frame, "text", None, "train")
    assert (sum(lengths.unknown.values()), unknown_warning(lengths)) == (0, None)
