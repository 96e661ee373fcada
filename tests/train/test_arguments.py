"""train.trainer_arguments: any other TrainingArguments field passes through; what the run sets
itself, an unknown name and a value transformers refuses are each reported with the fix."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.config import RunConfig
from workbench.errors import ConfigError
from workbench.runs.store import create_run
from workbench.train.arguments import (FROM_CONFIG, REPORTING, SET_BY_RUN, require_trainer_arguments,
                                       run_arguments, trainer_argument_problems, training_arguments)


def config(tmp_path, **passed) -> RunConfig:
    return RunConfig.from_dict({"data": {"path": "train.csv"}, "runs_dir": str(tmp_path),
                                "train": {"trainer_arguments": passed}}).resolve()


def test_other_arguments_reach_the_trainer(tmp_path):
    cfg = config(tmp_path, optim="adafactor", label_smoothing_factor=0.1, disable_tqdm=False)
    assert trainer_argument_problems(cfg) == []
    args = training_arguments(cfg, create_run(cfg), 160)
    assert (args.optim, args.label_smoothing_factor, args.disable_tqdm) == ("adafactor", 0.1, False)
    assert args.learning_rate == 1e-4 and args.output_dir.endswith("checkpoints")  # the run's own stay


def test_every_argument_the_run_sets_is_refused_or_only_reports(tmp_path):
    # A new argument set in run_arguments must be added to FROM_CONFIG or SET_BY_RUN, or the
    # pass-through would silently override it.
    cfg = config(tmp_path)
    assert set(run_arguments(cfg, create_run(cfg), 160)) <= set(FROM_CONFIG) | set(SET_BY_RUN) | set(REPORTING)


@pytest.mark.parametrize("passed, field, message", [
    ({"learning_rate": 1e-3}, "train.trainer_arguments.learning_rate",
     "the run sets it from train.learning_rate: set that instead"),
    ({"gradient_checkpointing": True}, "train.trainer_arguments.gradient_checkpointing",
     "the run sets it from train.activation_checkpointing: set that instead"),
    ({"output_dir": "/tmp/elsewhere"}, "train.trainer_arguments.output_dir",
     "the run sets it itself: checkpoints go into the run folder, where resume and the Runs tab find them"),
    # The final model is saved by the first process alone: a sharded one would need them all.
    ({"fsdp": "full_shard"}, "train.trainer_arguments.fsdp",
     "sharded training (FSDP) is not supported: several GPUs train data-parallel, each holding the whole model "
     "(DDP); for a model too large for one GPU use method lora or train.activation_checkpointing"),
    ({"optimm": "adafactor"}, "train.trainer_arguments.optimm",
     "is not an argument of transformers' TrainingArguments; did you mean 'optim'?"),
    # Names of other tools, and of arguments transformers renamed or dropped, whose closest match the
    # run sets itself: "did you mean 'warmup_steps'?" led to a second refusal, for train.warmup.
    ({"warmup_ratio": 0.1}, "train.trainer_arguments.warmup_ratio",
     "is not an argument of transformers' TrainingArguments; set train.warmup instead"),
    ({"per_gpu_train_batch_size": 8}, "train.trainer_arguments.per_gpu_train_batch_size",
     "is not an argument of transformers' TrainingArguments; if you meant 'per_device_train_batch_size', set "
     "train.batch_size instead (the run sets it from there)"),
    ({"evaluation_strategy": "epoch"}, "train.trainer_arguments.evaluation_strategy",
     "is not an argument of transformers' TrainingArguments; if you meant 'eval_strategy', the run sets it "
     "itself: the run evaluates every train.eval_steps steps: set that"),
    # The Trainer would fail only as it starts, after the data was read and the model loaded.
    ({"report_to": "dvclive"}, "train.trainer_arguments.report_to",
     "'dvclive' is not installed here: `pip install dvclive`, or leave it out (the run folder "
     "records the metrics anyway)"),
])
def test_names_the_run_owns_or_transformers_lacks(passed, field, message, tmp_path):
    assert trainer_argument_problems(config(tmp_path, **passed)) == [(field, message)]


def test_a_value_of_the_wrong_type_is_refused_before_the_run(tmp_path):
    # TrainingArguments keeps label_smoothing_factor='abc' as given: the run failed at its first step
    # (TypeError in the loss), and optim_args=5 when the optimizer was built.
    cfg = config(tmp_path, label_smoothing_factor="abc", dataloader_pin_memory=0, optim_args=5,
                 neftune_noise_alpha=5, torch_compile_mode=None)
    assert trainer_argument_problems(cfg) == [
        ("train.trainer_arguments.label_smoothing_factor", "'abc' is not a number"),
        ("train.trainer_arguments.dataloader_pin_memory", "0 is not true or false"),
        ("train.trainer_arguments.optim_args", "5 is not text or empty")]


def test_a_tracker_transformers_does_not_know_is_named_with_those_it_does(tmp_path):
    ((field, message),) = trainer_argument_problems(config(tmp_path, report_to=["tensorbored"]))
    assert field == "train.trainer_arguments.report_to"
    assert message.startswith("'tensorbored' is not a tracker transformers reports to; choose from ")
    assert "tensorboard" in message and "wandb" in message


def test_a_value_transformers_refuses_is_reported_before_the_run(tmp_path, datasets_dir, capsys):
    cfg = config(tmp_path, optim="adamw_nonsense")
    with pytest.raises(ConfigError) as err:
        require_trainer_arguments(cfg)
    ((field, message),) = err.value.problems
    assert field == "train.trainer_arguments"
    assert message.startswith("TrainingArguments refused {'optim': 'adamw_nonsense'}: adamw_nonsense is not a "
                              "valid OptimizerNames, please select one of ['adamw_torch'")
    # The CLI refuses it before a run exists, as every front end does (preflight.check_settings).
    runs = tmp_path / "runs"
    code = main(["train", "--data", str(datasets_dir / "sst2"), "--runs-dir", str(runs),
                 "--set", "train.trainer_arguments.optim=adamw_nonsense"])
    assert code == 2 and "TrainingArguments refused" in capsys.readouterr().err
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("passed, error", [
    ({"lr_scheduler_kwargs": 5}, "TypeError: transformers.optimization.get_linear_schedule_with_warmup() argument "
                                 "after ** must be a mapping, not int"),
    ({"optim": "sgd", "optim_args": "momentum=abc"}, "ValueError: could not convert string to float: 'abc'"),
])
def test_a_value_only_the_optimizer_or_schedule_refuses_is_reported_before_the_run(passed, error, tmp_path):
    # TrainingArguments takes these; the Trainer failed on them minutes later, building its optimizer.
    assert trainer_argument_problems(config(tmp_path, **passed)) == [
        ("train.trainer_arguments", f"the optimizer or learning-rate schedule cannot be built from {passed}: {error}")]
    for fine in ({"optim": "adafactor"}, {"optim": "sgd", "optim_args": "momentum=0.9"}):
        assert trainer_argument_problems(config(tmp_path, **fine)) == []
    # A schedule's own setting, checked against the run's schedule (train.scheduler).
    cycles = config(tmp_path, lr_scheduler_kwargs={"num_cycles": 0.5})
    assert "get_linear_schedule_with_warmup() got an unexpected keyword argument 'num_cycles'" in \
        trainer_argument_problems(cycles)[0][1]
    cycles.train.scheduler = "cosine"
    assert trainer_argument_problems(cycles) == []
