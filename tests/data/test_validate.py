"""The pre-flight check reports every problem at once, with rows and the fix."""

import pytest

from workbench.config import DataConfig
from workbench.data.columns import ColumnMapping, detect_columns
from workbench.data.prepare import prepare_data
from workbench.data.validate import check_data
from workbench.errors import DataError


def test_sst2_passes_and_columns_are_detected(datasets_dir):
    report = check_data(DataConfig(path=str(datasets_dir / "sst2")))
    assert report.ok, report.summary()
    assert (report.columns.text, report.columns.label, report.columns.text_pair) == ("sentence", "label", None)
    assert report.label_names == ["0", "1"]
    assert report.label_counts["validation"] == {"1": 444, "0": 428}


def test_mrpc_pairs_are_detected(datasets_dir):
    report = check_data(DataConfig(path=str(datasets_dir / "mrpc")))
    assert report.ok
    assert (report.columns.text, report.columns.text_pair) == ("sentence1", "sentence2")


def test_ag_news_gets_class_names_from_classes_txt(datasets_dir):
    report = check_data(DataConfig(path=str(datasets_dir / "ag_news")))
    assert report.ok, report.summary()
    assert report.columns.text == "content"
    assert report.label_names == ["World", "Sports", "Business", "Sci/Tech"]
    assert report.label_counts["train"]["Sports"] == 2000


def test_detection_falls_back_on_the_data():
    import pandas as pd
    frame = pd.DataFrame({"id": range(10), "body": ["a long sentence here"] * 10, "y_true": ["a", "b"] * 5})
    assert detect_columns(frame) == {"text": "body", "text_pair": None, "label": "y_true"}


