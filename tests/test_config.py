"""RunConfig: YAML round trip, overrides, defaults per method, and every validation message."""

import os

import pytest

from workbench.config import (DEFAULT_HEAD_LEARNING_RATE, DEFAULT_LEARNING_RATE, RunConfig, default_learning_rates,
                              ignored_method_settings, validation_problems)
from workbench.errors import ConfigError


def test_yaml_round_trip_keeps_every_field(tmp_path):
    cfg = RunConfig.from_dict({
        "model": {"name": "minilm-l6"},
        "method": {"type": "lora", "lora": {"r": 4, "target_modules": ["query", "value"]}},
        "data": {"path": "x.csv", "label_names": ["neg", "pos"], "max_train_samples": 100},
        "train": {"learning_rate": 3e-4, "epochs": 2},
    })
    path = tmp_path / "run.yaml"
    cfg.save(path)
    assert RunConfig.load(path) == cfg
    assert RunConfig.load(path).method.lora.target_modules == ["query", "value"]


def test_text_that_reads_as_a_number_survives_the_round_trip(tmp_path):
    # Saved bare, '1e1' loaded back as 10.0: the config of a run with such a label did not load.
    cfg = RunConfig.from_dict({"name": "1e3", "data": {"path": "x.csv", "text_column": "2E5", "label_names": ["1e1", "0"]},
                               "train": {"trainer_arguments": {"optim_args": "1e-3", "adam_epsilon": 1e-6}}})
    cfg.save(tmp_path / "run.yaml")
    assert RunConfig.load(tmp_path / "run.yaml") == cfg


def test_numbers_written_as_yaml_strings_are_read_as_numbers():
    # YAML 1.1 reads 1e-4 (no dot) as a string; users write it that way all the time.
    cfg = RunConfig.from_dict({"train": {"learning_rate": "1e-4"}})
    assert cfg.train.learning_rate == pytest.approx(1e-4)


def test_bare_numbers_in_text_fields_are_read_as_text():
    # `--devices 0` and `devices: 0` mean the first GPU; YAML hands over the integer 0.
    cfg = RunConfig().override(["devices=0", "name=2024"])
    assert (cfg.devices, cfg.name) == ("0", "2024")
    assert RunConfig.from_dict({"devices": 1}).devices == "1"
    with pytest.raises(ConfigError, match="is not text"):
        RunConfig.from_dict({"devices": True})


def test_text_fields_take_overrides_as_typed():
    # YAML would read these paths as a mapping, cut one at its '#' comment, refuse one as a tag.
    for path in ("hub:org/reviews:", "reviews #2.csv", "!draft.csv", "data: v2.csv", "yes", "1e-4"):
        assert RunConfig().override([f"data.path={path}"]).data.path == path
    cfg = RunConfig().override(["name='my run'", "data.text_pair_column=null", "data.path="])
    assert (cfg.name, cfg.data.text_pair_column, cfg.data.path) == ("my run", None, "")
    # Other fields still read YAML: numbers, lists, null.
    cfg = RunConfig().override(["method.lora.target_modules=[query, value]", "train.learning_rate=3e-4",
                                "data.max_train_samples=null"])
    assert (cfg.method.lora.target_modules, cfg.train.learning_rate, cfg.data.max_train_samples) == \
        (["query", "value"], 3e-4, None)
    with pytest.raises(ConfigError) as err:
        RunConfig().override(["train.epochs=["])
    assert err.value.problems[0][0] == "train.epochs" and "'[' cannot be read" in err.value.problems[0][1]


def test_unknown_field_suggests_the_right_one():
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"train": {"learning_rat": 1e-4}})
    assert err.value.problems[0][0] == "train.learning_rat"
    assert "did you mean 'learning_rate'" in str(err.value)


