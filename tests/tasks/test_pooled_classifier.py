"""A run's model folder outside the workbench: plain transformers loads the same classifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

LOAD_WITHOUT_WORKBENCH = """
import json, sys
import torch
sys.modules["workbench"] = None  # where the model is deployed, the workbench is not installed
from transformers import AutoModelForSequenceClassification, AutoTokenizer

folder, texts, max_length = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
with torch.no_grad():
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    probs = model(**batch).logits.softmax(-1)
print(json.dumps({"class": type(model).__name__, "labels": [model.config.id2label[i] for i in range(2)],
                  "probs": probs.tolist()}))
"""


def assert_loads_without_workbench(folder, predictions_path, max_length: int, tmp_path) -> dict:
    """Load `folder` with plain transformers in a process that cannot import the workbench, and
    check it gives the first eval predictions of the run that made it."""
    predictions = [json.loads(line) for line in predictions_path.read_text().splitlines()][:8]
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_WORKBENCH, str(folder),
                          json.dumps([p["text"] for p in predictions]), str(max_length)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    for prediction, probs in zip(predictions, loaded["probs"]):
        assert probs == pytest.approx([prediction["probabilities"][n] for n in ("negative", "positive")], abs=1e-4)
    return loaded


def test_plain_transformers_loads_a_run_model_and_predicts_what_the_run_did(sst2_run, tmp_path):
    folder = sst2_run.model_dir
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == {"AutoModelForSequenceClassification": "pooled_classifier.PooledClassifier"}
    assert "import workbench" not in (folder / "pooled_classifier.py").read_text()
    loaded = assert_loads_without_workbench(folder, sst2_run.predictions_path, 64, tmp_path)
    assert loaded["class"] == "PooledClassifier" and loaded["labels"] == ["negative", "positive"]


def activations_kept(model, batch) -> tuple[int, torch.Tensor]:
    """Bytes of the tensors the forward pass keeps for the backward pass (each storage once, the
    weights left out), and the loss."""
    weights = {p.data_ptr() for p in model.parameters()}
    kept = {}

    def pack(tensor):
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in weights:
            kept[pointer] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = model(**batch).loss
    return sum(kept.values()), loss


def test_activation_checkpointing_keeps_a_fraction_of_the_activations_for_the_same_gradients():
    from transformers import AutoTokenizer

    from workbench.catalog import resolve_model
    from workbench.tasks.pooled_classifier import PooledClassifier

    path = resolve_model("minilm-l6").path
    tokenizer = AutoTokenizer.from_pretrained(path)
    batch = tokenizer(["a gorgeous, witty, seductive movie", "the plot is nothing but boilerplate clichés"] * 8,
                      padding="max_length", max_length=128, return_tensors="pt")
    batch["labels"] = torch.tensor([1, 0] * 8)
    kept, gradients = [], []
    for checkpointing in (False, True):
        model = PooledClassifier.from_encoder(path, {0: "negative", 1: "positive"}, "mean").train()
        torch.manual_seed(0)
        model.classifier.reset_parameters()
        if checkpointing:  # what the Trainer does for train.activation_checkpointing
            model.activation_checkpointing_enable()
        torch.manual_seed(1)  # the same dropout masks
        size, loss = activations_kept(model, batch)
        loss.backward()
        kept.append(size)
        gradients.append([p.grad for p in model.parameters()])
    assert kept[1] < kept[0] / 10, kept  # measured: 546 MB against 24 MB
    for before, after in zip(*gradients):
        assert torch.allclose(before, after, atol=1e-6)
