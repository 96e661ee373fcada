"""`workbench predict`: labels for data without labels, from a finished run's real model."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from workbench.config import RunConfig
from workbench.errors import DataError, WorkbenchError
from workbench.evaluate import evaluate_run
from workbench.predict import predict_run, predict_texts
from workbench.runs.store import create_run
from workbench.train.main import execute
from tests.test_cli import run_cli
from tests.udhr import ARTICLE_1


@pytest.fixture(scope="module")
def dev_without_labels(tmp_path_factory, datasets_dir):
    """SST-2 dev as a user would bring new texts: a CSV of sentences, no label column."""
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t")
    path = tmp_path_factory.mktemp("new_texts") / "reviews.csv"
    dev[["sentence"]].to_csv(path, index=False)
    return path, dev["label"].tolist()


def test_predictions_match_what_eval_scores_and_the_model_learned(sst2_run, dev_without_labels, tmp_path,
                                                                  datasets_dir):
    path, gold = dev_without_labels
    result = predict_run(sst2_run, str(path))
    assert result["rows"] == 872 and result["split"] == "all rows"
    assert result["predictions"] == str(sst2_run.dir / "predict" / "reviews.jsonl")
    records = [json.loads(line) for line in open(result["predictions"])]
    assert records[0]["row"] == "line 2" and records[0]["text"].startswith("it 's a charming")
    assert sum(result["predicted_counts"].values()) == 872
    # The same model scoring the labelled file predicts exactly the same labels.
    scored = tmp_path / "scored.jsonl"
    evaluated = evaluate_run(sst2_run, str(datasets_dir / "sst2" / "dev.tsv"), output=str(scored))
    assert evaluated["predictions"] == str(scored)
    scored_records = [json.loads(line) for line in scored.open()]
    assert [r["predicted"] for r in records] == [r["predicted"] for r in scored_records]
    assert [r["row"] for r in scored_records[:2]] == ["line 2", "line 3"]  # dev.tsv's own lines
    with pytest.raises(WorkbenchError, match=r"--output '.*scored.txt' must end in .jsonl"):
        evaluate_run(sst2_run, str(datasets_dir / "sst2" / "dev.tsv"), output=str(tmp_path / "scored.txt"))
    names = ["negative", "positive"]
    accuracy = sum(r["predicted"] == names[g] for r, g in zip(records, gold)) / len(gold)
    assert accuracy > 0.75  # the fixture's run learned SST-2 (about 0.8)
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-4 for r in records)


def test_csv_output_has_a_probability_column_per_class(sst2_run, dev_without_labels, tmp_path):
    path, _ = dev_without_labels
    out = tmp_path / "out" / "labelled.csv"
    predict_run(sst2_run, str(path), output=str(out))
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["row", "text", "predicted", "confidence", "p_negative", "p_positive"]
    assert len(frame) == 872 and ((frame.p_negative + frame.p_positive - 1).abs() < 1e-4).all()
    # The same texts through the Python API give the same labels.
    direct = predict_texts(sst2_run, frame.text.head(20).tolist())
    assert [d["predicted"] for d in direct] == frame.predicted.head(20).tolist()


def test_labels_of_texts_the_tokenizer_cannot_read_come_with_a_warning(sst2_run, datasets_dir, tmp_path, capsys):
    assert "warnings" not in predict_run(sst2_run, str(datasets_dir / "sst2" / "dev.tsv"))  # English: none
    # Reviews in English, and the same number in Chinese: the English MiniLM sees the latter as
    # runs of [UNK] and labels them anyway.
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(20)
    chinese = pd.DataFrame({"sentence": ARTICLE_1["Chinese"].split("。")[:2] * 10, "label": [1, 0] * 10})
    path = tmp_path / "mixed.csv"
    pd.concat([dev, chinese]).to_csv(path, index=False)
    result = predict_run(sst2_run, str(path))
    assert result["rows"] == 40 and len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("[all rows] ") and "in 20 of 40 texts) are unknown" in result["warnings"][0]
    code, record, err = run_cli(capsys, "eval", sst2_run.id, "--data", str(path), "--runs-dir", str(sst2_run.dir.parent))
    assert code == 0 and record["warnings"] == result["warnings"]
    assert "warning: [all rows] " in err


def test_bad_texts_are_named_by_line_and_nothing_is_written(sst2_run, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("review\na fine film\n\n\"\"\nnot good at all\n")
    with pytest.raises(DataError) as err:
        predict_run(sst2_run, str(path))
    assert "empty text in column 'review'" in str(err.value) and "line 3" in str(err.value)
    assert not (sst2_run.dir / "predict" / "new.jsonl").exists()
    with pytest.raises(WorkbenchError, match="--text-column 'body' is not a column of .* \\(it has review\\)"):
        predict_run(sst2_run, str(path), text_column="body")
    with pytest.raises(WorkbenchError, match="is one file, without splits; drop --split"):
        predict_run(sst2_run, str(path), split="test")
    with pytest.raises(WorkbenchError, match="must end in .jsonl or .csv"):
        predict_run(sst2_run, str(path), output=str(tmp_path / "out.xlsx"))
    with pytest.raises(WorkbenchError, match="cannot write the predictions to .*; choose another --output"):
        fine = tmp_path / "fine.csv"
        fine.write_text("review\na fine film\n")
        predict_run(sst2_run, str(fine), output=str(path / "out.csv"))  # through a file, not a folder
    # --output naming the data file itself would replace the data: refused, and the file kept.
    path.write_text("review\na fine film\nnot good at all\n")
    kept = path.read_text()
    for same in (str(path), str(path.parent / "." / path.name)):
        with pytest.raises(WorkbenchError, match="is the data file itself: writing there would replace the data"):
            predict_run(sst2_run, str(path), output=same)
    jsonl = tmp_path / "new.jsonl"
    jsonl.write_text('{"review": "a fine film", "label": 1}\n')
    with pytest.raises(WorkbenchError, match="is the data file itself"):
        evaluate_run(sst2_run, str(jsonl), output=str(jsonl))
    assert path.read_text() == kept and jsonl.read_text() == '{"review": "a fine film", "label": 1}\n'


def test_eval_of_data_without_labels_points_to_predict(sst2_run, dev_without_labels, capsys):
    path, _ = dev_without_labels
    code, refused, _ = run_cli(capsys, "eval", sst2_run.id, "--data", str(path),
                               "--runs-dir", str(sst2_run.dir.parent))
    assert code == 2
    assert refused["error"] == (
        f"'{path}' has no label column (it has sentence); eval compares predictions with gold labels: "
        f"name the label column with --label-column, or label data that has no labels with "
        f"`workbench predict {sst2_run.id} --data {path}`")


def test_eval_maps_numbered_labels_to_the_classes_the_run_trained_on(sst2_run, datasets_dir, tmp_path):
    """Only positive sentences (label 1) beside a classes.txt: the file alone cannot say whether 1
    counts from 0 or from 1 (it was read as 'negative'); the run trained on value 1 as 'positive'."""
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t")
    positive = dev[dev["label"] == 1]
    plain, named = tmp_path / "plain", tmp_path / "named"
    for folder in (plain, named):
        folder.mkdir()
        positive.to_csv(folder / "positive.csv", index=False)
    (named / "classes.txt").write_text("negative\npositive\n")
    assert sst2_run.status()["label_values"] == ["0", "1"]
    by_value = evaluate_run(sst2_run, str(plain / "positive.csv"), output=str(tmp_path / "plain.jsonl"))
    with_names = evaluate_run(sst2_run, str(named / "positive.csv"), output=str(tmp_path / "named.jsonl"))
    assert with_names["metrics"] == by_value["metrics"] and by_value["metrics"]["accuracy"] > 0.7
    gold = {json.loads(line)["gold"] for line in (tmp_path / "named.jsonl").read_text().splitlines()}
    assert gold == {"positive"}


def test_eval_on_data_with_more_classes_names_them_and_both_counts(sst2_run, datasets_dir, tmp_path):
    # AG News (4 topics, numbered 1-4 with classes.txt) on the SST-2 run: 1 matches one of the run's
    # values; the message must not read as if the data's other classes were fine. The run's own
    # label_names (2 of them, for its values 0 and 1) must not be applied to the new data's 4 values.
    news = tmp_path / "news"
    news.mkdir()
    pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").groupby("label").head(10).to_csv(news / "news.csv", index=False)
    shutil.copy(datasets_dir / "ag_news" / "classes.txt", news / "classes.txt")
    with pytest.raises(WorkbenchError) as err:
        evaluate_run(sst2_run, str(news / "news.csv"))
    assert str(err.value) == (f"labels ['Business', 'Sci/Tech', 'Sports'] of '{news / 'news.csv'}' are not among the model's "
                              "labels ['negative', 'positive'] (the data has 4 labels, the model 2); evaluate on "
                              "data with the same labels")

def test_eval_of_a_split_with_hidden_labels_names_the_labelled_ones(sst2_run, datasets_dir, tmp_path, capsys):
    from tests.hub_datasets import sst2_as_on_the_hub

    data = f"hub:{sst2_as_on_the_hub(datasets_dir, tmp_path / 'glue-sst2')}"
    args = ("eval", sst2_run.id, "--data", data, "--runs-dir", str(sst2_run.dir.parent))
    code, refused, _ = run_cli(capsys, *args)  # the default split is test: every label is -1
    assert code == 2
    assert refused["error"] == (
        f"no row of '{data}' split test has a label in column 'label'; eval compares predictions with "
        f"gold labels: evaluate a labelled split (--split train or validation), or label these rows with "
        f"`workbench predict {sst2_run.id} --data {data} --split test`")
    code, scored, _ = run_cli(capsys, *args, "--split", "validation")
    assert code == 0 and scored["metrics"]["rows"] == 100 and scored["split"] == "validation"


def test_a_pair_model_needs_both_texts(datasets_dir, tmp_path, capsys):
    cfg = RunConfig.from_dict({
        "model": {"name": "minilm-l6"}, "method": {"type": "lora"}, "task": {"max_length": 64},
        "data": {"path": str(datasets_dir / "mrpc"), "max_train_samples": 32, "max_eval_samples": 16},
        "train": {"max_steps": 2, "batch_size": 8, "eval_steps": 100, "save_steps": 100},
        "runs_dir": str(tmp_path / "runs"),
    }).resolve()
    run = create_run(cfg)
    assert execute(run)["status"] == "finished"
    pairs = pd.read_json(datasets_dir / "mrpc" / "validation.jsonl", lines=True).head(30)
    path = tmp_path / "pairs.csv"
    pairs[["sentence1", "sentence2"]].to_csv(path, index=False)
    code, result, _ = run_cli(capsys, "predict", run.id, "--data", str(path), "--output",
                              str(tmp_path / "pairs.jsonl"), "--runs-dir", str(tmp_path / "runs"))
    assert code == 0 and result["rows"] == 30, result
    first = json.loads((tmp_path / "pairs.jsonl").read_text().splitlines()[0])
    assert first["text"] == pairs.sentence1[0] and first["text_pair"] == pairs.sentence2[0]
    pairs[["sentence1"]].to_csv(path, index=False)
    code, refused, _ = run_cli(capsys, "predict", run.id, "--data", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and "no second text column found" in refused["error"]
    assert "(it has sentence1); the run was trained on pairs ('sentence1' + 'sentence2'); name it with " \
        "--text-pair-column, or call the column 'sentence2'" in refused["error"]
    labelled_pairs = tmp_path / "labelled.csv"
    pairs.rename(columns={"sentence2": "second"})[["sentence1", "second", "label"]].to_csv(labelled_pairs, index=False)
    code, refused, _ = run_cli(capsys, "eval", run.id, "--data", str(labelled_pairs), "--runs-dir",
                               str(tmp_path / "runs"))
    assert code == 2 and refused["error"].endswith(
        "has one text column ('sentence1'); name its second text with --text-pair-column, or evaluate on data "
        "with both texts")
    code, scored, _ = run_cli(capsys, "eval", run.id, "--data", str(labelled_pairs), "--text-pair-column", "second",
                              "--runs-dir", str(tmp_path / "runs"))
    assert code == 0 and scored["metrics"]["rows"] == 30, scored
    # Typed pairs: each --text with its --text-pair, labelled as the same pair read from the file.
    typed = ["predict", run.id, "--runs-dir", str(tmp_path / "runs")]
    code, labelled, _ = run_cli(capsys, *typed, "--text", pairs.sentence1[0], "--text-pair", pairs.sentence2[0])
    assert code == 0 and labelled["predictions"][0]["text_pair"] == pairs.sentence2[0]
    assert labelled["predictions"][0]["probabilities"] == pytest.approx(first["probabilities"], abs=1e-4)
    code, refused, _ = run_cli(capsys, *typed, "--text", pairs.sentence1[0])
    assert code == 2 and refused["error"] == (f"run {run.id} was trained on text pairs: give each --text "
                                              "its --text-pair")
    with pytest.raises(WorkbenchError, match="^give a text to label$"):  # was a TypeError
        predict_texts(run, None, [pairs.sentence2[0]])


def test_eval_of_a_run_whose_status_file_is_damaged_reads_labels_from_its_model(sst2_run, datasets_dir,
                                                                                 tmp_path, capsys):
    # status.json is where the run keeps its label names; a damaged one (an edit, a copy cut
    # short) used to make eval say the data's labels were "not among the model's labels []".
    runs = tmp_path / "runs"
    shutil.copytree(sst2_run.dir, runs / sst2_run.id, ignore=shutil.ignore_patterns("checkpoints"))
    data = str(datasets_dir / "sst2" / "dev.tsv")
    _, intact, _ = run_cli(capsys, "eval", sst2_run.id, "--data", data, "--runs-dir", str(runs))
    (runs / sst2_run.id / "status.json").write_text('{"status": "fini')
    code, scored, _ = run_cli(capsys, "eval", sst2_run.id, "--data", data, "--runs-dir", str(runs))
    assert code == 0 and scored["metrics"] == intact["metrics"]


def test_typed_texts_are_labelled_as_the_same_texts_in_a_file(sst2_run, dev_without_labels, tmp_path, capsys):
    path, _ = dev_without_labels
    typed = ["predict", sst2_run.id, "--runs-dir", str(sst2_run.dir.parent)]
    texts = pd.read_csv(path).sentence.head(3).tolist()
    code, labelled, printed = run_cli(capsys, *typed, *[arg for text in texts for arg in ("--text", text)])
    assert code == 0 and labelled["rows"] == 3 and "warnings" not in labelled
    output = tmp_path / "labelled.jsonl"
    run_cli(capsys, "predict", sst2_run.id, "--data", str(path), "--output", str(output),
            "--runs-dir", str(sst2_run.dir.parent))
    from_file = [json.loads(line) for line in output.read_text().splitlines()[:3]]
    for typed_record, file_record in zip(labelled["predictions"], from_file, strict=True):
        assert typed_record["text"] == file_record["text"] and typed_record["predicted"] == file_record["predicted"]
        # Padded in batches of other lengths: the same up to float rounding.
        assert typed_record["probabilities"] == pytest.approx(file_record["probabilities"], abs=1e-4)
    first = labelled["predictions"][0]
    assert printed.splitlines()[0] == f"{first['predicted']}\t{first['confidence']:.4f}\t{texts[0]}"

    code, warned, printed = run_cli(capsys, *typed, "--text", ARTICLE_1["Chinese"])
    assert code == 0 and warned["warnings"][0].startswith("[typed texts] ")
    assert "warning: [typed texts] " in printed

    for args, message in [
        ((), 'give the texts to label: --data FILE (or folder), or --text "..." once per text'),
        (("--text", "fine", "--data", str(path)),
         'give the texts to label: --data FILE (or folder), or --text "..." once per text'),
        (("--text", "fine", "--output", str(tmp_path / "x.csv")),
         "--output goes with --data; typed --text labels are printed (and in the JSON line)"),
        (("--text", "fine", "--text", "  "), "text 2 is empty; give each one words to label"),
        (("--text", "\u200b\ufeff"), "text 1 is empty; give each one words to label"),  # invisible only
        (("--text", "fine", "--text-pair", "also fine"),
         f"run {sst2_run.id} was trained on single texts; drop --text-pair"),
    ]:
        code, refused, _ = run_cli(capsys, *typed, *args)
        assert code == 2 and refused["error"] == message, args


def test_texts_longer_than_the_run_reads_are_labelled_with_a_warning(sst2_run, datasets_dir, tmp_path):
    # The fixture's run trained at task.max_length 64: five dev reviews run together are longer,
    # and are labelled from their start alone.
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(100)
    long = pd.DataFrame({"sentence": [" ".join(dev.sentence[i:i + 5]) for i in range(0, 100, 5)],
                         "label": dev.label[::5].tolist()})
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    labelled = predict_run(sst2_run, str(path), output=str(tmp_path / "out.jsonl"))
    [warning] = labelled["warnings"]
    assert warning.startswith("[all rows] ") and "are longer than the 64 tokens this model was trained to " \
        "read (its task.max_length), so each is labelled from its first part only; if their ends matter, " \
        "train with a larger task.max_length" in warning
    assert evaluate_run(sst2_run, str(path))["warnings"] == [warning]
    # The run's own kind of text: no warning.
    assert "warnings" not in predict_run(sst2_run, str(datasets_dir / "sst2" / "dev.tsv"),
                                         output=str(tmp_path / "dev.jsonl"))


def test_the_python_api_takes_what_a_notebook_user_hands_it(sst2_run, datasets_dir, tmp_path, monkeypatch):
    from pathlib import Path

    from workbench.analysis import compare_runs, load_predictions
    from workbench.data.load import load_raw

    # A run as its Run, its folder (str or Path) or its id in ./runs, as the CLI takes it.
    monkeypatch.chdir(sst2_run.dir.parent.parent)
    (Path("runs")).mkdir(exist_ok=True)
    (Path("runs") / sst2_run.id).symlink_to(sst2_run.dir)
    by_run = predict_texts(sst2_run, ["a gorgeous, witty film"])
    for given in (str(sst2_run.dir), sst2_run.dir, sst2_run.id):
        assert predict_texts(given, ["a gorgeous, witty film"]) == by_run
    assert len(load_predictions(sst2_run.id)[0]) == len(load_predictions(sst2_run)[0]) == 200
    assert compare_runs(sst2_run.id, sst2_run.dir).p_value == 1.0
    with pytest.raises(WorkbenchError, match="there is no run 'nope' in runs"):
        predict_texts("nope", ["fine"])
    with pytest.raises(WorkbenchError, match="a run is given as a Run, its folder or its id, not a int"):
        predict_texts(42, ["fine"])
    with pytest.raises(WorkbenchError, match="there is no predictions file 'gone.jsonl'"):
        load_predictions("gone.jsonl")
    # One string is one text (not one text per character); a Series is texts; None is not text.
    assert predict_texts(sst2_run, "a gorgeous, witty film") == by_run
    assert predict_texts(sst2_run, pd.Series(["a gorgeous, witty film"])) == by_run
    with pytest.raises(WorkbenchError, match=r"text 2 is not text \(None\); give strings"):
        predict_texts(sst2_run, ["fine", None])
    for wrong in (5, b"fine", {"fine": 1}):
        with pytest.raises(WorkbenchError, match="give the texts as a string or a list of strings, not a"):
            predict_texts(sst2_run, wrong)
    # A DataFrame iterates over its column names: 'sentence' was labelled as the one text.
    with pytest.raises(WorkbenchError, match=r"give the texts as one column of the DataFrame, e.g. "
                                             r"frame\['sentence'\], not the whole DataFrame"):
        predict_texts(sst2_run, pd.DataFrame({"sentence": ["a gorgeous, witty film", "dull"]}))
    # Texts the model cannot read are labelled with a Python warning, as predict_run warns.
    with pytest.warns(UserWarning, match="are unknown"):
        predict_texts(sst2_run, [ARTICLE_1["Chinese"]])
    # Data paths as pathlib Paths; a DataFrame or an empty path gets what to give instead.
    dev = datasets_dir / "sst2" / "dev.tsv"
    labelled = predict_run(sst2_run, dev, output=tmp_path / "labelled.csv")
    assert labelled["rows"] == 872 and labelled["predictions"] == str(tmp_path / "labelled.csv")
    scored = evaluate_run(sst2_run, datasets_dir / "sst2", split="dev", output=tmp_path / "scored.jsonl")
    assert scored["split"] == "validation" and scored["predictions"] == str(tmp_path / "scored.jsonl")
    with pytest.raises(DataError, match="not a DataFrame; save a DataFrame first"):
        load_raw(pd.read_csv(dev, sep="\t"))
    with pytest.raises(DataError, match="no data path is given"):
        load_raw("")


def test_eval_finds_columns_named_otherwise_than_in_training(sst2_run, datasets_dir, tmp_path):
    # The run trained on 'sentence'; a file of the same rows under other names scores the same.
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(100)
    path = tmp_path / "renamed.csv"
    dev.rename(columns={"sentence": "review", "label": "polarity"}).to_csv(path, index=False)
    renamed = evaluate_run(sst2_run, str(path))
    dev.to_csv(tmp_path / "same.csv", index=False)
    assert renamed["metrics"] == evaluate_run(sst2_run, str(tmp_path / "same.csv"))["metrics"]
    with pytest.raises(WorkbenchError, match="columns names text_column, text_pair_column, label_column, not 'text'"):
        evaluate_run(sst2_run, str(path), columns={"text": "review"})
    # A string was taken letter by letter ("not 'e', 'i', 'r', 'v', 'w'"), a position ended in an AttributeError.
    with pytest.raises(WorkbenchError, match=r"^columns is a dict of column names, not a str; e.g. columns=\{"):
        evaluate_run(sst2_run, str(path), columns="review")
    with pytest.raises(WorkbenchError, match=r"^columns are named by their names, not text_column=0; e.g. columns="):
        evaluate_run(sst2_run, str(path), columns={"text_column": 0})


def test_pairs_are_not_labelled_by_their_first_text_alone(sst2_run, datasets_dir, tmp_path):
    mrpc = pd.read_json(datasets_dir / "mrpc" / "validation.jsonl", lines=True).head(20)
    path = tmp_path / "pairs.csv"
    mrpc[["sentence1", "sentence2"]].to_csv(path, index=False)
    with pytest.raises(WorkbenchError, match=r"was trained on single texts, but .* pairs 'sentence1' with "
                                             r"'sentence2'; name the one column to label with --text-column"):
        predict_run(sst2_run, str(path))
    assert predict_run(sst2_run, str(path), text_column="sentence2")["rows"] == 20
    # eval, as predict: the one column named is scored alone (it was refused with no way out).
    mrpc[["sentence1", "sentence2", "label"]].to_csv(path, index=False)
    with pytest.raises(WorkbenchError, match=r"was trained on single texts \('sentence'\), but .* pairs 'sentence1' "
                                             r"with 'sentence2'; name the one column to score with --text-column"):
        evaluate_run(sst2_run, path)
    assert evaluate_run(sst2_run, path, columns={"text_column": "sentence2"})["metrics"]["rows"] == 20


def test_eval_writes_its_predictions_into_a_new_folder_as_predict_does(sst2_run, datasets_dir, tmp_path):
    # A folder that does not exist yet failed after the scoring, with 'No such file or directory'.
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(20)
    dev.to_csv(tmp_path / "dev.csv", index=False)
    output = tmp_path / "results" / "scored.jsonl"
    scored = evaluate_run(sst2_run, tmp_path / "dev.csv", output=output)
    assert scored["predictions"] == str(output) and len(output.read_text().splitlines()) == 20


def test_eval_names_the_rows_it_checks_as_what_they_are_not_as_training_rows(sst2_run, datasets_dir, tmp_path):
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(20)
    dev.loc[3, "sentence"] = ""
    dev.to_csv(tmp_path / "scored.csv", index=False)
    with pytest.raises(DataError) as err:
        evaluate_run(sst2_run, tmp_path / "scored.csv")
    assert str(err.value).startswith("Data check failed: scored.csv 20 rows; columns: text 'sentence', label 'label'")
    assert "[all rows] empty text in column 'sentence'" in str(err.value)
    folder = tmp_path / "folder"
    folder.mkdir()
    dev.to_csv(folder / "test.csv", index=False)
    dev.to_csv(folder / "train.csv", index=False)
    with pytest.raises(DataError, match=r"^Data check failed: test 20 rows; .*\n- ERROR: \[test\] empty text"):
        evaluate_run(sst2_run, folder)


def test_predictions_the_disk_cannot_hold_leave_no_half_written_file(sst2_run, datasets_dir, tmp_path, make_small_disk):
    # The half-written file stayed behind, hidden (.NAME.tmp), holding the space the error was about.
    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(200)
    dev.to_csv(tmp_path / "dev.csv", index=False)
    disk = make_small_disk(1)
    (disk / "filler").write_bytes(b"\0" * (2**20 - 16 * 2**10))  # 16 KB left; 200 rows take about 50
    with pytest.raises(WorkbenchError, match="No space left on device; choose another --output"):
        predict_run(sst2_run, tmp_path / "dev.csv", output=disk / "labelled.jsonl")
    with pytest.raises(WorkbenchError, match="No space left on device; choose another --output"):
        evaluate_run(sst2_run, tmp_path / "dev.csv", output=disk / "scored.jsonl")
    assert [f.name for f in disk.iterdir()] == ["filler"]
