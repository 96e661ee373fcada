"""What the Train form shows about a base model when it is picked (built on the meta device)."""

from __future__ import annotations

import pytest

from workbench.errors import ConfigError
from workbench.ui.model_info import model_info


def test_the_bundled_encoder_is_described_with_its_layers_and_lora_modules(tmp_path):
    info = model_info("minilm-l6", str(tmp_path))
    assert (info.source, info.model_type, info.layers) == ("bundled", "bert", 6)
    assert set(info.target_modules) == {"query", "key", "value", "dense"}


def test_an_encoder_decoder_is_described_by_its_encoder_or_refused_when_it_is_picked(
        tiny_t5_folder, tiny_bart_folder, tmp_path):
    t5 = model_info(str(tiny_t5_folder), str(tmp_path))
    assert (t5.source, t5.model_type, t5.layers) == ("folder", "t5", 2)
    assert set(t5.target_modules) == {"q", "k", "v", "o", "wi", "wo"}
    with pytest.raises(ConfigError, match=r"is an encoder-decoder model \(bart\) whose encoder cannot be used alone"):
        model_info(str(tiny_bart_folder), str(tmp_path))