def test_names_from_other_tools_and_other_sections_get_the_workbench_field():
    # A LLaMA-Factory / AutoTrain habit got a wrong guess ("did you mean 'eval_batch_size'?") or the
    # whole list of fields; a field in the wrong section did not say where it goes.
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"learning_rate": 1e-4, "lora_r": 8, "seed": 1, "method": {"lora": {"rank": 8}},
                             "train": {"per_device_train_batch_size": 8, "num_train_epochs": 3, "lr": 1e-4,
                                       "max_length": 256, "label_smoothing_factor": 0.1}})
    assert err.value.problems == [
        ("learning_rate", "unknown field 'learning_rate' at the top level; it is train.learning_rate"),
        ("lora_r", "unknown field 'lora_r'; the workbench calls it method.lora.r"),
        ("seed", "unknown field 'seed' at the top level; it is data.seed or train.seed"),
        ("method.lora.rank", "unknown field 'rank'; the workbench calls it method.lora.r"),
        ("train.per_device_train_batch_size", "unknown field 'per_device_train_batch_size'; the workbench calls "
                                              "it train.batch_size"),
        ("train.num_train_epochs", "unknown field 'num_train_epochs'; the workbench calls it train.epochs"),
        ("train.lr", "unknown field 'lr'; the workbench calls it train.learning_rate"),
        ("train.max_length", "unknown field 'max_length' in train; it is task.max_length"),
        ("train.label_smoothing_factor", "unknown field 'label_smoothing_factor'; other settings of transformers' "
                                         "TrainingArguments go under train.trainer_arguments: "
                                         "train.trainer_arguments.label_smoothing_factor")]
    with pytest.raises(ConfigError, match="'lr'; the workbench calls it train.learning_rate"):
        RunConfig().override(["lr=1e-4"])
    with pytest.raises(ConfigError, match="'r' in method; it is method.lora.r"):
        RunConfig().override(["method.r=8"])


def test_wrong_type_names_field_and_expected_type():
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"train": {"batch_size": "big"}})
    assert err.value.problems == [("train.batch_size", "'big' is not a whole number")]
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"train": {"batch_size": 16.5, "max_steps": "2.5"}})
    assert err.value.problems == [("train.batch_size", "16.5 is not a whole number"),
                                  ("train.max_steps", "'2.5' is not a whole number")]


def test_whole_numbers_written_with_a_point_are_whole_numbers():
    # "16.0 is not a whole number"; eval_steps: 100.0 became the text '100.0' and then "must be a
    # positive number of steps".
    cfg = RunConfig.from_dict({"train": {"batch_size": 16.0, "eval_steps": 100.0, "save_steps": "200.0"},
                               "data": {"max_train_samples": 4e3}})
    assert (cfg.train.batch_size, cfg.train.eval_steps, cfg.train.save_steps, cfg.data.max_train_samples) == \
        (16, 100, 200, 4000)
    assert RunConfig().override(["train.batch_size=32.0"]).train.batch_size == 32


def test_a_dataframe_given_as_data_says_to_save_it_first(datasets_dir):
    # The message was the whole DataFrame's repr (3,759 characters for 60 rows) and "is not text".
    import pandas as pd
    frame = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(60)
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"data": {"path": frame, "text_column": frame}})
    assert err.value.problems == [
        ("data.path", "the data is given by its path (a file, a folder of split files or hub:<dataset id>), "
                      "not a DataFrame; save a DataFrame first, e.g. frame.to_csv('data.csv', index=False), and "
                      "give that path"),
        ("data.text_column", "a DataFrame is not text")]


def test_several_data_paths_say_how_to_give_them():
    # A list (AutoTrain and LLaMA-Factory take several files) was told to save "a DataFrame" first.
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"data": {"path": ["train.csv", "dev.csv"]}})
    assert err.value.problems == [("data.path", "['train.csv', 'dev.csv'] is several paths; the data is one: put the "
                                                "files in one folder named by split (train.csv, validation.csv, "
                                                "test.csv) and give the folder, or give the train file alone")]


