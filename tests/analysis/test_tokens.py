"""Tokens shown in charts: byte-level BPE stand-ins decoded, WordPiece pieces as they are."""

from transformers import AutoTokenizer

from workbench.analysis.tokens import readable_tokens
from workbench.catalog import bundled_model_path

TEXT = "Please refund my order,\n  the parcel never came. Unbelievably slow!"


def test_byte_level_pieces_read_as_text():
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("smollm2-135m-instruct"))
    ids = tokenizer(TEXT)["input_ids"]
    raw = tokenizer.convert_ids_to_tokens(ids)
    assert "Ġrefund" in raw  # what a chart would have shown
    shown = readable_tokens(tokenizer, ids)
    assert shown[:4] == ["Please", "refund", "my", "order"]
    assert not any("Ġ" in t or "Ċ" in t for t in shown)
    assert any("↵" in t for t in shown)  # the newline stays visible
    assert all(shown)
    assert "".join(shown).replace("↵", "") == "".join(TEXT.split())  # nothing lost but spaces


def test_wordpiece_pieces_and_special_tokens_unchanged():
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("minilm-l6"))
    ids = tokenizer(TEXT)["input_ids"]
    assert readable_tokens(tokenizer, ids) == tokenizer.convert_ids_to_tokens(ids)
    assert "##und" in readable_tokens(tokenizer, ids)  # "refund" is two pieces
