"""Keeping the best checkpoint and stopping early: real tiny runs of MiniLM on SST-2."""

from __future__ import annotations

from tests.train.test_training import assert_model_predicts_what_its_run_did, tiny_config
from workbench.runs.store import create_run
from workbench.train.main import execute


def eval_records(run) -> list[dict]:
    return [m for m in run.metrics() if "eval_accuracy" in m]


def test_the_run_keeps_its_best_checkpoint_and_the_last_step_is_a_candidate(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=6, eval_steps=2, save_steps=2,
                                 select_best="accuracy", learning_rate=3e-4))
    status = execute(run)
    assert status["status"] == "finished", status.get("error")
    evals = eval_records(run)
    # The last step is evaluated like the others (a plain run skips that, evaluating once after),
    # and the kept checkpoint's final evaluation is not charted a second time.
    assert [m["step"] for m in evals] == [2, 4, 6]
    best = max(evals, key=lambda m: m["eval_accuracy"])  # max() keeps the first of equals, as Trainer
    kept = status["best_checkpoint"]
    assert (kept["metric"], kept["step"], kept["stopped_early"]) == ("accuracy", best["step"], False)
    assert status["metrics"]["accuracy"] == best["eval_accuracy"] == kept["value"]
    assert f"the checkpoint of step {best['step']}" in kept["message"] and "optimistic" in kept["message"]
    assert (run.checkpoints_dir / f"checkpoint-{best['step']}").is_dir()
    # The run's model folder holds the kept checkpoint's weights: it predicts what the run reported.
    assert_model_predicts_what_its_run_did(run.model_dir, run.predictions_path)


def test_early_stopping_ends_the_run_when_the_metric_stops_improving(datasets_dir, tmp_path):
    # A learning rate too small to move any weight: every evaluation scores the same, so the first
    # stays best and the run stops after `patience` evaluations without improvement.
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=20, eval_steps=2, save_steps=2,
                                 select_best="f1_macro", early_stopping_patience=2,
                                 learning_rate=1e-12, head_learning_rate=1e-12))
    status = execute(run)
    assert status["status"] == "finished", status.get("error")
    assert status["step"] == 6 and [m["step"] for m in eval_records(run)] == [2, 4, 6]
    kept = status["best_checkpoint"]
    assert (kept["step"], kept["stopped_early"], kept["stopped_at"]) == (2, True, 6)
    assert kept["message"].startswith("stopped early at step 6 of 20: f1_macro did not improve for 2 "
                                      "evaluations; the run's model is the checkpoint of step 2")
    assert "stopped early at step 6 of 20" in run.log_path.read_text()
