"""The Trainer callback that records a run into its folder and honours abort requests."""

from __future__ import annotations

import logging
import time

from transformers import TrainerCallback

from workbench.runs.store import Run

log = logging.getLogger("workbench.train")
STATUS_EVERY_S = 0.5  # progress in status.json; the UI polls about once a second


class RunRecorder(TrainerCallback):
    def __init__(self, run: Run, samples_per_step: int):
        self.run = run
        self.samples_per_step = samples_per_step
        self.started = time.time()
        self.last_status = 0.0
        self.last_log_step = None
        self.last_log_time = None
        self.train_seconds = 0.0  # time spent in training steps, evaluation excluded
        self.step_started = None
        self.aborted = False

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.started = time.time()
        self.last_log_step, self.last_log_time = state.global_step, time.time()
        # The step this session starts from (a resumed run's checkpoint): the ETA counts this
        # session's steps against its elapsed time.
        self.run.update_status(max_steps=state.max_steps, step=state.global_step,
                               epochs=args.num_train_epochs, session_start_step=state.global_step)
        if args.activation_checkpointing and model is not None:  # the Trainer has just turned it on
            layers = sum(getattr(m, "gradient_checkpointing", False) is True for m in model.modules())
            if layers:
                log.info("activation checkpointing: %d modules recompute their activations in the backward pass",
                         layers)
            else:  # a remote-code model whose layers predate transformers' checkpointing support
                log.warning("activation checkpointing: this model's layers do not support it, so every "
                            "activation is kept as without it")

    def on_step_begin(self, args, state, control, **kwargs):
        self.step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.step_started is not None:
            self.train_seconds += time.perf_counter() - self.step_started
        now = time.time()
        if now - self.last_status >= STATUS_EVERY_S or state.global_step == state.max_steps:
            self.last_status = now
            self.run.update_status(step=state.global_step, max_steps=state.max_steps,
                                   epoch=state.epoch, elapsed=now - self.started)
        if self._abort_requested(args) and not self.aborted:
            # Stop after this step and checkpoint it, so `resume` continues from here.
            self.aborted = True
            control.should_save = True
            control.should_training_stop = True
        elif state.global_step >= state.max_steps and not args.load_best_model_at_end:
            # The Trainer evaluates and checkpoints (weights and optimizer state) at the last step.
            # The run saves its final model and evaluates once right after training (metrics and
            # saved predictions from one pass), and a finished run is not resumed: doing both
            # here too would only repeat work inside the timed training loop. (When the best
            # checkpoint is kept, the last step must be a candidate: the Trainer does both.)
            control.should_evaluate = False
            control.should_save = False
        return control

    def _abort_requested(self, args) -> bool:
        """Whether to stop after this step. Under torchrun each process reads the abort file on its
        own, and may see it a step before another does: one would then stop and save while the
        others wait in the next step's gradient exchange for ever. So the processes agree first:
        any one that saw it stops them all, at the same step."""
        requested = self.run.abort_requested()
        if args.world_size <= 1:
            return requested
        import torch
        import torch.distributed as dist

        flag = torch.tensor([int(requested)], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        record = {"step": state.global_step, "epoch": state.epoch, "time": time.time()}
        if "loss" in logs:
            # Trainer logs no throughput per step: samples since the last log / wall time since.
            now = time.time()
            steps = state.global_step - (self.last_log_step or 0)
            if steps > 0 and self.last_log_time is not None and now > self.last_log_time:
                record["samples_per_second"] = steps * self.samples_per_step / (now - self.last_log_time)
            self.last_log_step, self.last_log_time = state.global_step, now
        record.update({k: v for k, v in logs.items() if isinstance(v, (int, float))})
        self.run.append_metrics(record)
        shown = " ".join(f"{k}={v:.4g}" for k, v in record.items()
                         if k not in ("time", "step", "epoch") and isinstance(v, (int, float)))
        log.info("step %d/%s epoch %.2f %s", state.global_step, state.max_steps, state.epoch or 0, shown)

    def on_evaluate(self, args, state, control, **kwargs):
        # Evaluation time is not training time: restart the throughput clock after it.
        self.last_log_time = time.time()