def test_a_mostly_blank_column_named_text_is_not_taken_for_the_text(datasets_dir, tmp_path):
    # A help-desk export: its "text" field is unused (blank but for a few notes), the message is in
    # "body". Taking "text" by its name gave "empty text in column 'text'" for 190 of 200 rows.
    import pandas as pd
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(200)
    export = pd.DataFrame({"id": range(200), "text": [""] * 190 + ["see attachment"] * 10,
                           "body": dev.sentence, "label": dev.label})
    export.to_csv(tmp_path / "tickets.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path / "tickets.csv")))
    assert report.ok, report.summary()
    assert (report.columns.text, report.columns.label) == ("body", "label")
    # Half filled is still the text column: its blanks are the data's problem, reported by row.
    half = export.assign(text=[""] * 100 + dev.sentence.tolist()[100:])
    assert detect_columns(half)["text"] == "text"
    assert detect_columns(export.assign(text=[None] * 200))["text"] == "body"


def test_every_problem_is_reported_with_lines(tmp_path):
    (tmp_path / "train.csv").write_text(
        "text,label\n"
        "great film,pos\n"      # line 2
        ",neg\n"                # line 3: empty text
        "awful,\n"              # line 4: missing label
        "   ,pos\n"             # line 5: blank text
        "fine,pos\n"
        "dull,neg\n"
        "rare one,odd\n")       # line 8: a class with 1 row
    (tmp_path / "dev.csv").write_text("text,label\nok,pos\nhmm,meh\n")  # line 3: unknown label
    report = check_data(DataConfig(path=str(tmp_path)))
    assert not report.ok
    text = report.summary()
    assert "[train] empty text in column 'text'" in text and "line 3, line 5" in text
    assert "[train] missing label in column 'label'" in text and "line 4" in text
    assert "[validation] label 'meh' never occurs in train" in text and "line 3" in text
    assert "too few rows for class 'odd' (1)" in text
    with pytest.raises(DataError) as err:
        prepare_data(DataConfig(path=str(tmp_path)), seed=0)
    assert len(err.value.problems) >= 4


def test_missing_configured_column_lists_the_real_ones(datasets_dir):
    report = check_data(DataConfig(path=str(datasets_dir / "sst2"), label_column="sentiment"))
    assert not report.ok
    assert "data.label_column (--label-column) 'sentiment' is not a column; the file has 'sentence', 'label'" \
        in report.summary()


def test_no_label_column_found(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("sentence\n" + "".join(f"row {i}\n" for i in range(20)))
    report = check_data(DataConfig(path=str(path)))
    assert "no label column found" in report.summary()


@pytest.mark.parametrize("as_parquet", [False, True])
def test_token_level_data_is_named_as_such(datasets_dir, tmp_path, as_parquet):
    # CoNLL-2003 given to text classification: one message saying what the data is, not two
    # "no text column" / "no label column" guesses. Parquet hands the lists over as numpy arrays.
    path = datasets_dir / "conll2003" / "train.jsonl"
    if as_parquet:
        import pandas as pd

        path_parquet = tmp_path / "train.parquet"
        pd.read_json(path, lines=True).head(200).to_parquet(path_parquet)
        path = path_parquet
    report = check_data(DataConfig(path=str(path)))
    assert not report.ok and len(report.problems) == 1
    assert ("looks like token-level data (a list of tokens per row in 'tokens', "
            "a tag per token in 'pos_tags', 'ner_tags')") in report.summary()
    assert "no text column" not in report.summary()


@pytest.mark.parametrize("dataset, what", [("alpaca", "instruction-tuning data (instruction, input, output)"),
                                           ("preference/test.jsonl", "preference data (a chosen and a rejected")])
def test_data_for_another_objective_is_named_as_such(datasets_dir, dataset, what):
    # Alpaca has no label column; the preference pairs have a categorical 'subset' that detection
    # would take for a label. Either way: say what the data is, not a guess at its columns.
    report = check_data(DataConfig(path=str(datasets_dir / dataset)))
    assert not report.ok and len(report.problems) == 1
    assert f"this looks like {what}" in report.summary() and "is not available yet" in report.summary()
    # Columns the user named stand: classifying the preference prompts by subset is a real task.
    if dataset.startswith("preference"):
        named = check_data(DataConfig(path=str(datasets_dir / dataset), text_column="prompt",
                                      label_column="subset"))
        assert named.ok and len(named.label_names) == 4


def test_single_class_and_empty_file(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\na,1\nb,1\nc,1\n")
    assert "needs at least two classes" in check_data(DataConfig(path=str(path))).summary()
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    assert "has no rows" in check_data(DataConfig(path=str(empty))).summary()


def test_prepare_samples_and_carves_validation_reproducibly(datasets_dir):
    cfg = DataConfig(path=str(datasets_dir / "ag_news"), max_train_samples=200)
    first, second = prepare_data(cfg, seed=3), prepare_data(cfg, seed=3)
    assert len(first.splits["train"]) == 200 and len(first.splits["validation"]) == 800
    assert first.splits["train"]["text"] == second.splits["train"]["text"]
    # stratified: every class is in the carved validation split
    assert set(first.splits["validation"]["label"]) == {0, 1, 2, 3}
    assert first.label_names == ["World", "Sports", "Business", "Sci/Tech"]


def test_a_fixed_data_seed_keeps_the_rows_while_the_training_seed_changes(datasets_dir):
    from workbench.config import RunConfig

    def prepared(train_seed, data_seed):
        cfg = RunConfig.from_dict({
            "model": {"name": "minilm-l6"},
            "data": {"path": str(datasets_dir / "sst2"), "max_train_samples": 16, "max_eval_samples": 8,
                     "seed": data_seed},
            "train": {"seed": train_seed},
        })
        return prepare_data(cfg.data, cfg.data_seed)

    a, b = prepared(1, 7), prepared(2, 7)
    assert a.splits["train"]["text"] == b.splits["train"]["text"]
    assert a.splits["validation"]["text"] == b.splits["validation"]["text"]
    # Without a data seed, the training seed picks the rows.
    assert prepared(1, None).splits["train"]["text"] != prepared(2, None).splits["train"]["text"]


@pytest.mark.parametrize("as_parquet", [False, True])
def test_multi_label_rows_are_named_as_such(datasets_dir, tmp_path, as_parquet):
    # AG News rows in the shape of multi-label data (a list of topics per row): one message that
    # says so and names the rows, not classes called "[1, 3]" with too few rows each.
    import pandas as pd

    frame = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").head(40)
    frame["label"] = [[topic] if i % 4 else [topic, 1 + topic % 4] for i, topic in enumerate(frame["label"])]
    path = tmp_path / ("topics.parquet" if as_parquet else "topics.jsonl")
    if as_parquet:
        frame.to_parquet(path)  # hands the lists back as numpy arrays
    else:
        frame.to_json(path, orient="records", lines=True)
    report = check_data(DataConfig(path=str(path), label_column="label"))
    assert not report.ok and len(report.problems) == 1
    summary = report.summary()
    assert "column 'label' holds lists or mappings, not one label per row" in summary
    assert "multi-label data is not supported" in summary and "too few rows" not in summary
    assert ("row 1" if as_parquet else "line 1") in summary


def test_labels_written_as_floats_are_the_integers_they_mean(tmp_path):
    # pandas writes an integer column that had a gap as 1.0 / 0.0; mixed with 1 / 0 they are one label.
    path = tmp_path / "floats.csv"
    path.write_text("text,label\na,1\nb,1.0\nc,0\nd,0.0\ne,1\nf,0\n")
    report = check_data(DataConfig(path=str(path)))
    assert report.ok and report.label_names == ["0", "1"]
    assert report.label_counts["train"] == {"0": 3, "1": 3}
    assert prepare_data(DataConfig(path=str(path), validation_fraction=0.34), seed=0).splits["train"].num_rows == 3


def test_labels_that_differ_only_in_case_are_flagged(tmp_path):
    path = tmp_path / "case.csv"
    path.write_text("text,label\n" + "".join(f"t{i},{label}\n" for i, label in
                                              enumerate(["pos", "Pos", "neg", "pos", "Pos", "neg"])))
    # Half of 6 rows carve a validation text of each of the 3 classes: no note of a larger carve.
    report = check_data(DataConfig(path=str(path), validation_fraction=0.5))
    assert report.ok  # a warning: some label sets do mean case
    assert [str(p) for p in report.problems] == [
        "WARNING: [train] labels 'Pos' and 'pos' differ only in case, so they are different classes; "
        "if they mean the same, write them the same way"]


@pytest.mark.parametrize("labels, message", [
    (["1", "01", "0", "1", "01", "0"], "labels '01' and '1' are the same number written differently, so they are "
     "different classes; if they mean the same, write them the same way"),
    (["1", "positive", "0", "positive", "1", "0"], "the labels mix numbers ('0', '1') and names ('positive'), so "
     "each is a class of its own; if a number stands for a name, write every label as a name (or every one as a "
     "number)"),
])
def test_labels_written_two_ways_are_flagged(tmp_path, labels, message):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n" + "".join(f"text {i},{label}\n" for i, label in enumerate(labels)))
    report = check_data(DataConfig(path=str(path), validation_fraction=0.5))  # as above
    assert report.ok and [str(p) for p in report.problems] == [f"WARNING: [train] {message}"]


def test_numbered_labels_read_with_classes_txt_say_how_they_were_counted(datasets_dir, tmp_path):
    import pandas as pd

    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv")
    (tmp_path / "classes.txt").write_text((datasets_dir / "ag_news" / "classes.txt").read_text())
    news["label"] -= 1  # counted from 0, as the Hub's copy of AG News is
    news[news["label"] > 0].groupby("label").head(30).to_csv(tmp_path / "train.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    # Without class 0 nothing shows where counting starts: 1..3 with 4 names reads as from 1, and says so.
    assert report.label_names == ["World", "Sports", "Business"]
    assert [p.message for p in report.problems] == [
        "the labels run from 1 to 3 and the label names file (classes.txt) holds 4 names, so they are read as "
        "counting from 1 (1 = 'World'); if 0 is the first class, set data.label_names to the names of these "
        "values in order: [Sports, Business, Sci/Tech]"]
    fixed = check_data(DataConfig(path=str(tmp_path), label_names=["Sports", "Business", "Sci/Tech"]))
    assert fixed.label_names == ["Sports", "Business", "Sci/Tech"] and not fixed.problems
    # More names than values counted from 0 can reach: some name is not a label.
    too_many = check_data(DataConfig(path=str(datasets_dir / "sst2"), label_names=["negative", "positive", "mixed"]))
    assert [p.message for p in too_many.problems] == [
        "data.label_names holds 3 names but the labels only reach 1; the extra names are unused: check that the "
        "names match the labels"]
    # Too few names typed for the classes: refused (they used to be dropped with a warning, and the
    # run went on with numbers); too few in a names file only warns, since nobody typed them.
    too_few = check_data(DataConfig(path=str(datasets_dir / "ag_news"), label_names=["a", "b"]))
    assert not too_few.ok and [str(p) for p in too_few.problems if p.severity == "error"] == [
        "ERROR: data.label_names has 2 names for the 4 label values (1 to 4); give one name per class, in order, or "
        "leave it empty to show the numbers"]


def test_a_text_column_of_numbers_only_is_refused_from_csv_as_from_json(datasets_dir, tmp_path):
    import pandas as pd

    rows = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(40)
    rows["sentence"] = [str(1000 + i) for i in range(len(rows))]  # an id column taken for the text
    rows.to_csv(tmp_path / "ids.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path / "ids.csv")))
    assert [str(p) for p in report.errors] == [
        "ERROR: [train] column 'sentence' holds only numbers, not texts; is it the right text column? Set "
        "data.text_column to the column that holds the texts"]
    rows.loc[0, "sentence"] = "a real sentence among numbers"  # one text: a column of texts, some numeric
    rows.to_csv(tmp_path / "texts.csv", index=False)
    assert check_data(DataConfig(path=str(tmp_path / "texts.csv"))).ok


def test_an_id_column_as_the_label_gets_one_message_not_thousands_of_classes(datasets_dir):
    report = check_data(DataConfig(path=str(datasets_dir / "mrpc"), label_column="idx"))
    assert not report.ok
    assert [str(p) for p in report.problems] == [
        "ERROR: [train] column 'idx' has 3668 distinct values in 3668 rows, so it is not a set of "
        "classes (an id or a free-text column?); set data.label_column to the column that holds the classes"]


def _sst2_with_labels(datasets_dir, tmp_path, labels) -> str:
    import pandas as pd
    frame = pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t").head(len(labels))
    frame["label"] = labels
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_scores_as_labels_are_named_as_regression(datasets_dir, tmp_path):
    # STS-B style similarity scores: every distinct number would silently become a class.
    scores = [round(i % 26 * 0.2, 1) for i in range(400)]
    report = check_data(DataConfig(path=_sst2_with_labels(datasets_dir, tmp_path, scores)))
    assert [str(p) for p in report.problems] == [
        "ERROR: [train] column 'label' holds scores (26 distinct numbers from 0 to 5), and each "
        "distinct number would be a class; regression is not supported: bin the scores into classes "
        "(e.g. low / high), or set data.label_column to the column that holds the classes"]
    # A few half-step ratings may well be classes: a warning, and the data can be used.
    ratings = [i % 4 * 0.5 for i in range(400)]
    report = check_data(DataConfig(path=_sst2_with_labels(datasets_dir, tmp_path, ratings)))
    assert report.ok and report.label_names == ["0", "0.5", "1", "1.5"]
    assert "holds scores (4 distinct numbers from 0 to 1.5)" in str(report.problems[0])


def test_many_rare_classes_are_listed_briefly(datasets_dir, tmp_path):
    labels = ["common"] * 380 + [f"rare{i}" for i in range(20)]
    report = check_data(DataConfig(path=_sst2_with_labels(datasets_dir, tmp_path, labels)))
    message = str(report.errors[0])
    assert message.startswith("ERROR: [train] too few rows for class 'rare0' (1), ")
    assert message.count("'rare") == 10 and "and 10 more classes; give each class at least 2 rows" in message


def test_the_summary_lists_a_long_label_set_briefly(datasets_dir, tmp_path):
    labels = [f"topic{i % 30:02d}" for i in range(300)]
    summary = check_data(DataConfig(path=_sst2_with_labels(datasets_dir, tmp_path, labels))).summary()
    assert summary == ("Data OK: train 300 rows; columns: text 'sentence', label 'label'; 30 labels: topic00, "
                       "topic01, topic02, topic03, topic04, topic05, topic06, topic07, topic08, topic09 and 20 more")


def test_the_summary_names_the_columns_read_and_keeps_the_counts_beside_warnings(datasets_dir, tmp_path):
    # With a warning the summary was the warnings alone, and the columns read were in the JSON line
    # only: a label guessed among several columns went unseen.
    import pandas as pd
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(200)
    pd.DataFrame({"review": dev["sentence"], "score": dev["label"],
                  "domain": ["imdb" if i % 2 else "yelp" for i in range(200)]}).to_csv(tmp_path / "reviews.csv",
                                                                                       index=False)
    summary = check_data(DataConfig(path=str(tmp_path / "reviews.csv"))).summary().splitlines()
    assert summary[0] == ("Data OK, with warnings: train 200 rows; columns: text 'review', label 'domain'; "
                          "2 labels: imdb, yelp")
    assert summary[1].startswith("- WARNING: [train] columns 'domain', 'score' could each be the label")
    mrpc = check_data(DataConfig(path=str(datasets_dir / "mrpc"), label_column="labels")).summary()
    assert mrpc.startswith("Data check failed: test 1,725 rows, train 3,668 rows, validation 408 rows\n- ERROR: ")


def sst2_rows(datasets_dir, split: str, count: int):
    import pandas as pd
    return pd.read_csv(datasets_dir / "sst2" / f"{split}.tsv", sep="\t").head(count)


def test_evaluation_texts_that_are_also_in_train_are_reported(datasets_dir, tmp_path):
    import pandas as pd
    dev = sst2_rows(datasets_dir, "dev", 200)
    leaked = dev.iloc[[5, 50, 120]].copy()
    leaked["sentence"] = leaked["sentence"].str.replace(" ", "  ") + " "  # spacing is not a difference
    pd.concat([sst2_rows(datasets_dir, "train", 300), leaked]).to_csv(tmp_path / "train.csv", index=False)
    dev.to_csv(tmp_path / "validation.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    assert report.ok
    [warning] = report.problems
    assert str(warning) == ("WARNING: [validation] 3 of 200 validation texts (1.5 %) are also in train, so "
                            "validation metrics overstate how the model does on new text; remove them "
                            "from one of the two splits (line 7, line 52, line 122)")


def test_a_few_repeats_in_a_large_split_are_not_reported(datasets_dir, tmp_path):
    import pandas as pd
    dev = sst2_rows(datasets_dir, "dev", 200)
    pd.concat([sst2_rows(datasets_dir, "train", 300), dev.iloc[[5]]]).to_csv(tmp_path / "train.csv", index=False)
    dev.to_csv(tmp_path / "validation.csv", index=False)
    assert check_data(DataConfig(path=str(tmp_path))).problems == []  # 1 of 200: 0.5 %


def test_texts_with_conflicting_labels_in_train_are_reported(datasets_dir, tmp_path):
    import pandas as pd
    train = sst2_rows(datasets_dir, "train", 300)
    flipped = train.iloc[[3, 4]].assign(label=lambda f: 1 - f["label"])
    pd.concat([train, flipped, train.iloc[[9]]]).to_csv(tmp_path / "train.csv", index=False)  # row 9 twice, same label: fine
    report = check_data(DataConfig(path=str(tmp_path / "train.csv")))
    [warning] = report.problems
    assert str(warning) == ("WARNING: [train] 2 texts appear in train with different labels (4 rows), so the "
                            "model is taught both; give each text one label, or delete the rows that are "
                            "wrong (line 5, line 6, line 302, line 303)")
    pd.concat([train] + [flipped.iloc[[0]]] * 3).to_csv(tmp_path / "train.csv", index=False)
    [warning] = check_data(DataConfig(path=str(tmp_path / "train.csv"))).problems
    assert str(warning).startswith("WARNING: [train] 1 text appears in train with different labels (4 rows)")


def test_pairs_repeat_only_when_both_texts_do(datasets_dir, tmp_path):
    import pandas as pd
    train = pd.read_json(datasets_dir / "mrpc" / "train.jsonl", lines=True).head(300)
    dev = pd.read_json(datasets_dir / "mrpc" / "validation.jsonl", lines=True).head(100)
    train = pd.concat([train, dev.head(5).assign(**{"sentence2": "an unrelated second sentence"})])
    train.to_csv(tmp_path / "train.csv", index=False)
    dev.to_csv(tmp_path / "validation.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    assert report.columns.text_pair is not None
    assert not [p for p in report.problems if "also in train" in p.message]


def _sst2_rows(datasets_dir, rows=300):
    import pandas as pd
    return pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t").head(rows)


def test_a_test_file_without_labels_is_left_out_with_a_warning(datasets_dir, tmp_path):
    # The Kaggle layout: train.csv labelled, test.csv only texts.
    train = _sst2_rows(datasets_dir)
    train.to_csv(tmp_path / "train.csv", index=False)
    train[["sentence"]].head(40).to_csv(tmp_path / "test.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    assert report.ok and report.unlabeled_splits == ["test"]
    assert [str(p) for p in report.problems] == [
        f"WARNING: [test] {tmp_path / 'test.csv'} has no labels (it has no column 'label', only 'sentence'), so "
        f"the run leaves it out; once trained, `workbench predict RUN --data {tmp_path} --split test` labels its rows "
        "(in the app: Analyze > Predict, with this file)"]
    assert "test" not in report.split_rows
    prepared = prepare_data(DataConfig(path=str(tmp_path)), seed=42)
    assert sorted(prepared.splits) == ["train", "validation"]
    assert len(prepared.splits["train"]) + len(prepared.splits["validation"]) == 300


def test_a_validation_file_with_empty_labels_is_replaced_by_a_carve(datasets_dir, tmp_path):
    train = _sst2_rows(datasets_dir)
    train.to_csv(tmp_path / "train.csv", index=False)
    train.head(40).assign(label="").to_csv(tmp_path / "dev.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    assert report.ok and report.unlabeled_splits == ["validation"]
    assert "(no row has a label in column 'label'), so the run leaves it out; validation is carved " \
        "from train instead" in report.summary()
    prepared = prepare_data(DataConfig(path=str(tmp_path)), seed=42)
    assert len(prepared.splits["validation"]) == 30  # the 10 % carve, not the 40 unlabelled rows


def test_a_test_split_with_some_labels_is_still_checked_row_by_row(datasets_dir, tmp_path):
    # Partly labelled is a mistake to fix, not a split to drop.
    train = _sst2_rows(datasets_dir)
    train.to_csv(tmp_path / "train.csv", index=False)
    test = train.head(40).copy()
    test.loc[[3, 7], "label"] = None
    test.to_csv(tmp_path / "test.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path)))
    assert not report.ok and report.unlabeled_splits == []
    assert "ERROR: [test] missing label in column 'label'; give every row a label or delete it " \
        "(line 5, line 9)" in report.summary()


def test_hub_benchmark_with_hidden_test_labels_trains_on_its_labelled_splits(datasets_dir, tmp_path):
    from tests.hub_datasets import sst2_as_on_the_hub

    repo = sst2_as_on_the_hub(datasets_dir, tmp_path / "glue-sst2")
    report = check_data(DataConfig(path=f"hub:{repo}"))
    assert report.ok, report.summary()
    assert report.unlabeled_splits == ["test"]
    assert report.split_rows == {"train": 300, "validation": 100}
    assert report.label_counts["validation"] == {"1": 52, "0": 48}


def test_the_label_or_the_text_column_as_second_text_is_refused(datasets_dir, tmp_path):
    # Passed before: with the label as second text the model reads each row's answer.
    rows = _sst2_rows(datasets_dir, 60)
    rows.assign(label=rows["label"].map({0: "false", 1: "true"})).to_csv(tmp_path / "tf.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path / "tf.csv"), text_pair_column="label"))
    assert [str(p) for p in report.problems] == [
        "ERROR: data.text_pair_column (--text-pair-column) 'label' is the label column: the model would read each "
        "row's label as its second text; set it to the column that holds the second texts, or to null for single "
        "texts"]
    report = check_data(DataConfig(path=str(tmp_path / "tf.csv"), text_pair_column="sentence"))
    assert [str(p) for p in report.problems] == [
        "ERROR: data.text_pair_column (--text-pair-column) 'sentence' is also the text column: the model would read "
        "each text twice; set it to the column that holds the second texts, or to null for single texts"]
    # An automatic second text is the partner of the text column as chosen: MRPC read from sentence2
    # alone took sentence2 as its second text too.
    mrpc = check_data(DataConfig(path=str(datasets_dir / "mrpc"), text_column="sentence2"))
    assert (mrpc.columns.text, mrpc.columns.text_pair) == ("sentence2", None)


def test_detection_never_takes_a_second_text_for_the_label(datasets_dir, tmp_path):
    # AG News as zero-shot NLI: templated hypotheses have 2 distinct values, fewer than the 3
    # answers, so the hypothesis was taken for the label, and fed to the model as its second text.
    import pandas as pd
    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").groupby("label").head(30)
    nli = pd.DataFrame({"premise": news["content"],
                        "hypothesis": ["This is about sport.", "This is about business."] * 60,
                        "answer": ["yes", "no", "maybe"] * 40})
    nli.to_csv(tmp_path / "nli.csv", index=False)
    assert detect_columns(nli) == {"text": "premise", "text_pair": "hypothesis", "label": "answer"}
    report = check_data(DataConfig(path=str(tmp_path / "nli.csv")))
    assert report.ok and report.columns == ColumnMapping(text="premise", label="answer", text_pair="hypothesis")


def test_a_column_name_that_is_almost_right_is_shown_quoted_with_the_one_meant(datasets_dir, tmp_path):
    # "the file has text ,  label" hid why 'label' was not a column: the header had spaces.
    rows = _sst2_rows(datasets_dir, 60)
    rows.rename(columns={"sentence": "text ", "label": " label"}).to_csv(tmp_path / "spaced.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path / "spaced.csv"), text_column="text", label_column="label"))
    assert [str(p) for p in report.problems] == [
        "ERROR: data.text_column (--text-column) 'text' is not a column, but 'text ' is (they differ only in spaces "
        "at the ends); the file has 'text ', ' label': set data.text_column to one of them",
        "ERROR: data.label_column (--label-column) 'label' is not a column, but ' label' is (they differ only in "
        "spaces at the ends); the file has 'text ', ' label': set data.label_column to one of them"]
    rows.to_csv(tmp_path / "semi.csv", index=False, sep=";")
    for typed, hint in (("lable", " (did you mean 'label'?)"), ("Label", ", but 'label' is (they differ only in case)"),
                        ("stars", "")):
        report = check_data(DataConfig(path=str(tmp_path / "semi.csv"), label_column=typed))
        assert [str(p) for p in report.problems] == [
            f"ERROR: data.label_column (--label-column) '{typed}' is not a column{hint}; the file has 'sentence', "
            "'label': set data.label_column to one of them"]


@pytest.mark.parametrize("dataset, text", [("sst2", "sentence"), ("ag_news", "content")])
def test_swapped_text_and_label_columns_are_named_as_such(datasets_dir, dataset, text):
    # Refused before too, but as "column 'label' holds only numbers" and "not a set of classes",
    # beside a warning that texts "appear in train with different labels": the labels, read as texts.
    report = check_data(DataConfig(path=str(datasets_dir / dataset), text_column="label", label_column=text))
    assert [str(p) for p in report.problems] == [
        f"ERROR: the text and label columns look swapped: 'label' holds the labels and '{text}' the texts; set "
        f"data.text_column (--text-column) to '{text}' and data.label_column (--label-column) to 'label'"]


def test_a_validation_file_misread_or_with_its_labels_named_otherwise_is_an_error(datasets_dir, tmp_path):
    # Both were left out with a warning that the file "has no labels", and validation carved from train.
    import csv
    train = _sst2_rows(datasets_dir, 60)
    dev = sst2_rows(datasets_dir, "dev", 30)
    for folder in ("commas", "renamed", "kaggle"):
        (tmp_path / folder).mkdir()
        train.to_csv(tmp_path / folder / "train.tsv", sep="\t", index=False, quoting=csv.QUOTE_NONE)
    dev.to_csv(tmp_path / "commas" / "dev.tsv", index=False)  # commas in a .tsv: read as one column
    dev.rename(columns={"label": "sentiment"}).to_csv(tmp_path / "renamed" / "dev.tsv", sep="\t", index=False,
                                                       quoting=csv.QUOTE_NONE)
    # A .tsv whose header holds commas and no tab is read as the CSV it is (load.py), and scored.
    report = check_data(DataConfig(path=str(tmp_path / "commas")))
    assert report.problems == [] and report.split_rows["validation"] == 30
    report = check_data(DataConfig(path=str(tmp_path / "renamed")))
    assert [str(p) for p in report.problems] == [
        f"ERROR: [validation] column 'label' is missing from {tmp_path / 'renamed' / 'dev.tsv'} (it has 'sentence', "
        "'sentiment'): if 'sentiment' holds its labels, name that column 'label', as in train.tsv"]
    # Its labels under a name that does not say so are found by their values.
    dev.rename(columns={"label": "verdict"}).to_csv(tmp_path / "renamed" / "dev.tsv", sep="\t", index=False,
                                                     quoting=csv.QUOTE_NONE)
    assert "if 'verdict' holds its labels" in check_data(DataConfig(path=str(tmp_path / "renamed"))).summary()
    # Texts to predict on beside an id column train does not have: still a split without labels.
    dev.drop(columns="label").rename_axis("id").to_csv(tmp_path / "kaggle" / "test.csv")
    report = check_data(DataConfig(path=str(tmp_path / "kaggle")))
    assert report.ok and report.unlabeled_splits == ["test"]
    assert "(it has no column 'label', only 'id', 'sentence')" in str(report.problems[0])


def test_texts_of_invisible_characters_only_are_empty(datasets_dir, tmp_path):
    # str.strip keeps U+200B and U+FEFF: these rows passed, and the model read [CLS] [SEP] from them.
    rows = _sst2_rows(datasets_dir, 60)
    rows.loc[[3, 9, 20], "sentence"] = ["\u200b", "\u00a0\u200b ", "\ufeff"]
    rows.loc[30, "sentence"] = "\u200bstill a text"
    rows.to_csv(tmp_path / "invisible.csv", index=False)
    assert [str(p) for p in check_data(DataConfig(path=str(tmp_path / "invisible.csv"))).errors] == [
        "ERROR: [train] empty text in column 'sentence'; fill these rows in or delete them (line 5, line 11, line 22)"]


def test_check_data_given_a_path_a_run_config_or_rows_says_what_to_pass(datasets_dir):
    # Each was "AttributeError: 'str' object has no attribute 'path'" (or 'RunConfig' ...).
    import pandas as pd
    from workbench.config import RunConfig
    from workbench.errors import WorkbenchError

    path = str(datasets_dir / "sst2")
    frame = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(60)
    for given, call in [
        (path, f"check_data(DataConfig(path='{path}'))"),
        (RunConfig.from_dict({"data": {"path": path}}), "check_data(cfg.data), the RunConfig's data settings"),
        ({"path": path}, "check_data(RunConfig.from_dict({'data': settings}).data), which also checks the settings"),
        (frame, "check_data(DataConfig(path='data.csv')) on the rows saved first, e.g. "
                "frame.to_csv('data.csv', index=False)")]:
        with pytest.raises(WorkbenchError) as err:
            check_data(given)
        assert str(err.value) == (f"check_data takes the data settings, a DataConfig, not a {type(given).__name__}: "
                                  f"call {call}")


def test_labels_written_as_r_or_excel_write_a_missing_value_are_missing_not_a_class(datasets_dir, tmp_path):
    # R's write.csv writes NA, Excel #N/A: both read as a class of their own, 'NA' beside negative and positive.
    rows = _sst2_rows(datasets_dir, 60)
    rows["label"] = rows["label"].map({0: "negative", 1: "positive"})
    rows.loc[[2, 5], "label"] = "NA"
    rows.loc[9, "label"] = "#N/A"
    rows.loc[20, "sentence"] = "None"  # a text that says None is a text
    rows.to_csv(tmp_path / "r.csv", index=False)
    report = check_data(DataConfig(path=str(tmp_path / "r.csv")))
    assert report.label_names == ["negative", "positive"]
    assert [str(p) for p in report.problems] == [
        "ERROR: [train] missing label in column 'label' ('#N/A', 'NA' read as missing, as pandas and R write it); "
        "give every row a label or delete it (line 4, line 7, line 11)"]


def test_check_data_names_unreadable_files_beside_the_problems_of_the_others(datasets_dir, tmp_path):
    # The Python API raised on the first unreadable file (dev.csv), so a notebook user fixed it,
    # ran the check again and only then learnt of train's empty texts; the CLI said all at once.
    from tests.broken_data import folder_with_two_unreadable_files

    report = check_data(DataConfig(path=str(folder_with_two_unreadable_files(datasets_dir, tmp_path / "data"))))
    assert not report.ok
    assert [(p.split, p.message.split(" ")[0]) for p in report.problems] == [
        ("validation", "'dev.csv'"), ("test", "'test.csv'"), ("train", "empty")]
    assert "line 5, line 11" in report.summary()
