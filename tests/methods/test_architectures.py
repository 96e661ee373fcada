"""Each method on the architectures users bring most (tiny random models of each, built from their
configs): the head and method build, a padded batch trains one step, and only what the method
trains receives gradients. GPT-2's LoRA failed this way before its Conv1D layers were targeted."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig

from workbench.config import RunConfig
from workbench.methods import METHODS
from workbench.tasks.pooled_classifier import PooledClassifier, encoder_auto_class

SMALL = dict(vocab_size=500, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
ARCHITECTURES = {
    "bert": (SMALL, "mean"),
    "roberta": (dict(SMALL, pad_token_id=1), "mean"),
    "deberta-v2": (SMALL, "mean"),
    "electra": (dict(SMALL, embedding_size=16), "mean"),
    "modernbert": (dict(SMALL, pad_token_id=0), "mean"),
    "distilbert": (dict(vocab_size=500, dim=32, hidden_dim=64, n_layers=2, n_heads=2), "mean"),
    "gpt2": (dict(vocab_size=500, n_embd=32, n_layer=2, n_head=2, n_positions=64), "last"),
    "llama": (dict(SMALL, num_key_value_heads=1), "last"),
    "qwen2": (dict(SMALL, num_key_value_heads=1), "last"),
    "t5": (dict(vocab_size=500, d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16), "mean"),  # its encoder
}


@pytest.mark.parametrize("method", ["full", "freeze", "lora"])
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_each_method_trains_a_step_on_each_architecture(architecture, method):
    settings, pooling = ARCHITECTURES[architecture]
    torch.manual_seed(0)
    config = AutoConfig.for_model(architecture, **settings)
    encoder = encoder_auto_class(config).from_config(config)
    model = PooledClassifier.from_encoder_module(encoder, {0: "negative", 1: "positive"}, pooling)
    cfg = RunConfig.from_dict({"method": {"type": method, "lora": {"r": 4}, "freeze": {"trainable_layers": 1}}})
    model = METHODS[method].apply(model, cfg.resolve())
    ids = torch.randint(5, 500, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # a padded row
    model.train()
    out = model(input_ids=ids, attention_mask=mask, labels=torch.tensor([0, 1, 1]))
    out.loss.backward()
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trained and all(p.grad is not None for name, p in model.named_parameters() if name in trained
                           and "classifier" in name)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for name, p in model.named_parameters()
               if name in trained and "classifier" not in name)  # the body learns too
    frozen = [p for p in model.parameters() if not p.requires_grad]
    if method == "full":
        assert not frozen
    else:
        assert frozen and all(p.grad is None for p in frozen)
    if method == "lora":
        assert all("lora_" in name or "classifier" in name for name in trained)


@pytest.mark.parametrize("method", ["full", "lora"])
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_activation_checkpointing_gives_the_same_gradients_on_each_architecture(architecture, method):
    settings, pooling = ARCHITECTURES[architecture]
    gradients = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        config = AutoConfig.for_model(architecture, **settings)
        model = PooledClassifier.from_encoder_module(encoder_auto_class(config).from_config(config),
                                                     {0: "negative", 1: "positive"}, pooling)
        cfg = RunConfig.from_dict({"method": {"type": method, "lora": {"r": 4}}})
        model = METHODS[method].apply(model, cfg.resolve())
        if checkpointing:  # what the Trainer does for train.activation_checkpointing
            model.activation_checkpointing_enable()
            assert sum(getattr(m, "gradient_checkpointing", False) is True for m in model.modules()) >= 2
        torch.manual_seed(1)  # the same dropout masks
        ids = torch.randint(5, 500, (3, 12))
        mask = torch.ones_like(ids)
        mask[1, 8:] = 0
        model.train()
        model(input_ids=ids, attention_mask=mask, labels=torch.tensor([0, 1, 1])).loss.backward()
        gradients.append({name: p.grad for name, p in model.named_parameters() if p.grad is not None})
    assert gradients[0].keys() == gradients[1].keys()
    for name, gradient in gradients[0].items():
        assert torch.allclose(gradient, gradients[1][name], atol=1e-6), name
