"""Tokens as a reader should see them in charts and tooltips.

Byte-level BPE tokenizers (GPT-2, Llama 3, SmolLM2) name their pieces with the bytes mapped to
printable stand-ins: a leading space is "Ġ", a newline "Ċ", so "Ġrefund" would label an axis.
Each piece is decoded on its own instead. WordPiece pieces come back unchanged ("##ing"
marks a piece that continues a word, as BertViz shows it), and special tokens keep their names.
"""

from __future__ import annotations

WHITESPACE_SIGNS = {"\n": "↵", "\t": "⇥"}


def readable_tokens(tokenizer, ids: list[int]) -> list[str]:
    pieces = tokenizer.convert_ids_to_tokens(ids)
    return [_readable(tokenizer, piece) for piece in pieces]


def _readable(tokenizer, piece: str) -> str:
    if piece in tokenizer.all_special_tokens:
        return piece
    text = tokenizer.convert_tokens_to_string([piece])
    shown = text.strip(" ")
    for sign, mark in WHITESPACE_SIGNS.items():
        shown = shown.replace(sign, mark)
    return shown or "␣"  # a piece that is only spaces still needs a visible label