def test_override_with_dotted_keys_and_typo():
    cfg = RunConfig().override(["method.lora.r=8", "train.epochs=3", "data.path=a.csv"])
    assert (cfg.method.lora.r, cfg.train.epochs, cfg.data.path) == (8, 3.0, "a.csv")
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        RunConfig().override(["train.epoch=3"])
    with pytest.raises(ConfigError, match="key=value"):
        RunConfig().override(["train.epochs"])
    # A key past a value said "unknown field 'epochs'; did you mean 'epochs'?".
    with pytest.raises(ConfigError) as err:
        RunConfig().override(["train.epochs.max=3"])
    assert err.value.problems == [("train.epochs.max", "train.epochs is a single value with no fields under it; "
                                                       "give train.epochs=<value>")]


def test_trainer_arguments_are_a_free_mapping_in_yaml_and_overrides(tmp_path):
    cfg = RunConfig().override(["train.trainer_arguments.optim=adafactor",
                                "train.trainer_arguments.label_smoothing_factor=0.1",
                                "train.trainer_arguments.lr_scheduler_kwargs={power: 2.0}"])
    assert cfg.train.trainer_arguments == {"optim": "adafactor", "label_smoothing_factor": 0.1,
                                           "lr_scheduler_kwargs": {"power": 2.0}}
    cfg.save(tmp_path / "run.yaml")
    assert RunConfig.load(tmp_path / "run.yaml") == cfg
    assert cfg.override(["train.trainer_arguments.optim=null"]).train.trainer_arguments == \
        {"label_smoothing_factor": 0.1, "lr_scheduler_kwargs": {"power": 2.0}}  # null drops a name
    assert RunConfig.from_dict({"train": {"trainer_arguments": None}}).train.trainer_arguments == {}  # `key:` alone
    with pytest.raises(ConfigError) as err:
        RunConfig().override(["train.trainer_arguments=adafactor"])
    assert err.value.problems == [("train.trainer_arguments",
                                   "'adafactor' is not a mapping of names to values, like {optim: adafactor}")]
    with pytest.raises(ConfigError, match="train.trainer_arguments takes names one level deep"):
        RunConfig().override(["train.trainer_arguments.lr_scheduler_kwargs.power=2"])



def test_numbers_written_1e_6_are_numbers_in_yaml_overrides_and_free_mappings(tmp_path):
    # PyYAML (YAML 1.1) reads 1e-6 as text; the free mapping handed it to the optimizer as '1e-6'.
    cfg = RunConfig().override(["train.trainer_arguments.adam_epsilon=1e-6", "train.learning_rate=2E-5"])
    assert cfg.train.trainer_arguments == {"adam_epsilon": 1e-6} and cfg.train.learning_rate == 2e-5
    assert ("train.trainer_arguments" not in {field for field, _ in validation_problems(cfg)})  # the optimizer builds
    (tmp_path / "run.yaml").write_text("train:\n  weight_decay: 1e-2\n  trainer_arguments: {adam_epsilon: 1e-8}\n")
    loaded = RunConfig.load(tmp_path / "run.yaml")
    assert loaded.train.trainer_arguments == {"adam_epsilon": 1e-8} and loaded.train.weight_decay == 0.01
    assert RunConfig().override(["data.path=1e5"]).data.path == "1e5"  # text fields stay text

def test_default_learning_rates_shrink_on_wider_models():
    # Measured on MiniLM-L6 (384 wide) and kept up to BERT-base's 768; wider models take steps
    # 768 / width as large, so a 7B decoder (4096) gets about 2e-5 full and 2e-4 with LoRA.
    assert default_learning_rates("full", 384) == default_learning_rates("full", 768) == (1e-4, 1e-3)
    assert default_learning_rates("full", 1536) == (5e-5, 5e-4)
    assert default_learning_rates("lora", 4096) == (1.9e-4, 5.6e-4)
    assert default_learning_rates("full", 4096)[0] == 1.9e-5
    # Models whose width is not known keep the measured values.
    assert default_learning_rates("freeze", 128) == default_learning_rates("freeze", None) == (2e-4, 1e-3)


