"""LoRA on the layer kinds transformers builds: nn.Linear (BERT, Llama) and Conv1D (GPT-2)."""

from __future__ import annotations

import json

from tests.train.test_training import assert_model_predicts_what_its_run_did, tiny_config
from workbench.catalog import resolve_model
from workbench.config import RunConfig
from workbench.runs.store import create_run
from workbench.tasks.classify import meta_model
from workbench.train.main import execute


def test_auto_targets_every_linear_layer_kind_of_the_blocks(tiny_gpt2_folder):
    from workbench.methods.lora import default_target_modules

    bert = meta_model(RunConfig().resolve(), resolve_model("minilm-l6"), 2, with_method=False)
    assert default_target_modules(bert) == ["dense", "key", "query", "value"]
    cfg = RunConfig.from_dict({"model": {"name": str(tiny_gpt2_folder)}}).resolve()
    gpt2 = meta_model(cfg, resolve_model(str(tiny_gpt2_folder)), 2, with_method=False)
    assert default_target_modules(gpt2) == ["c_attn", "c_fc", "c_proj"]  # Conv1D, not nn.Linear


def test_a_lora_run_on_conv1d_layers_trains_and_its_merged_model_predicts_as_the_run_did(
        tiny_gpt2_folder, datasets_dir, tmp_path):
    cfg = tiny_config(datasets_dir, tmp_path, "lora", max_steps=2)
    cfg.model.name = str(tiny_gpt2_folder)
    run = create_run(cfg.resolve())
    status = execute(run)
    assert status["status"] == "finished", status.get("error")  # was: "No modules were targeted"
    adapter = json.loads((run.model_dir / "adapter_config.json").read_text())
    assert sorted(adapter["target_modules"]) == ["c_attn", "c_fc", "c_proj"] and adapter["fan_in_fan_out"]

    # Merging reads the Conv1D weights the right way round: the merged model gives the run's scores.
    assert_model_predicts_what_its_run_did(run.model_dir, run.predictions_path)
