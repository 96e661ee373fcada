"""The app's workspace: uploads are kept under their own names, a changed file beside the old one."""

from workbench.data.load import load_raw
from workbench.ui.workspace import Workspace


def test_a_second_upload_with_the_same_name_keeps_its_data_suffix(tmp_path):
    import gzip

    ws = Workspace(tmp_path / "ws").create()
    first, second = tmp_path / "a" / "train.csv.gz", tmp_path / "b" / "train.csv.gz"
    for path, text in ((first, "text,label\ngood,1\nbad,0\n"), (second, "text,label\nfine,1\nawful,0\n")):
        path.parent.mkdir()
        path.write_bytes(gzip.compress(text.encode()))
    kept_first, kept_again, kept_second = ws.keep_upload(first), ws.keep_upload(first), ws.keep_upload(second)
    assert kept_first == kept_again == ws.uploads_dir / "train.csv.gz"
    assert kept_second != kept_first and kept_second.name.startswith("train-")
    assert kept_second.name.endswith(".csv.gz")
    assert load_raw(str(kept_second)).splits["train"].frame["text"].tolist() == ["fine", "awful"]