def test_resolve_reads_the_width_of_the_model_it_is_given(tmp_path):
    from transformers import BertConfig

    BertConfig(hidden_size=1536).save_pretrained(tmp_path / "wide-bert")  # its config is what is read
    wide = str(tmp_path / "wide-bert")
    cfg = RunConfig.from_dict({"model": {"name": wide}, "method": {"type": "lora"}}).resolve()
    assert (cfg.train.learning_rate, cfg.train.head_learning_rate) == (5e-4, 1.5e-3)
    explicit = RunConfig.from_dict({"model": {"name": wide}, "train": {"learning_rate": 1e-4}}).resolve()
    assert (explicit.train.learning_rate, explicit.train.head_learning_rate) == (1e-4, 5e-4)


def test_settings_of_another_method_are_named_as_ignored():
    lora_on_full = RunConfig().override(["method.lora.r=8", "method.lora.target_modules=[query, value]"])
    assert ignored_method_settings(lora_on_full) == [
        "method.lora.r=8, method.lora.target_modules=['query', 'value'] are ignored: the method is full, and only "
        "a lora run reads method.lora; give --method lora to use them, or drop them"]
    freeze_on_lora = RunConfig().override(["method.type=lora", "method.freeze.trainable_layers=4"])
    assert ignored_method_settings(freeze_on_lora) == [
        "method.freeze.trainable_layers=4 is ignored: the method is lora, and only a freeze run reads method.freeze; "
        "give --method freeze to use it, or drop it"]
    # The run's own method's settings, and defaults left alone, say nothing.
    assert ignored_method_settings(RunConfig().override(["method.type=lora", "method.lora.r=8"])) == []
    assert ignored_method_settings(RunConfig.from_dict(RunConfig().to_dict())) == []


def test_resolve_fills_method_specific_learning_rates():
    full = RunConfig.from_dict({"method": {"type": "full"}}).resolve()
    lora = RunConfig.from_dict({"method": {"type": "lora"}}).resolve()
    assert full.train.learning_rate == DEFAULT_LEARNING_RATE["full"]
    assert lora.train.learning_rate == DEFAULT_LEARNING_RATE["lora"]
    assert lora.train.learning_rate > full.train.learning_rate  # LoRA wants larger steps
    explicit = RunConfig.from_dict({"method": {"type": "lora"}, "train": {"learning_rate": 5e-4}}).resolve()
    assert explicit.train.learning_rate == 5e-4
    # The head starts from random and learns faster than the pretrained body.
    assert full.train.head_learning_rate == DEFAULT_HEAD_LEARNING_RATE["full"] > full.train.learning_rate
    # A method without defaults keeps "auto"; validate() then names the methods there are.
    unknown = RunConfig.from_dict({"method": {"type": "prefix"}, "data": {"path": "train.csv"}}).resolve()
    assert unknown.train.learning_rate == "auto"
    assert dict(validation_problems(unknown)) == {"method.type": "'prefix' is not available yet; choose one of full, freeze, lora"}


