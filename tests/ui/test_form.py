"""The Train form <-> RunConfig mapping (workbench/ui/form.py): pure functions, no browser."""

from __future__ import annotations

import shlex

import pytest

from workbench.cli import build_parser, config_from_args
from workbench.config import RunConfig
from workbench.errors import ConfigError
from workbench.ui.form import (AUTO, FIELDS, FORM_KEYS, NO_COLUMN, cli_command, config_to_form, devices_to_config,
                               devices_to_form, form_to_config)
from workbench.ui.train_tab import format_error

BERT_MODULES = ["query", "key", "value", "dense"]  # what model_info finds in a BERT-style block


def custom_config() -> RunConfig:
    """A config that differs from the defaults in every section the form edits."""
    return RunConfig.from_dict({
        "model": {"name": "run:20260101-000000-minilm-l6-full", "trust_remote_code": True},
        "task": {"pooling": "mean", "max_length": 64},
        "method": {"type": "lora", "lora": {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["query", "value"]},
                   "freeze": {"trainable_layers": 3}},
        "data": {"path": "/data/tickets.csv", "text_column": "body", "text_pair_column": None,
                 "label_column": "queue", "label_names": ["billing", "delivery"], "validation_fraction": 0.2,
                 "max_train_samples": 500, "max_eval_samples": None, "min_rows_per_class": 5},
        "train": {"epochs": 2.5, "max_steps": 100, "learning_rate": 3e-4, "head_learning_rate": "auto",
                  "batch_size": 8, "eval_batch_size": 32, "gradient_accumulation_steps": 2, "weight_decay": 0.0,
                  "layer_decay": 0.9,
                  "warmup": 10, "scheduler": "cosine", "max_grad_norm": 0.5, "logging_steps": 1,
                  "eval_steps": 25, "save_steps": "auto", "save_total_limit": 1, "seed": 7, "precision": "fp32",
                  "group_by_length": True, "dataloader_workers": 1, "activation_checkpointing": True,
                  "trainer_arguments": {"optim": "adafactor", "label_smoothing_factor": 0.1,
                                        "lr_scheduler_kwargs": {"power": 2.0}}},
        "devices": "0,1",
        "name": "tickets lora",
        "runs_dir": "/ws/runs",
    })


