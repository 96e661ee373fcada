"""Which column is the label when the names do not say, and what a column holds."""

import pandas as pd
import pytest

from workbench.data.columns import detect_columns, label_column_doubt, numbers_only
from workbench.data.load import load_raw


def _sst2_dev(datasets_dir, rows=200):
    return pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t", dtype=str, quoting=3).head(rows)


def _reviews(datasets_dir, label_name):
    """review + a 2-valued label named label_name + a 2-valued 'domain' that is not the label."""
    dev = _sst2_dev(datasets_dir)
    return pd.DataFrame({"review": dev["sentence"], label_name: dev["label"],
                         "domain": ["imdb" if i % 2 else "yelp" for i in range(len(dev))]})


@pytest.mark.parametrize("label_name", ["polarity", "gold_label", "review_sentiment", "starsClass"])
def test_a_column_named_like_a_label_wins_over_another_few_valued_column(datasets_dir, tmp_path, label_name):
    # With two 2-valued columns the alphabetically first one won: 'domain' (imdb/yelp) became the label.
    _reviews(datasets_dir, label_name).to_csv(tmp_path / "reviews.csv", index=False)
    frame = load_raw(str(tmp_path / "reviews.csv")).splits["train"].frame
    assert detect_columns(frame) == {"text": "review", "text_pair": None, "label": label_name}
    assert label_column_doubt(frame) is None


def test_a_guess_among_several_label_like_columns_is_said(datasets_dir, tmp_path):
    _reviews(datasets_dir, "score").to_csv(tmp_path / "reviews.csv", index=False)
    frame = load_raw(str(tmp_path / "reviews.csv")).splits["train"].frame
    assert detect_columns(frame)["label"] == "domain"  # still a guess: the warning names it
    assert label_column_doubt(frame) == ("columns 'domain', 'score' could each be the label; using 'domain': "
                                         "set data.label_column (--label-column) to the right one")


@pytest.mark.parametrize("dataset", ["sst2", "ag_news", "mrpc"])
def test_real_datasets_leave_no_doubt_about_their_label(datasets_dir, dataset):
    frame = load_raw(str(datasets_dir / dataset)).splits["train"].frame
    assert detect_columns(frame)["label"] == "label"
    assert label_column_doubt(frame) is None


def test_a_column_of_numbers_is_seen_the_same_in_csv_and_jsonl(datasets_dir, tmp_path):
    # CSV is read as strings, so '1000' passed for a text where JSONL's 1000 was refused.
    dev = _sst2_dev(datasets_dir)
    ids = dev.assign(sentence=[str(1000 + i) for i in range(len(dev))])
    ids.to_csv(tmp_path / "ids.csv", index=False)
    ids.assign(sentence=ids["sentence"].astype(int)).to_json(tmp_path / "ids.jsonl", orient="records", lines=True)
    for name in ("ids.csv", "ids.jsonl"):
        assert numbers_only(load_raw(str(tmp_path / name)).splits["train"].frame["sentence"]), name
    texts = load_raw(str(datasets_dir / "sst2" / "dev.tsv")).splits["train"].frame["sentence"]
    assert not numbers_only(texts)
    assert not numbers_only(pd.Series(["-2.5", "1e3", "10", "ten"]))  # one word is enough to be text
    assert numbers_only(pd.Series(["-2.5", "1e3", " 10 ", "", None]))  # blanks are another check's
    assert not numbers_only(pd.Series([True, False])) and not numbers_only(pd.Series(["", None]))


def test_a_file_without_header_whose_first_label_heads_the_label_column_is_named(datasets_dir, tmp_path):
    # "of saucy ,positive" became the header: 'positive' named the label column, the row was lost.
    from workbench.errors import DataError

    rows = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t", dtype=str, quoting=3).iloc[7:60]
    rows = rows.assign(label=rows["label"].map({"0": "negative", "1": "positive"}))
    rows.to_csv(tmp_path / "noheader.csv", index=False, header=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "noheader.csv"))
    first = rows.iloc[0]
    assert str(err.value) == (
        f"'noheader.csv' seems to have no header row: its first line looks like data ('{first['label']}' is one of "
        "the labels in its column, not a column name); add a first line naming the columns, e.g. text,label")
    # Two files joined with cat repeat the header line as a row: a header all the same.
    with open(tmp_path / "joined.csv", "w") as joined:
        joined.write(rows.head(30).to_csv(index=False) + rows.tail(30).to_csv(index=False))
    assert list(load_raw(str(tmp_path / "joined.csv")).splits["train"].frame.columns) == ["sentence", "label"]