@pytest.mark.parametrize("changes, field, words", [
    ({"model": {"name": " "}}, "model.name", "bundled model"),
    ({"task": {"type": "regression"}}, "task.type", "choose one of classification"),
    ({"task": {"pooling": "max"}}, "task.pooling", "choose one of auto, cls, mean, last"),
    ({"task": {"max_length": 4}}, "task.max_length", "at least 8"),
    ({"train": {"max_steps": 0}}, "train.max_steps", "-1 to train for train.epochs"),
    ({"train": {"max_steps": -5}}, "train.max_steps", "a positive number of steps"),
    ({"method": {"type": "qlora"}}, "method.type", "choose one of full, freeze, lora"),
    ({"method": {"lora": {"r": 0}}}, "method.lora.r", "positive rank"),
    ({"method": {"lora": {"alpha": -1}}}, "method.lora.alpha", "2 x r"),
    ({"method": {"lora": {"dropout": 1.5}}}, "method.lora.dropout", "[0, 1)"),
    ({"method": {"lora": {"target_modules": []}}}, "method.lora.target_modules", "auto"),
    ({"method": {"freeze": {"trainable_layers": -1}}}, "method.freeze.trainable_layers", "0 (head only)"),
    ({"data": {"path": ""}}, "data.path", "CSV/TSV/JSON"),
    ({"data": {"validation_fraction": 1.5}}, "data.validation_fraction", "between 0 and 1"),
    ({"data": {"max_train_samples": 0}}, "data.max_train_samples", "positive number of rows"),
    ({"train": {"epochs": 0}}, "train.epochs", "must be positive"),
    ({"train": {"learning_rate": -1e-4}}, "train.learning_rate", "positive number such as 1e-4"),
    ({"train": {"learning_rate": 5.0}}, "train.learning_rate", "far too large"),
    ({"train": {"head_learning_rate": 0}}, "train.head_learning_rate", "positive number"),
    ({"train": {"batch_size": 0}}, "train.batch_size", "at least 1"),
    ({"train": {"eval_steps": 0}}, "train.eval_steps", "positive number of steps"),
    ({"train": {"logging_steps": 0}}, "train.logging_steps", "positive number of steps"),
    ({"train": {"weight_decay": -0.1}}, "train.weight_decay", "0 or more"),
    ({"train": {"layer_decay": 0}}, "train.layer_decay", "above 0 and at most 1"),
    ({"train": {"layer_decay": 1.2}}, "train.layer_decay", "0.8 to 0.95 lowers it layer by layer downwards"),
    ({"train": {"warmup": -1}}, "train.warmup", "fraction of the steps"),
    ({"train": {"scheduler": "step"}}, "train.scheduler", "choose one of linear"),
    ({"train": {"precision": "int8"}}, "train.precision", "choose one of auto"),
    ({"train": {"max_grad_norm": -1}}, "train.max_grad_norm", "0 turns clipping off"),
    ({"train": {"dataloader_workers": -1}}, "train.dataloader_workers", "0 loads batches in the training process"),
    ({"train": {"class_weights": "inverse"}}, "train.class_weights", "choose one of none, balanced"),
    ({"train": {"select_best": "precision"}}, "train.select_best", "choose one of none, accuracy, f1_macro, loss"),
    ({"train": {"early_stopping_patience": -1}}, "train.early_stopping_patience", "0 (never stop early)"),
    ({"train": {"early_stopping_patience": 2}}, "train.early_stopping_patience",
     "needs a metric to watch: set train.select_best"),
    ({"train": {"select_best": "accuracy", "eval_steps": 20, "save_steps": 30}}, "train.save_steps",
     "30 is not a multiple of train.eval_steps (20)"),
    ({"devices": "gpu0"}, "devices", "GPU indices like 0,1"),
    # NaN passes every "< 0" check, and 1e30 of anything is a typo that fails deep in a run.
    ({"train": {"weight_decay": float("nan")}}, "train.weight_decay", "nan is not a number that can be used"),
    ({"train": {"epochs": float("inf")}}, "train.epochs", "inf is not a number that can be used"),
    ({"train": {"batch_size": 10**30}}, "train.batch_size", "is far too large; check for a typo"),
    ({"train": {"epochs": 1e30}}, "train.epochs", "1e+30 is far too large"),
    ({"train": {"seed": 2**32}}, "train.seed", "a whole number from 0 to 4,294,967,295"),
    ({"data": {"seed": -1}}, "data.seed", "a whole number from 0 to 4,294,967,295"),
    ({"train": {"dataloader_workers": (os.cpu_count() or 1) + 1}}, "train.dataloader_workers",
     "more worker processes than this machine's"),
    # A run's name is one line in every run list: a line break split `workbench runs`' table.
    ({"name": "lora\nsecond try"}, "name", "one line of at most 100 characters, without line breaks"),
    ({"name": "x" * 101}, "name", "one line of at most 100 characters"),
])
def test_each_validation_message_names_field_and_fix(changes, field, words):
    base = {"data": {"path": "train.csv"}}
    for key, value in changes.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    cfg = RunConfig.from_dict(base)
    problems = dict(validation_problems(cfg))
    assert field in problems, problems
    assert words in problems[field]
    with pytest.raises(ConfigError):
        cfg.validate()


