"""What the views read from a run folder: the model, once, for full and LoRA runs; clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from workbench.analysis import attention_maps, embed, integrated_gradients, load_model, load_predictions
from workbench.errors import WorkbenchError
from tests.finished_runs import finished_run


def test_the_model_is_loaded_once_with_eager_attention(sst2_run, sst2_model):
    model, tokenizer, max_length = sst2_model
    assert load_model(sst2_run) is sst2_model  # kept in memory between views
    assert max_length == 64 and not model.training
    assert model.config._attn_implementation == "eager"
    predictions, labels = load_predictions(sst2_run)
    first = predictions.iloc[0]
    with torch.inference_mode():
        logits = model(**tokenizer(first["text"], truncation=True, max_length=max_length, return_tensors="pt")).logits
    probs = torch.softmax(logits[0].float(), -1).numpy()
    np.testing.assert_allclose(probs, [first["probabilities"][name] for name in labels], atol=1e-4)


def test_a_run_without_its_model_says_so(copied_run):
    with pytest.raises(WorkbenchError, match="has no final model"):
        load_model(copied_run)


def test_a_damaged_model_file_is_named_with_the_fix(sst2_run, tmp_path):
    # A weights file cut short (a full disk, a copy stopped half way) was "This view failed
    # unexpectedly (SafetensorError ...)" in every Analyze view that needs the model.
    from workbench.runs.store import Run

    copy = Run(tmp_path / sst2_run.id)
    shutil.copytree(sst2_run.dir, copy.dir, ignore=shutil.ignore_patterns("checkpoints"))
    weights = copy.model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1_000_000])
    with pytest.raises(WorkbenchError) as refused:
        load_model(copy)
    assert str(refused.value).startswith(f"the model of run {copy.id} ({copy.model_dir}) could not be loaded: "
                                         "SafetensorError: ")
    assert str(refused.value).endswith("if its files were damaged, train the run again")


@pytest.fixture(scope="module")
def lora_run(datasets_dir, tmp_path_factory):
    """A tiny LoRA run (a few steps): the adapter is merged into the base model for analysis."""
    return finished_run({
        "model": {"name": "minilm-l6"},
        "task": {"max_length": 32},
        "method": {"type": "lora", "lora": {"r": 4}},
        "data": {"path": str(datasets_dir / "sst2"), "max_train_samples": 64, "max_eval_samples": 24,
                 "label_names": ["negative", "positive"]},
        "train": {"max_steps": 4, "batch_size": 16, "eval_steps": 100, "save_steps": 100, "logging_steps": 2},
    }, tmp_path_factory.mktemp("lora_runs"))


def test_a_lora_run_is_analysed_through_its_merged_model(lora_run):
    assert (lora_run.model_dir / "adapter_config.json").is_file()
    model, tokenizer, max_length = load_model(lora_run)
    assert max_length == 32 and not any("lora" in name for name, _ in model.named_parameters())
    predictions, labels = load_predictions(lora_run)
    att = attention_maps(model, tokenizer, "a charming , funny film .", max_length=max_length)
    assert att.attentions.shape[:2] == (6, 12) and set(att.probabilities) == set(labels)
    ig = integrated_gradients(model, tokenizer, "a charming , funny film .", max_length=max_length, precision="fp32")
    assert abs(ig.delta) < 0.02 * abs(ig.score_input - ig.score_baseline) + 0.01
    vectors = embed(model, tokenizer, predictions["text"].tolist(), max_length=max_length, precision="fp32")
    with torch.inference_mode():
        predicted = model.classifier(torch.as_tensor(vectors)).argmax(-1).numpy()
    assert (predicted == predictions["predicted_id"].to_numpy()).all()


def test_a_copied_run_folder_still_loads(lora_run, tmp_path):
    """The run folder is self-contained: a copy elsewhere analyses the same."""
    from workbench.runs.store import Run

    copy = Run(tmp_path / "elsewhere" / lora_run.id)
    shutil.copytree(lora_run.dir, copy.dir, ignore=shutil.ignore_patterns("checkpoints"))
    model, tokenizer, _ = load_model(copy)
    original, _, _ = load_model(lora_run)
    ids = tokenizer("a charming , funny film .", return_tensors="pt")
    with torch.inference_mode():
        torch.testing.assert_close(model(**ids).logits, original(**ids).logits)
