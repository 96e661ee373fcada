"""One run, in order: resolve model -> prepare data -> build head -> apply method -> Trainer.

Each step is a call into the module that owns it; this file only wires them in sequence and
decides where the outputs go in the run folder.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch
from transformers import EarlyStoppingCallback, set_seed
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from workbench.catalog import resolve_model
from workbench.config import RunConfig, ignored_method_settings
from workbench.data.prepare import prepare_data
from workbench.errors import WorkbenchError
from workbench.methods import METHODS, trainable_parameters
from workbench.preflight import require_same_data
from workbench.runs.store import Run
from workbench.tasks import classify
from workbench.train.arguments import training_arguments
from workbench.train.callbacks import RunRecorder
from workbench.train.disk import disk_needed, require_disk_space
from workbench.train.launch import require_supported_precision
from workbench.train.steps import step_count_warning
from workbench.train.trainer import WorkbenchTrainer, layer_rate_scales

log = logging.getLogger("workbench.train")


def train_run(run: Run, resume: bool = False) -> dict:
    import datasets
    import transformers

    datasets.disable_progress_bars()  # a log file is no place for progress bars
    transformers.utils.logging.disable_progress_bar()
    cfg = run.config()
    # Checked before the run exists too; again here, for a run folder resumed on another machine.
    require_supported_precision(cfg.train.precision, cfg.devices)
    set_seed(cfg.train.seed)
    resolved = resolve_model(cfg.model.name, cfg.runs_dir)
    log.info("model %s (%s)", resolved.path, resolved.source)
    data = prepare_data(cfg.data, cfg.data_seed)
    log.info("data %s: %s", cfg.data.path, {k: len(v) for k, v in data.splits.items()})
    for problem in data.report.problems:
        log.warning("%s", problem.detail)  # the log line names its level
    complete = run.complete_checkpoints() if resume else []
    checkpoint = complete[-1] if complete else None
    fingerprint = data.fingerprint()
    if checkpoint is not None:
        require_same_data(run, cfg, fingerprint)

    tokenizer = classify.load_tokenizer(cfg, resolved)
    model = classify.build_model(resolved, data.id2label, cfg)
    model = METHODS[cfg.method.type].apply(model, cfg)
    trainable, total = trainable_parameters(model)
    log.info("trainable parameters: %s of %s (%.2f%%)", f"{trainable:,}", f"{total:,}", 100 * trainable / total)
    # "auto" rates depend on the model's width (config.default_learning_rates): say what was used.
    log.info("learning rate %s, head %s", cfg.train.learning_rate, cfg.train.head_learning_rate)
    if cfg.train.layer_decay < 1:
        scales = layer_rate_scales([name for name, p in model.named_parameters() if p.requires_grad],
                                   cfg.train.layer_decay)
        log.info("layer decay %s: the body's learning rates range from %.3g down to %.3g", cfg.train.layer_decay,
                 cfg.train.learning_rate * max(scales.values()), cfg.train.learning_rate * min(scales.values()))
    if cfg.train.trainer_arguments:
        log.info("trainer arguments passed through: %s", cfg.train.trainer_arguments)
    ignored = ignored_method_settings(cfg)  # the CLI said so before the run; the log keeps it
    for note in ignored:
        log.warning("%s", note)
    run.update_status(trainable_parameters=trainable, total_parameters=total,
                      label_names=data.label_names, label_values=data.report.label_values,
                      rows={k: len(v) for k, v in data.splits.items()},
                      columns=vars(data.report.columns), data_fingerprint=fingerprint)
    # Before tokenizing (minutes on a large dataset): a run the disk cannot hold stops here.
    require_disk_space(run.dir.parent, disk_needed(model, cfg, len(data.splits["train"]), len(complete)))

    tokenized = classify.tokenize(data.splits, tokenizer, cfg.task.max_length)
    cut = classify.truncation_warning(tokenized, cfg.task.max_length,
                                      classify.readable_positions(model.config))
    if cut:
        log.warning("%s", cut)
    steps_warning = step_count_warning(cfg, len(tokenized["train"]))
    if steps_warning:
        log.warning("%s", steps_warning)
    # Kept in the status too, so the Monitor shows them after they scroll out of the log tail.
    warnings = [str(problem) for problem in data.report.problems]
    warnings += [f"WARNING: {text}" for text in (cut, steps_warning, *ignored) if text]
    if warnings:
        run.update_status(warnings=warnings)
    args = training_arguments(cfg, run, len(tokenized["train"]))
    samples_per_step = cfg.train.batch_size * cfg.train.gradient_accumulation_steps * max(1, args.world_size)
    recorder = RunRecorder(run, samples_per_step)
    callbacks = [recorder]
    if cfg.train.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(cfg.train.early_stopping_patience))
    class_weights = balanced_class_weights(tokenized["train"]["label"], len(data.label_names)) \
        if cfg.train.class_weights == "balanced" else None
    if class_weights is not None:
        shown = ", ".join(f"{name} {w:.2f}" for name, w in zip(data.label_names, class_weights.tolist()))
        log.info("class weights (balanced): %s", shown)
    trainer = WorkbenchTrainer(
        model=model,
        args=args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=classify.collator(tokenizer, on_gpu=not args.use_cpu),
        compute_metrics=classify.compute_metrics,
        callbacks=callbacks,
        group_by_length=cfg.train.group_by_length,
        head_learning_rate=cfg.train.head_learning_rate,
        layer_decay=cfg.train.layer_decay,
        class_weights=class_weights,
    )
    for noisy in (PrinterCallback, ProgressCallback):  # the recorder logs instead
        trainer.remove_callback(noisy)

    if resume and checkpoint is None:
        log.warning("no checkpoint to resume from: starting from step 0")
    log.info("training%s", f" from {checkpoint.name}" if checkpoint else "")
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if recorder.aborted:
        log.info("aborted at step %d; checkpoint saved", trainer.state.global_step)
        return {"status": "aborted", "step": trainer.state.global_step}

    if args.load_best_model_at_end:
        best = best_checkpoint_summary(trainer, cfg)
        log.info("%s", best["message"])
        run.update_status(best_checkpoint=best)
    # The final model first: if evaluation then fails, the trained weights are already safe.
    # Under torchrun every process holds the same model: one writes it (and the predictions, which
    # every process computes together), the others wait for it before evaluating.
    writes = trainer.is_world_process_zero()
    if writes:
        save_model(trainer, cfg, resolved.path, data.id2label, run)
    trainer.accelerator.wait_for_everyone()
    predictions = trainer.predict(tokenized["validation"], metric_key_prefix="eval")
    metrics = {k.removeprefix("eval_"): v for k, v in predictions.metrics.items()}
    if not args.load_best_model_at_end:  # else the kept checkpoint's evaluation is already charted
        recorder.on_log(args, trainer.state, None, logs=predictions.metrics)
    if writes:
        classify.write_predictions(run.predictions_path, data.splits["validation"], predictions.predictions,
                                   data.label_names)
    result = {"status": "finished", "metrics": metrics, "step": trainer.state.global_step,
              "train_seconds": recorder.train_seconds,
              "train_samples_per_second": output.metrics.get("train_samples_per_second"),
              "train_step_samples_per_second": _step_throughput(recorder, trainer)}
    if "test" in tokenized:
        test = trainer.predict(tokenized["test"], metric_key_prefix="test")
        if writes:
            classify.write_predictions(run.dir / "predictions_test.jsonl", data.splits["test"],
                                       test.predictions, data.label_names)
        result["test_metrics"] = {k.removeprefix("test_"): v for k, v in test.metrics.items()}
    log.info("finished: %s", json.dumps(metrics))
    return result


def balanced_class_weights(labels, num_classes: int) -> torch.Tensor:
    """rows / (classes x rows of the class), scikit-learn's "balanced" weighting."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    weights = compute_class_weight("balanced", classes=np.arange(num_classes), y=np.asarray(labels))
    return torch.tensor(weights, dtype=torch.float32)


