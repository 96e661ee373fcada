"""The Train tab's own helpers (the whole tab is driven in a real browser in tests/browser/)."""

from __future__ import annotations

from transformers import BertConfig

from workbench.ui.train_tab import lr_info


def test_the_learning_rate_hint_says_what_auto_means_for_this_method_and_model(tmp_path):
    runs = str(tmp_path / "runs")
    assert lr_info("lora", "minilm-l6", runs) == "auto = 0.001 for LoRA"
    assert lr_info("full", "minilm-l6", runs) == "auto = 0.0001 for Full fine-tuning"
    BertConfig(hidden_size=768).save_pretrained(tmp_path / "bert-base-like")
    assert lr_info("full", str(tmp_path / "bert-base-like"), runs) == "auto = 0.0001 for Full fine-tuning"
    BertConfig(hidden_size=1536).save_pretrained(tmp_path / "wide")
    assert lr_info("full", str(tmp_path / "wide"), runs) == \
        "auto = 5e-05 for Full fine-tuning on this model (hidden size 1536)"
    # A model that cannot be read yet gets the measured default; Start then names the problem.
    assert lr_info("full", str(tmp_path / "missing"), runs) == "auto = 0.0001 for Full fine-tuning"


def test_a_long_message_is_cut_at_a_word_in_the_toast_and_stars_stay_stars():
    from workbench.errors import WorkbenchError
    from workbench.ui.data_panel import escape_markdown
    from workbench.ui.train_tab import toast_text

    long = WorkbenchError("data path 'x' does not exist; " + "give a file or a folder, " * 20 + "or hub:<id>\nmore")
    toast = toast_text(long)
    assert len(toast) <= 402 and toast.endswith(" a …") and "\n" not in toast  # whole words, then …
    assert toast_text(WorkbenchError("short\nsecond line")) == "short"
    assert toast_text(WorkbenchError("x" * 500)) == "x" * 400 + " …"  # one long word: cut at the limit
    assert escape_markdown("name the files train.*, dev.* or <id>") == r"name the files train.\*, dev.\* or &lt;id&gt;"