def test_every_config_field_but_runs_dir_has_a_form_field():
    def leaves(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield prefix + key

    edited = {f.path for f in FIELDS}
    assert set(leaves(RunConfig().to_dict())) - edited == {"runs_dir"}
    assert len(FORM_KEYS) == len(set(FORM_KEYS))


def test_defaults_show_the_runconfig_defaults():
    form = config_to_form(RunConfig())
    assert form["model"] == "minilm-l6"
    assert form["method"] == "full"
    assert form["learning_rate"] == AUTO and form["head_learning_rate"] == AUTO
    assert form["eval_steps"] == AUTO
    assert form["batch_size"] == 16 and form["epochs"] == 1.0 and form["max_steps"] == -1
    assert (form["lora_r"], form["lora_alpha"], form["lora_dropout"]) == (16, 32, 0.05)
    assert form["freeze_trainable_layers"] == 2
    assert form["text_pair_column"] == "auto" and form["label_names"] == ""
    assert form["max_train_samples"] == "" and form["data_seed"] == ""  # text boxes: empty = none
    assert form["name"] == ""
    # devices auto on a machine without GPUs: the CPU box is ticked.
    assert form["devices"] == ["cpu"]


def test_custom_config_round_trips_through_the_form():
    cfg = custom_config()
    form = config_to_form(cfg, BERT_MODULES, gpu_indices=["0", "1", "2"])
    assert form["lora_target_modules"] == ["query", "value"]
    assert form["devices"] == ["0", "1"]
    assert form["text_pair_column"] == NO_COLUMN
    assert form["label_names"] == "billing, delivery"
    assert form["learning_rate"] == "0.0003"
    assert form["trainer_arguments"] == "{optim: adafactor, label_smoothing_factor: 0.1, lr_scheduler_kwargs: {power: 2.0}}"
    back = form_to_config(form, runs_dir="/ws/runs", detected_modules=BERT_MODULES)
    assert back == cfg


def test_default_config_round_trips_except_auto_devices_become_the_cpu():
    cfg = RunConfig()
    cfg.data.path = "demo.csv"
    back = form_to_config(config_to_form(cfg), runs_dir=cfg.runs_dir)
    assert back.devices == "cpu"  # what "auto" means on a machine without GPUs
    back.devices = "auto"
    assert back == cfg


def test_a_value_no_choice_widget_can_show_is_refused_with_every_field():
    cfg = RunConfig.from_dict({"method": {"type": "qlora"}, "train": {"scheduler": "polynomial"},
                               "task": {"max_length": 4}})  # a bad number is for Start to report
    with pytest.raises(ConfigError) as caught:
        config_to_form(cfg)
    assert caught.value.problems == [
        ("method.type", "'qlora' is not available yet; choose one of full, freeze, lora"),
        ("train.scheduler", "'polynomial' is not a schedule; choose one of linear, cosine, constant_with_warmup"),
    ]


def test_all_detected_modules_ticked_is_saved_as_auto():
    form = config_to_form(RunConfig(), BERT_MODULES)
    assert form["lora_target_modules"] == BERT_MODULES  # auto ticks every detected module
    form["method"] = "lora"
    assert form_to_config(form, detected_modules=BERT_MODULES).method.lora.target_modules == AUTO
    form["lora_target_modules"] = ["value", "query"]
    assert form_to_config(form, detected_modules=BERT_MODULES).method.lora.target_modules == ["query", "value"]


def test_no_module_ticked_is_an_error_only_for_lora():
    form = config_to_form(RunConfig(), BERT_MODULES)
    form["lora_target_modules"] = []
    form["method"] = "lora"
    with pytest.raises(ConfigError) as err:
        form_to_config(form, detected_modules=BERT_MODULES)
    assert err.value.problems[0][0] == "method.lora.target_modules"
    assert "tick" in err.value.problems[0][1]
    form["method"] = "full"
    assert form_to_config(form, detected_modules=BERT_MODULES).method.lora.target_modules == AUTO


@pytest.mark.parametrize("text, expected", [("auto", AUTO), ("", AUTO), (" AUTO ", AUTO), ("1e-4", 1e-4),
                                            ("0.002", 0.002)])
def test_learning_rate_box_reads_auto_or_a_number(text, expected):
    form = config_to_form(RunConfig())
    form["learning_rate"] = text
    assert form_to_config(form).train.learning_rate == expected


def test_unreadable_fields_are_all_named_at_once():
    form = config_to_form(RunConfig())
    form["learning_rate"] = "fast"
    form["batch_size"] = 2.5
    form["weight_decay"] = None
    form["eval_steps"] = "12.5"
    form["trainer_arguments"] = "optim: adafactor, label_smoothing_factor: 0.1"  # braces forgotten
    with pytest.raises(ConfigError) as err:
        form_to_config(form)
    problems = dict(err.value.problems)
    assert set(problems) == {"train.learning_rate", "train.batch_size", "train.weight_decay", "train.eval_steps",
                             "train.trainer_arguments"}
    assert "'fast' is not a number or auto" in problems["train.learning_rate"]
    assert "not a whole number" in problems["train.batch_size"]
    assert "empty" in problems["train.weight_decay"]
    assert problems["train.trainer_arguments"] == (
        "'optim: adafactor, label_smoothing_factor: 0.1' cannot be read (mapping values are not allowed here); "
        "write name: value pairs in braces, e.g. {optim: adafactor, label_smoothing_factor: 0.1}")
    form["trainer_arguments"] = "adafactor"
    with pytest.raises(ConfigError, match="'adafactor' is not name: value pairs; write them in braces"):
        form_to_config(dict(form, learning_rate="auto", batch_size=16, weight_decay=0.0, eval_steps="auto"))


def test_negative_learning_rate_surfaces_one_clear_message():
    form = config_to_form(RunConfig())
    form["data_path"] = "demo.csv"
    form["learning_rate"] = "-0.001"
    cfg = form_to_config(form)  # readable, but not valid
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    message = format_error(err.value)
    assert message.startswith("✖ `train.learning_rate`")
    assert "positive number" in message
    assert "Traceback" not in message and "\n" not in message


def test_several_validation_problems_become_a_list():
    form = config_to_form(RunConfig())
    form["data_path"] = ""
    form["batch_size"] = 0
    with pytest.raises(ConfigError) as err:
        form_to_config(form).validate()
    message = format_error(err.value)
    assert message.splitlines()[0] == "✖ **The config has problems:**"
    assert "- `data.path`: is empty" in message
    assert "- `train.batch_size`: 0 must be at least 1" in message
    assert "hub:&lt;id&gt;" in message  # escaped: markdown would swallow <id> as an HTML tag


def test_optional_numbers_and_label_names():
    form = config_to_form(RunConfig())
    form.update(max_train_samples=" ", max_eval_samples="200", data_seed="0", label_names=" neg , pos,, ", name="  ")
    cfg = form_to_config(form)
    assert cfg.data.max_train_samples is None  # empty = all rows
    assert cfg.data.max_eval_samples == 200
    assert cfg.data.seed == 0  # a seed of 0 is a seed, not "empty" (it used to be unreachable)
    assert config_to_form(cfg)["data_seed"] == "0"
    assert cfg.data.label_names == ["neg", "pos"]
    assert cfg.name is None
    form.update(max_train_samples="many")
    with pytest.raises(ConfigError) as err:
        form_to_config(form)
    assert err.value.problems == [("data.max_train_samples", "'many' is not a whole number")]
    form.update(max_train_samples="0")  # read as the number it is; Start's validation names the fix
    with pytest.raises(ConfigError, match="0 must be a positive number of rows, or empty for all"):
        form_to_config(form).validate()


@pytest.mark.parametrize("ticked, expected", [(["cpu"], "cpu"), ([], AUTO), (["0"], "0"), (["2", "0"], "0,2"),
                                              (["10", "9"], "9,10")])
def test_devices_to_config(ticked, expected):
    assert devices_to_config(ticked) == expected


def test_cpu_and_gpus_together_is_refused():
    with pytest.raises(ValueError, match="either the CPU or GPUs"):
        devices_to_config(["cpu", "0"])
    form = config_to_form(RunConfig())
    form["devices"] = ["cpu", "1"]
    with pytest.raises(ConfigError) as err:
        form_to_config(form)
    assert err.value.problems[0][0] == "devices"


def test_devices_to_form():
    assert devices_to_form(AUTO, ["0", "1"]) == ["0", "1"]  # auto = every GPU
    assert devices_to_form(AUTO, []) == ["cpu"]
    assert devices_to_form("cpu", ["0"]) == ["cpu"]
    assert devices_to_form("0, 3") == ["0", "3"]


@pytest.mark.parametrize("make", [RunConfig, custom_config])
def test_cli_command_builds_the_same_config(make):
    cfg = make()
    cfg.runs_dir = "runs"  # the command names runs_dir only when it differs from the default
    command = cli_command(cfg)
    words = shlex.split(command)
    assert words[:2] == ["workbench", "train"]
    args = build_parser().parse_args(words[1:])
    assert config_from_args(args) == cfg


def test_cli_command_uses_flags_for_common_settings():
    cfg = RunConfig()
    cfg.data.path = "my data.csv"
    cfg.train.max_steps = 40
    cfg.method.type = "lora"
    cfg.method.lora.r = 4
    command = cli_command(cfg)
    assert "--max-steps 40" in command
    assert "--data 'my data.csv'" in command
    assert "--method lora" in command
    assert "--set method.lora.r=4" in command
    assert "--batch-size" not in command  # defaults are left out
