"""Model catalog: bundled models, local folders, earlier runs, and the offline Hub error."""

import json

import pytest

from workbench.catalog import bundled_model_path, resolve_model, sentence_transformers_pooling
from workbench.errors import ModelNotFoundError


def test_bundled_minilm_is_a_hugging_face_folder_with_mean_pooling():
    resolved = resolve_model("minilm-l6")
    assert resolved.source == "bundled"
    config = json.loads((bundled_model_path("minilm-l6") / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 384
    assert sentence_transformers_pooling(resolved.path) == "mean"


@pytest.mark.slow
def test_bundled_smollm2_converts_once_to_safetensors(tmp_path, monkeypatch):
    from transformers import AutoConfig

    path = bundled_model_path("smollm2-135m-instruct")  # first call converts (~30 s), then cached
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert AutoConfig.from_pretrained(path).model_type == "llama"
    assert bundled_model_path("smollm2-135m-instruct") == path
    # The dequantized weights are the real model: it answers a simple question.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                           tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0][ids["input_ids"].shape[1]:])


def test_local_folder_and_missing_folder(tmp_path):
    model_dir = bundled_model_path("minilm-l6")
    assert resolve_model(str(model_dir)).source == "folder"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(str(tmp_path / "no-such-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_offline_hub_id_explains_how_to_fix():
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("some-org/a-model-that-is-not-cached")
    message = str(err.value)
    assert "offline" in message and "bundled model" in message and "folder path" in message


def test_unknown_run(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no run 'nope'"):
        resolve_model("run:nope", runs_dir=tmp_path)