def test_default_config_with_data_is_valid():
    RunConfig.from_dict({"data": {"path": "train.csv"}}).validate()
    # 0 turns gradient clipping off, as it does in transformers' TrainingArguments.
    RunConfig.from_dict({"data": {"path": "train.csv"}, "train": {"max_grad_norm": 0}}).validate()


def test_load_reports_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line 2, column 1: expected ',' or '\]', but got "
                                          r"'<stream end>'\); fix the syntax$"):
        RunConfig.load(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        RunConfig.load(tmp_path / "missing.yaml")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    # PyYAML kept the last silently: a second `train:` section dropped the first one's epochs.
    path = tmp_path / "run.yaml"
    path.write_text("train:\n  epochs: 3\ndata: {path: x.csv}\ntrain:\n  batch_size: 8\n")
    with pytest.raises(ConfigError, match=r"line 4, column 1: 'train' is given twice \(also on line 1\); keep one"):
        RunConfig.load(path)
    path.write_text("train:\n  epochs: 3\n  epochs: 2\n")
    with pytest.raises(ConfigError, match="'epochs' is given twice"):
        RunConfig.load(path)
    # A YAML merge (`<<:`) may repeat a key on purpose: the one written out wins, as in YAML.
    path.write_text("train:\n  <<: {epochs: 2, batch_size: 4}\n  epochs: 3\n")
    assert (RunConfig.load(path).train.epochs, RunConfig.load(path).train.batch_size) == (3, 4)


def test_a_config_that_is_a_folder_or_not_utf8_gets_a_message_not_a_traceback(tmp_path):
    # A folder was "file ... does not exist"; Latin-1 bytes were UnicodeDecodeError; UTF-16 (Windows
    # Notepad's "Unicode") was refused though YAML reads it by its byte-order mark.
    run = tmp_path / "20260101-minilm-l6-full"
    run.mkdir()
    with pytest.raises(ConfigError, match=f"{run} is a folder; give the path of a YAML config file inside it$"):
        RunConfig.load(run)
    RunConfig.from_dict({"data": {"path": "x.csv"}}).save(run / "config.yaml")
    with pytest.raises(ConfigError, match=f"is a folder; give the path of a YAML config file, e.g. {run}/config.yaml"):
        RunConfig.load(run)
    path = tmp_path / "run.yaml"
    path.write_bytes("train: {epochs: 2}\ndata: {path: caf\u00e9.csv}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 0xe9 on line 2\); save it as UTF-8$"):
        RunConfig.load(path)
    path.write_text("data: {path: caf\u00e9.csv}\n", encoding="utf-16")
    assert RunConfig.load(path).data.path == "caf\u00e9.csv"
    path.write_text("train:\n  epochs: 2\x01\n")
    with pytest.raises(ConfigError, match="holds the control character U\\+0001 on line 2, which YAML does not allow"):
        RunConfig.load(path)
    path.write_bytes("data: {path: x.csv}\n".encode("utf-16-le"))
    with pytest.raises(ConfigError, match="holds NUL bytes: it is UTF-16 without a byte-order mark"):
        RunConfig.load(path)


def test_a_section_given_a_value_says_which_field_it_means():
    # `model: minilm-l6` and `--set method=lora` said "must be a mapping, got str", without the fix.
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"model": "minilm-l6", "data": "reviews.csv", "train": 3})
    assert err.value.problems == [
        ("model", "is a section, not a value: write model: {name: minilm-l6}, or --set model.name=minilm-l6 "
                  "on the command line"),
        ("data", "is a section, not a value: write data: {path: reviews.csv}, or --set data.path=reviews.csv "
                 "on the command line"),
        ("train", "must be a mapping of its fields (name: value), got int")]
    with pytest.raises(ConfigError, match="write method: {type: lora}, or --set method.type=lora"):
        RunConfig().override(["method=lora"])
