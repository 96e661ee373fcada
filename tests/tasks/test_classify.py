"""Pooling that suits the checkpoint: the bundled encoder's mean, a causal decoder's last token."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from workbench.catalog import bundled_model_path, resolve_model
from workbench.config import RunConfig
from workbench.errors import ConfigError
from workbench.tasks.classify import build_model, check_model, collator, is_causal_decoder
from workbench.tasks.pooled_classifier import PooledClassifier

LABELS = {0: "negative", 1: "positive"}
TEXTS = ["a charming and often affecting journey", "dull", "the plot goes nowhere and the jokes fall flat"]


def config(model: str, pooling: str = "auto") -> RunConfig:
    return RunConfig.from_dict({"model": {"name": model}, "task": {"pooling": pooling}}).resolve()


@pytest.fixture(scope="module")
def smollm2():
    path = bundled_model_path("smollm2-135m-instruct")
    return path, AutoTokenizer.from_pretrained(path)


def test_auto_pooling_suits_each_bundled_model():
    assert check_model(config("minilm-l6"), resolve_model("minilm-l6")) == "mean"  # its 1_Pooling
    assert check_model(config("smollm2-135m-instruct"), resolve_model("smollm2-135m-instruct")) == "last"
    assert check_model(config("smollm2-135m-instruct", "mean"), resolve_model("smollm2-135m-instruct")) == "mean"


def test_cls_pooling_on_a_causal_decoder_is_refused_with_the_fix():
    with pytest.raises(ConfigError) as err:
        check_model(config("smollm2-135m-instruct", "cls"), resolve_model("smollm2-135m-instruct"))
    assert err.value.problems[0][0] == "task.pooling"
    assert "first token has seen nothing after it; use last" in str(err.value)
    # An encoder's [CLS] token reads the whole text: allowed there.
    assert check_model(config("minilm-l6", "cls"), resolve_model("minilm-l6")) == "cls"


def test_an_encoder_decoder_classifies_with_its_encoder_or_is_refused_before_the_run(tiny_t5_folder,
                                                                                     tiny_bart_folder):
    assert check_model(config(str(tiny_t5_folder)), resolve_model(str(tiny_t5_folder))) == "mean"
    with pytest.raises(ConfigError) as err:  # BART's encoder is not built alone by transformers
        check_model(config(str(tiny_bart_folder)), resolve_model(str(tiny_bart_folder)))
    assert err.value.problems == [("model.name", (
        f"'{tiny_bart_folder}' is an encoder-decoder model (bart) whose encoder cannot be used alone; "
        "classification trains a text encoder (BERT, RoBERTa, DeBERTa, MiniLM, e.g. minilm-l6; T5's encoder "
        "too) or a decoder-only model (Llama, Qwen, GPT-2, e.g. smollm2-135m-instruct): choose one of those"))]


def test_freeze_deeper_than_the_model_is_refused_before_the_run():
    cfg = RunConfig.from_dict({"model": {"name": "minilm-l6"},
                               "method": {"type": "freeze", "freeze": {"trainable_layers": 7}}}).resolve()
    with pytest.raises(ConfigError) as err:
        check_model(cfg, resolve_model("minilm-l6"))
    assert err.value.problems == [("method.freeze.trainable_layers",
                                   "7 is more than the model's 6 layers; use at most 6, or method full")]
    cfg.method.freeze.trainable_layers = 6  # all of them: allowed
    assert check_model(cfg, resolve_model("minilm-l6")) == "mean"


def test_a_max_length_beyond_the_models_positions_is_refused_before_the_run():
    # It used to fail mid-run: "The size of tensor a (902) must match the size of tensor b (512)".
    cfg = RunConfig.from_dict({"model": {"name": "minilm-l6"}, "task": {"max_length": 2048}}).resolve()
    with pytest.raises(ConfigError) as err:
        check_model(cfg, resolve_model("minilm-l6"))
    assert err.value.problems == [("task.max_length", "2048 is more tokens than this model can read "
                                   "(512); set task.max_length to 512 or less")]
    cfg.task.max_length = 512  # every position: allowed
    assert check_model(cfg, resolve_model("minilm-l6")) == "mean"


def test_a_lora_rank_past_the_hidden_size_is_refused_before_the_run():
    cfg = RunConfig.from_dict({"model": {"name": "minilm-l6"}, "method": {"type": "lora", "lora": {"r": 1000}}}).resolve()
    with pytest.raises(ConfigError) as err:
        check_model(cfg, resolve_model("minilm-l6"))
    assert err.value.problems == [("method.lora.r", "1,000 is more than the model's hidden size (384), so the "
                                   "adapter would be larger than the layers it adapts; use 8 to 64, or method full")]
    cfg.method.lora.r = 384  # as large as the layers: allowed
    assert check_model(cfg, resolve_model("minilm-l6")) == "mean"


def test_lora_modules_are_checked_against_the_model_before_the_run():
    cfg = RunConfig.from_dict({"model": {"name": "smollm2-135m-instruct"}, "method": {"type": "lora", "lora": {
        "target_modules": ["q_proj", "v_proj", "query"]}}}).resolve()
    with pytest.raises(ConfigError) as err:
        check_model(cfg, resolve_model("smollm2-135m-instruct"))
    assert err.value.problems == [("method.lora.target_modules", "'query' is not a module of this model; its "
                                   "layers have down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, "
                                   "v_proj: pick from those, or auto")]
    cfg.method.lora.target_modules = "q_proj, v_proj"  # as the form's text box writes them
    assert check_model(cfg, resolve_model("smollm2-135m-instruct")) == "last"


def test_causal_decoders_are_told_apart_from_encoders():
    from transformers import AutoConfig

    assert is_causal_decoder(AutoConfig.from_pretrained(bundled_model_path("smollm2-135m-instruct")))
    assert not is_causal_decoder(AutoConfig.from_pretrained(bundled_model_path("minilm-l6")))


def test_last_pooling_takes_the_last_real_token_whichever_side_pads():
    model = PooledClassifier.from_encoder(str(bundled_model_path("minilm-l6")), LABELS, "last")
    hidden = torch.arange(2 * 5 * 3, dtype=torch.float32).view(2, 5, 3)
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    torch.testing.assert_close(model.pool(hidden, right), torch.stack([hidden[0, 2], hidden[1, 4]]))
    torch.testing.assert_close(model.pool(hidden, left), torch.stack([hidden[0, 4], hidden[1, 4]]))


def test_a_decoder_classifier_scores_a_text_the_same_alone_and_in_a_padded_batch(smollm2):
    # The real SmolLM2 with the auto pooling: padding must not change what the head reads.
    path, tokenizer = smollm2
    tokenizer.padding_side = "left"  # as some decoder tokenizers ship for generation
    model = build_model(resolve_model("smollm2-135m-instruct"), LABELS, config("smollm2-135m-instruct")).eval()
    assert model.pooling == "last"
    pad = collator(tokenizer, on_gpu=False)
    assert tokenizer.padding_side == "right"
    batch = pad([tokenizer(text) for text in TEXTS])
    assert (batch["attention_mask"] == 0).any()  # the texts differ in length: real padding
    with torch.inference_mode():
        together = model(**batch).logits
        alone = torch.cat([model(**tokenizer(text, return_tensors="pt")).logits for text in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)


def test_texts_cut_at_max_length_are_counted_and_named(datasets_dir):
    # AG News descriptions run to ~40 words: at 32 tokens many are cut, at 256 none is.
    import datasets
    import pandas as pd

    from workbench.tasks.classify import tokenize, truncation_warning

    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").head(200)
    frame = pd.DataFrame({"text": news["content"], "label": news["label"] - 1})
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_pandas(frame[:150]),
                                   "validation": datasets.Dataset.from_pandas(frame[150:].reset_index(drop=True))})
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("minilm-l6"))
    short = tokenize(splits, tokenizer, 32)
    cut = sum(length == 32 for length in short["train"]["length"])
    assert 0 < cut < 150  # a real mix: some descriptions fit in 32 tokens
    message = truncation_warning(short, 32, 512)
    assert message.startswith(f"{cut} of 150 train texts ({100 * cut / 150:.1f} %) and ")
    assert "of 50 validation texts" in message
    assert "reach task.max_length (32 tokens) and are cut there; raise task.max_length (this model reads up to 512)" in message
    assert truncation_warning(tokenize(splits, tokenizer, 256), 256, 512) is None


def remote_code_folder(tmp_path) -> "Path":
    """MiniLM as a model with its own code (auto_map), as some Hub models ship: a config and a
    model class of its own type, written beside config.json."""
    import json
    import shutil

    folder = tmp_path / "own-code"
    shutil.copytree(bundled_model_path("minilm-l6"), folder, symlinks=True)
    (folder / "configuration_mini.py").write_text(
        "from transformers import BertConfig\n\n\nclass MiniConfig(BertConfig):\n    model_type = 'mini-own-code'\n")
    (folder / "modeling_mini.py").write_text(
        "from transformers import BertModel\n\nfrom .configuration_mini import MiniConfig\n\n\n"
        "class MiniModel(BertModel):\n    config_class = MiniConfig\n")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="mini-own-code", auto_map={"AutoConfig": "configuration_mini.MiniConfig",
                                                        "AutoModel": "modeling_mini.MiniModel"})
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_model_with_its_own_code_names_the_setting_that_runs_it(tmp_path):
    # It used to fail as an "unexpected" ValueError naming transformers' argument, not the setting.
    folder = remote_code_folder(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_model(config(str(folder)), resolve_model(str(folder)))
    assert err.value.problems == [("model.trust_remote_code", (
        f"'{folder}' brings its own model code (auto_map in its config.json), which runs only with "
        "model.trust_remote_code: true; set it (--set model.trust_remote_code=true) if you trust that code, "
        "or pick a model transformers has built in"))]
    trusted = RunConfig.from_dict({"model": {"name": str(folder), "trust_remote_code": True}}).resolve()
    assert check_model(trusted, resolve_model(str(folder))) == "mean"


def test_a_model_that_reads_no_text_is_refused_before_the_run(tmp_path):
    # A ViT folder used to pass check_model and fail in the tokenizer ("Couldn't instantiate the
    # backend tokenizer"), which is not what is wrong with it.
    from transformers import ViTConfig, ViTModel

    folder = tmp_path / "tiny-vit"
    ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       image_size=32, patch_size=16)).save_pretrained(folder)
    with pytest.raises(ConfigError) as err:
        check_model(config(str(folder)), resolve_model(str(folder)))
    assert err.value.problems[0] == ("model.name", (
        f"'{folder}' is not a text model (vit): it has no vocabulary to read text with; classification trains a "
        "text encoder (BERT, RoBERTa, DeBERTa, MiniLM, e.g. minilm-l6; T5's encoder too) or a decoder-only model "
        "(Llama, Qwen, GPT-2, e.g. smollm2-135m-instruct): choose one of those"))


def test_a_damaged_tokenizer_file_is_named_with_the_fix(tmp_path):
    # A tokenizer.json cut short used to fail as an "unexpected" JSONDecodeError.
    import shutil

    from workbench.errors import ModelNotFoundError
    from workbench.tasks.classify import load_tokenizer

    folder = tmp_path / "damaged-tokenizer"
    shutil.copytree(bundled_model_path("minilm-l6"), folder, symlinks=True)
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer.json").write_text('{"version": "1.0", "trunc')
    with pytest.raises(ModelNotFoundError) as err:
        load_tokenizer(config(str(folder)), resolve_model(str(folder)))
    assert str(err.value).startswith(f"the tokenizer in '{folder}' cannot be loaded (Unterminated string")
    assert str(err.value).endswith("); copy its tokenizer files (tokenizer.json, tokenizer_config.json, vocab.txt, "
                                   "...) again from the model it came from")


def test_a_lora_run_whose_base_folder_is_gone_is_refused_before_the_next_run(tiny_gpt2_folder, datasets_dir,
                                                                            tmp_path):
    # run:<id> of it used to pass the check, and the next run failed as it loaded the adapter's base
    # with transformers' "Repo id must be in the form 'repo_name'" (the folder's path read as a Hub id).
    import shutil

    from tests.train.test_training import tiny_config
    from workbench.errors import ModelNotFoundError
    from workbench.runs.store import create_run
    from workbench.tasks.classify import load_trained
    from workbench.train.main import execute

    base = tmp_path / "my-gpt2"
    shutil.copytree(tiny_gpt2_folder, base)
    cfg = tiny_config(datasets_dir, tmp_path / "runs", "lora", max_steps=1)
    cfg.model.name = str(base)
    run = create_run(cfg.resolve())
    assert execute(run)["status"] == "finished"
    base.rename(tmp_path / "moved")
    message = (f"the LoRA adapter in '{run.model_dir}' applies to the model at '{base}', which is gone (deleted "
               "or moved); put that folder back there, or train on another base model")
    for method in ("full", "lora"):
        follow_up = RunConfig.from_dict({"model": {"name": f"run:{run.id}"}, "method": {"type": method},
                                         "runs_dir": str(tmp_path / "runs")}).resolve()
        with pytest.raises(ModelNotFoundError) as err:
            check_model(follow_up, resolve_model(follow_up.model.name, follow_up.runs_dir))
        assert str(err.value) == message
    with pytest.raises(ModelNotFoundError, match="which is gone"):  # eval, predict and export load it so
        load_trained(run.model_dir)
