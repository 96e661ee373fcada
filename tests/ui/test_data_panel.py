"""The Train tab's data section on real datasets: the preview keeps every column in view."""

from __future__ import annotations

from workbench.config import DataConfig
from workbench.ui.data_panel import inspect_data


def test_preview_of_sentence_pairs_shares_the_width_between_both_texts(datasets_dir):
    view = inspect_data(DataConfig(path=str(datasets_dir / "mrpc")))
    assert view.error is None and view.ok
    lengths = view.preview[["sentence1", "sentence2"]].map(len)
    assert lengths.max().max() <= 80  # two long columns: 160 characters a row between them
    assert set(view.preview["label"]) <= {0, 1}  # short columns are left alone
    assert any(text.endswith("...") for text in view.preview["sentence1"])


def test_preview_of_single_texts_keeps_160_characters(tmp_path):
    long = "a long support ticket that goes on " * 10
    data = tmp_path / "tickets.csv"
    data.write_text("text,label\n" + "\n".join(f"{long}{i},{'ab'[i % 2]}" for i in range(10)) + "\n")
    view = inspect_data(DataConfig(path=str(data)))
    assert view.preview["text"].map(len).max() == 160
    assert view.preview["label"].tolist()[:2] == ["a", "b"]


def test_preview_widths_keep_every_column_in_view(datasets_dir):
    from workbench.ui.data_panel import preview_widths

    view = inspect_data(DataConfig(path=str(datasets_dir / "mrpc")))
    widths = dict(zip(view.preview.columns, preview_widths(view.preview)))
    # idx, label, id1, id2 are short; the two sentences share the rest.
    assert widths == {"idx": "10%", "sentence1": "30%", "sentence2": "30%", "label": "10%", "id1": "10%",
                      "id2": "10%"}


def test_preview_shows_lists_as_lists(datasets_dir, tmp_path):
    # CoNLL token lists (JSON lists; Parquet numpy arrays) read as JSON in the preview, shortened
    # like long texts so the tag columns stay in view; a list label shows its brackets, so the
    # check's "holds lists" has something to point at.
    import pandas as pd

    conll = pd.read_json(datasets_dir / "conll2003" / "validation.jsonl", lines=True).head(20)
    path = tmp_path / "conll.parquet"
    conll.to_parquet(path)
    view = inspect_data(DataConfig(path=str(path)))
    first = view.preview["tokens"][0]
    assert first.startswith('["CRICKET", "-", "LEICESTERSHIRE"') and view.preview["ner_tags"][1] == "[5, 0]"
    assert view.preview["tokens"].map(len).max() <= 160
    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").head(2)
    news["label"] = [[3], [2, 1]]
    labels = tmp_path / "topics.jsonl"
    news.to_json(labels, orient="records", lines=True)
    assert inspect_data(DataConfig(path=str(labels))).preview["label"].tolist() == ["[3]", "[2, 1]"]


def test_the_panel_warns_of_a_training_sample_that_misses_a_class():
    from workbench.ui.workspace import DEMO_DATA

    # The demo's support tickets: 3 teams. Two rows cannot hold all three; the run's seed draws them.
    two = DataConfig(path=str(DEMO_DATA), max_train_samples=2)
    message = inspect_data(two, seed=42).message()
    assert "Pre-flight check passed with warnings" in message and "holds no row of class" in message
    assert "holds no row" not in inspect_data(DataConfig(path=str(DEMO_DATA), max_train_samples=150), seed=42).message()
    assert "holds no row" not in inspect_data(two).message()  # without the seed it cannot tell


def test_the_panel_names_unreadable_files_beside_the_problems_of_the_others(datasets_dir, tmp_path):
    # A Latin-1 dev.csv was the whole message ("The data cannot be read"), hiding train's empty texts.
    from tests.broken_data import folder_with_two_unreadable_files

    view = inspect_data(DataConfig(path=str(folder_with_two_unreadable_files(datasets_dir, tmp_path / "data"))))
    assert view.error is None and not view.ok and view.columns == ["sentence", "label"]
    assert [p.split for p in view.report.problems] == ["validation", "test", "train"]
    assert "'dev.csv' is not UTF-8 text (line 4" in view.message() and "(line 5, line 11)" in view.message()


def test_the_panel_names_the_columns_and_labels_also_beside_warnings():
    from workbench.ui.workspace import DEMO_DATA

    # Warnings replaced the labels in the message, and no message said which columns were read.
    message = inspect_data(DataConfig(path=str(DEMO_DATA), max_train_samples=2), seed=42).message()
    assert message.splitlines()[0] == (
        "⚠ **Pre-flight check passed with warnings**: train 180 rows; columns: text 'text', label 'label'; "
        "3 labels: billing, delivery, technical")