def best_checkpoint_summary(trainer, cfg: RunConfig) -> dict:
    """Which checkpoint became the run's model, and whether training stopped early. The Trainer
    has already loaded the best checkpoint's weights when this runs."""
    state, metric = trainer.state, cfg.train.select_best
    step = state.best_global_step or None
    stopped_early = state.global_step < state.max_steps
    patience = cfg.train.early_stopping_patience
    message = (f"the run's model is the checkpoint of step {step} ({metric} {state.best_metric:.4f} on "
               "validation, the best of its evaluations; chosen on validation, so its validation "
               "metrics are optimistic: judge it on a test split)") if step else \
        "no evaluation chose a best checkpoint: the run's model is the last step's"
    if stopped_early:
        message = (f"stopped early at step {state.global_step} of {state.max_steps}: {metric} did not "
                   f"improve for {patience} evaluation{'s' if patience > 1 else ''}; ") + message
    return {"metric": metric, "value": state.best_metric, "step": step,
            "stopped_early": stopped_early, "stopped_at": state.global_step, "message": message}


def _step_throughput(recorder: RunRecorder, trainer) -> float | None:
    samples = trainer.state.global_step * recorder.samples_per_step
    return samples / recorder.train_seconds if recorder.train_seconds else None


def save_model(trainer, cfg: RunConfig, base_path: str, id2label: dict, run: Run) -> None:
    """Full weights, or the adapter plus what it needs to be rebuilt, with the tokenizer."""
    target = run.model_dir
    tmp = target.with_name("model.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model = trainer.model
    model.save_pretrained(tmp)
    trainer.processing_class.save_pretrained(tmp)
    base = getattr(model, "base_model", None)
    inner = base.model if cfg.method.type == "lora" else model
    if Path(base_path).exists():  # a folder, not a Hub id: absolute, so it loads from anywhere
        base_path = str(Path(base_path).resolve())
    info = {"task": cfg.task.type, "method": cfg.method.type, "base_model": base_path,
            "base_model_name": cfg.model.name,
            "pooling": inner.pooling, "id2label": {str(k): v for k, v in id2label.items()},
            "architecture": "WorkbenchPooledClassifier"}
    if cfg.method.type == "lora":
        inner.config.save_pretrained(tmp)  # label names beside the adapter
    (tmp / "workbench_model.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
