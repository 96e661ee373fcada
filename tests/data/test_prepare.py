"""expected_train_rows: the training rows of a run, known before the run exists."""

from __future__ import annotations

import pytest

from workbench.config import DataConfig
from workbench.data.prepare import expected_train_rows, prepare_data
from workbench.data.validate import check_data
from workbench.ui.workspace import DEMO_DATA


@pytest.mark.parametrize("path, settings", [
    ("demo", {}),                                        # one file: validation carved from it
    ("demo", {"validation_fraction": 0.25}),             # 180 * 0.25 = 45 held out
    ("demo", {"validation_fraction": 0.33}),             # 59.4: the held-out share rounds up
    ("sst2", {"max_train_samples": 4000}),               # its own dev split; the sample caps train
    ("ag_news", {"max_train_samples": 100000}),          # a cap above the rows changes nothing
])
def test_it_matches_what_prepare_data_keeps(path, settings, datasets_dir):
    cfg = DataConfig(path=str(DEMO_DATA if path == "demo" else datasets_dir / path), **settings)
    report = check_data(cfg)
    assert expected_train_rows(cfg, report.split_rows) == len(prepare_data(cfg, seed=5).splits["train"])


def ag_news_frame(datasets_dir, rows: int):
    from workbench.data.load import load_raw
    frame = load_raw(str(datasets_dir / "ag_news")).splits["train"].frame
    frame = frame.iloc[::len(frame) // rows].head(rows)  # the file is in label order: every k-th row has all four
    return frame.rename(columns={"content": "text"})[["text", "label"]].reset_index(drop=True)


def test_without_repeated_texts_the_carve_is_the_plain_stratified_split(datasets_dir):
    from sklearn.model_selection import train_test_split

    from workbench.data.prepare import carve_validation
    train = ag_news_frame(datasets_dir, 2000)
    keep, held_out = carve_validation(train, 0.1, seed=5)
    plain_keep, plain_held_out = train_test_split(train, test_size=0.1, random_state=5, stratify=train["label"])
    assert list(held_out.index) == sorted(plain_held_out.index) and list(keep.index) == sorted(plain_keep.index)


def test_repeated_texts_stay_on_one_side_of_the_carve(datasets_dir, tmp_path):
    import pandas as pd
    train = ag_news_frame(datasets_dir, 600)
    repeats = train.iloc[::10].copy()  # 60 articles twice more, one copy with other spacing
    spaced = repeats.assign(text=repeats["text"].str.replace(" ", "   "))
    pd.concat([train, repeats, spaced]).to_csv(tmp_path / "train.csv", index=False)
    cfg = DataConfig(path=str(tmp_path / "train.csv"))
    splits = prepare_data(cfg, seed=5).splits
    def keys(split):
        return {" ".join(t.split()) for t in splits[split]["text"]}
    assert not keys("train") & keys("validation")
    assert len(splits["train"]) + len(splits["validation"]) == 720
    assert 0.07 < len(splits["validation"]) / 720 < 0.13
    assert set(splits["validation"]["label"]) == set(splits["train"]["label"]) == {0, 1, 2, 3}
    # Before the run exists the count is known to within the repeats that went to validation.
    assert abs(expected_train_rows(cfg, check_data(cfg).split_rows) - len(splits["train"])) <= 2 * 60


def test_the_fingerprint_changes_with_the_rows_a_run_trains_on_and_nothing_else(datasets_dir, tmp_path):
    import pandas as pd
    frame = ag_news_frame(datasets_dir, 200)
    frame.to_csv(tmp_path / "train.csv", index=False)
    cfg = DataConfig(path=str(tmp_path / "train.csv"), max_train_samples=120)
    first = prepare_data(cfg, seed=5).fingerprint()
    assert prepare_data(cfg, seed=5).fingerprint() == first  # the same file reads the same
    frame.to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    assert prepare_data(DataConfig(path=str(tmp_path / "train.jsonl"), max_train_samples=120),
                        seed=5).fingerprint() == first  # the same rows in another format
    assert prepare_data(cfg, seed=6).fingerprint() != first  # another sample
    relabelled = frame.copy()
    classes = sorted(frame["label"].unique())
    relabelled.loc[:4, "label"] = [classes[(classes.index(c) + 1) % len(classes)] for c in frame["label"][:5]]
    relabelled.to_csv(tmp_path / "train.csv", index=False)
    assert prepare_data(cfg, seed=5).fingerprint() != first  # a label edited by hand
    pd.concat([frame, frame.head(1)]).to_csv(tmp_path / "train.csv", index=False)
    assert prepare_data(cfg, seed=5).fingerprint() != first  # a row appended: another sample


def test_a_training_sample_that_misses_a_class_says_so(datasets_dir, tmp_path, capsys):
    from tests.test_cli import run_cli

    import pandas as pd

    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv")
    rare = pd.concat([news[news["label"] < 4].groupby("label").head(300), news[news["label"] == 4].head(6)])
    rare.to_csv(tmp_path / "rare.csv", index=False)
    sampled = prepare_data(DataConfig(path=str(tmp_path / "rare.csv"), max_train_samples=20), seed=42)
    assert 3 not in sampled.splits["train"]["label"]  # label 4 (Sci/Tech): 6 of 906 rows
    assert str(sampled.report.problems[-1]) == (
        "WARNING: [train] the 20-row training sample (data.max_train_samples) holds no row of class '4', "
        "so the model cannot learn it; raise data.max_train_samples, or change data.seed")
    whole = prepare_data(DataConfig(path=str(tmp_path / "rare.csv"), max_train_samples=800), seed=42)
    assert "holds no row" not in " ".join(map(str, whole.report.problems))
    # The pre-flight (`workbench check`, train before the run, the app's Start) draws the same
    # sample from the labels alone, so it warns of the same class before the run exists.
    from workbench.data.load import load_raw
    from workbench.data.prepare import sample_problems
    from workbench.data.validate import check_data

    for samples, seed in ((20, 42), (800, 42), (20, 7)):
        cfg = DataConfig(path=str(tmp_path / "rare.csv"), max_train_samples=samples)
        raw = load_raw(cfg.path)
        before = list(map(str, sample_problems(cfg, raw, check_data(cfg, raw), seed)))
        trained = [str(p) for p in prepare_data(cfg, seed=seed).report.problems if "holds no row" in str(p)]
        assert before == trained
    code, record, _ = run_cli(capsys, "check", "--data", str(tmp_path / "rare.csv"), "--max-train-samples", "20",
                              "--seed", "42")
    assert code == 0 and str(sampled.report.problems[-1]) in record["problems"]


def topics_file(datasets_dir, path, classes: int, rows_per_class: int, rare: int = 0) -> str:
    """SST-2 sentences under `classes` made-up topics (intent data), `rows_per_class` each, and
    `rare` rows of one more topic."""
    import pandas as pd
    sentences = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t")["sentence"]
    sentences = sentences.drop_duplicates().head(classes * rows_per_class + rare).tolist()
    labels = [f"topic{i % classes:02d}" for i in range(classes * rows_per_class)] + ["rare"] * rare
    pd.DataFrame({"text": sentences, "label": labels}).to_csv(path, index=False)
    return str(path)


def test_fewer_carved_rows_than_classes_hold_out_one_text_of_each_class(datasets_dir, tmp_path):
    # 30 intents x 5 rows passed the check, then the run failed in train_test_split: "The test_size
    # = 15 should be greater or equal to the number of classes = 30".
    cfg = DataConfig(path=topics_file(datasets_dir, tmp_path / "intents.csv", 30, 5))
    report = check_data(cfg)
    assert [str(p) for p in report.problems] == [
        "WARNING: [validation] data.validation_fraction (0.1) of train's 150 rows is 15, fewer than its 30 classes, "
        "so the validation split carved from train takes at least one text of each class instead; to choose the "
        "validation rows yourself, give a validation file (dev.csv beside train.csv, in one folder)"]
    for seed in (0, 42):
        splits = prepare_data(cfg, seed=seed).splits
        assert len(splits["validation"]) == 30 and len(splits["train"]) == 120
        assert set(splits["validation"]["label"]) == set(splits["train"]["label"]) == set(range(30))
    # The run's length is warned of from the rows it will train on: 120, not 135.
    assert expected_train_rows(cfg, report.split_rows, len(report.label_names)) == 120


def test_a_rare_class_gets_a_validation_row_and_keeps_training_rows(datasets_dir, tmp_path):
    # Stratified at 10 %, 2 rows of 902 are 0.2 of a row: both went to train, and validation
    # could not score the rare class.
    cfg = DataConfig(path=topics_file(datasets_dir, tmp_path / "rare.csv", 3, 300, rare=2))
    assert [p.split for p in check_data(cfg).problems] == ["train"]  # imbalance; nothing about validation
    for seed in (0, 5, 42):
        splits = prepare_data(cfg, seed=seed).splits
        rare = 0  # label ids follow the sorted values: rare, topic00, ...
        assert splits["validation"]["label"].count(rare) == 1 and splits["train"]["label"].count(rare) == 1
        assert len(splits["validation"]) == 92  # the 10 % stratified carve (91 rows) and the rare row


def test_data_no_validation_can_be_carved_from_is_refused_before_the_run(datasets_dir, tmp_path):
    import pandas as pd
    from workbench.errors import DataError

    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv")
    once = news.groupby("label").head(1)
    pd.concat([once, once]).to_csv(tmp_path / "twice.csv", index=False)  # 2 rows a class, one text each
    cfg = DataConfig(path=str(tmp_path / "twice.csv"))
    assert [str(p) for p in check_data(cfg).errors] == [
        "ERROR: [train] there is no validation split, and none can be carved from train: each class has a single "
        "distinct text, which the model needs to learn it; add rows to the classes, or a validation file (dev.csv "
        "beside train.csv, in one folder)"]
    with pytest.raises(DataError):
        prepare_data(cfg, seed=0)
    # One such class among others: the carve keeps its text in train, and the check says validation lacks it.
    more = news[news["label"] > 1].groupby("label").head(15)
    pd.concat([once, once, more]).to_csv(tmp_path / "twice.csv", index=False)
    assert [str(p) for p in check_data(cfg).problems] == [
        "WARNING: [validation] class '1' has a single distinct text, which stays in train, so the validation "
        "split carved from train has no row of it and cannot score it; add rows of it, or a validation file "
        "(dev.csv beside train.csv, in one folder)"]
    for seed in (0, 42):
        splits = prepare_data(cfg, seed=seed).splits
        assert splits["train"]["label"].count(0) == 2 and 0 not in splits["validation"]["label"]
        assert set(splits["validation"]["label"]) == {1, 2, 3}


def test_the_check_samples_small_data_as_the_run_will(datasets_dir, tmp_path, capsys):
    # `check --max-train-samples 10` on 4 AG News classes x 5 rows: the pre-flight draws the run's
    # sample after the carve, which raised "ValueError: The test_size = 2 should be greater or equal to
    # the number of classes = 4" (unexpected) in `workbench check` and in the app's data panel.
    import pandas as pd
    from tests.test_cli import run_cli
    from workbench.ui.data_panel import inspect_data

    pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").groupby("label").head(5).to_csv(
        tmp_path / "ag20.csv", index=False)
    code, record, err = run_cli(capsys, "check", "--data", str(tmp_path / "ag20.csv"), "--max-train-samples", "10")
    assert code == 0 and "unexpected" not in err
    assert "fewer than its 4 classes, so the validation split carved from train" in record["problems"][0]
    view = inspect_data(DataConfig(path=str(tmp_path / "ag20.csv"), max_train_samples=10), seed=42)
    assert view.ok and "fewer than its 4 classes" in view.message()
