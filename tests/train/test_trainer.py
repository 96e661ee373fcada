"""WorkbenchTrainer's optimizer: the head's own learning rate, and train.layer_decay lowering the
body's layer by layer downwards, on the real optimizer the Trainer builds."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, TrainingArguments

from workbench.catalog import resolve_model
from workbench.config import RunConfig
from workbench.methods import METHODS
from workbench.tasks.pooled_classifier import PooledClassifier
from workbench.train.trainer import WorkbenchTrainer


def rates_by_parameter(model, tmp_path, layer_decay: float) -> dict[str, float]:
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-4, use_cpu=True, report_to=[])
    trainer = WorkbenchTrainer(model=model, args=args, head_learning_rate=1e-3, layer_decay=layer_decay)
    optimizer = trainer.create_optimizer()
    by_id = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return {name: by_id[id(p)] for name, p in model.named_parameters() if p.requires_grad}


def test_layer_decay_lowers_the_rate_layer_by_layer_down_to_the_embeddings(tmp_path):
    model = PooledClassifier.from_encoder(resolve_model("minilm-l6").path, {0: "negative", 1: "positive"}, "mean")
    flat = rates_by_parameter(model, tmp_path, 1.0)
    assert {rate for name, rate in flat.items() if "classifier" not in name} == {1e-4}
    rates = rates_by_parameter(model, tmp_path, 0.8)
    assert rates["bert.encoder.layer.5.attention.self.query.weight"] == pytest.approx(1e-4)  # the top layer
    assert rates["bert.encoder.layer.4.output.dense.bias"] == pytest.approx(0.8e-4)
    assert rates["bert.encoder.layer.0.intermediate.dense.weight"] == pytest.approx(1e-4 * 0.8 ** 5)
    assert rates["bert.embeddings.word_embeddings.weight"] == pytest.approx(1e-4 * 0.8 ** 6)
    assert rates["bert.embeddings.LayerNorm.weight"] == pytest.approx(1e-4 * 0.8 ** 6)
    assert rates["classifier.weight"] == rates["classifier.bias"] == 1e-3  # the head keeps its own


@pytest.mark.parametrize("architecture, settings, top, embeddings", [
    ("llama", dict(vocab_size=500, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                   num_attention_heads=2, num_key_value_heads=1), "layers.2.", "embed_tokens"),
    ("gpt2", dict(vocab_size=500, n_embd=32, n_layer=3, n_head=2, n_positions=64), "h.2.", "wte"),
    ("t5", dict(vocab_size=500, d_model=32, d_ff=64, num_layers=3, num_heads=2, d_kv=16), "block.2.", "shared"),
])
@pytest.mark.parametrize("method", ["full", "lora"])
def test_layer_decay_finds_the_layers_of_decoders_and_t5_with_each_method(architecture, settings, top, embeddings,
                                                                          method, tmp_path):
    from workbench.tasks.pooled_classifier import encoder_auto_class

    torch.manual_seed(0)
    config = AutoConfig.for_model(architecture, **settings)
    model = PooledClassifier.from_encoder_module(encoder_auto_class(config).from_config(config),
                                                 {0: "negative", 1: "positive"}, "last")
    model = METHODS[method].apply(model, RunConfig.from_dict({"method": {"type": method, "lora": {"r": 4}}}).resolve())
    rates = rates_by_parameter(model, tmp_path, 0.5)
    body = {name: rate for name, rate in rates.items() if "classifier" not in name}
    assert all(rate == pytest.approx(1e-4) for name, rate in body.items() if top in name)
    assert all(rate == pytest.approx(0.25e-4) for name, rate in body.items() if top.replace("2", "0") in name)
    assert any(top.replace("2", "0") in name for name in body)
    if method == "full":  # LoRA leaves the embeddings frozen
        assert all(rate == pytest.approx(0.125e-4) for name, rate in body.items() if embeddings in name)
        assert any(embeddings in name for name in body)
