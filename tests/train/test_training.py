"""Real tiny training runs of the bundled MiniLM on SST-2: each method, abort then resume."""

from __future__ import annotations

import json
import time

import psutil
import pytest
import torch

from workbench.config import RunConfig
from workbench.errors import WorkbenchError
from workbench.runs.store import create_run
from workbench.tasks.classify import load_trained
from workbench.train.launch import launch
from workbench.train.main import execute


def tiny_config(datasets_dir, runs_dir, method: str, **train) -> RunConfig:
    return RunConfig.from_dict({
        "model": {"name": "minilm-l6"},
        "task": {"max_length": 32},
        "method": {"type": method, "lora": {"r": 4}, "freeze": {"trainable_layers": 1}},
        "data": {"path": str(datasets_dir / "sst2"), "max_train_samples": 48, "max_eval_samples": 24},
        "train": {"max_steps": 3, "batch_size": 8, "logging_steps": 1, "eval_steps": 100,
                  "save_steps": 100, **train},
        "runs_dir": str(runs_dir),
    }).resolve()


def assert_model_predicts_what_its_run_did(model_dir, predictions_path) -> None:
    predictions = [json.loads(line) for line in predictions_path.read_text().splitlines()][:4]
    model, tokenizer = load_trained(model_dir)
    batch = tokenizer([p["text"] for p in predictions], padding=True, truncation=True,
                      max_length=32, return_tensors="pt")
    with torch.inference_mode():
        probs = model(**batch).logits.softmax(-1)
    saved = torch.tensor([[p["probabilities"][n] for n in ("0", "1")] for p in predictions])
    assert torch.allclose(probs, saved, atol=1e-4)


@pytest.mark.parametrize("method", ["full", "freeze", "lora"])
def test_tiny_run_writes_the_whole_run_folder(method, datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, method))
    status = execute(run)
    assert status["status"] == "finished", status.get("error")
    assert status["step"] == 3 and 0 <= status["metrics"]["accuracy"] <= 1
    losses = [m for m in run.metrics() if "loss" in m]
    assert [m["step"] for m in losses] == [1, 2, 3]
    assert all(m["samples_per_second"] > 0 and "learning_rate" in m and "grad_norm" in m for m in losses)
    predictions = [json.loads(line) for line in run.predictions_path.read_text().splitlines()]
    assert len(predictions) == 24
    assert set(predictions[0]) >= {"text", "gold", "predicted", "confidence", "probabilities"}
    assert abs(sum(predictions[0]["probabilities"].values()) - 1) < 1e-4
    assert_model_predicts_what_its_run_did(run.model_dir, run.predictions_path)
    # SST-2 at max_length 32 cuts some sentences: the status keeps that for the Monitor.
    cut = [w for w in status.get("warnings", []) if "reach task.max_length (32 tokens)" in w]
    assert cut and cut[0].startswith("WARNING: 1 of 48 train texts (2.1 %), 9 of 24 validation texts")
    if method == "lora":
        assert (run.model_dir / "adapter_model.safetensors").is_file()
    if method in ("lora", "freeze"):
        assert status["trainable_parameters"] < 0.3 * status["total_parameters"]
    log = run.log_path.read_text()
    assert "trainable parameters" in log and "step 3/3" in log
    rates = {"full": "0.0001, head 0.001", "freeze": "0.0002, head 0.001", "lora": "0.001, head 0.003"}
    assert f"learning rate {rates[method]}" in log  # what "auto" chose for this model and method
    if method == "full":  # a finished run never trains again: its model and metrics stay as they are
        model_written = (run.model_dir / "model.safetensors").stat().st_mtime_ns
        for again in (lambda: execute(run), lambda: launch(run, resume=True), lambda: launch(run)):
            with pytest.raises(WorkbenchError, match=f"run {run.id} already finished; start a new run"):
                again()
        assert run.status()["status"] == "finished" and len([m for m in run.metrics() if "loss" in m]) == 3
        assert (run.model_dir / "model.safetensors").stat().st_mtime_ns == model_written


def test_how_often_a_run_evaluates_does_not_change_the_model_it_trains(datasets_dir, tmp_path):
    # Each evaluation used to draw from the global RNG (its DataLoader's base seed), shifting every
    # later dropout mask: the same seed trained a different model when eval_steps changed.
    predictions = []
    for eval_steps in (1, 100):
        run = create_run(tiny_config(datasets_dir, tmp_path, "full", eval_steps=eval_steps))
        assert execute(run)["status"] == "finished"
        assert sum("eval_accuracy" in m for m in run.metrics()) == (3 if eval_steps == 1 else 1)
        predictions.append([json.loads(line)["probabilities"] for line in run.predictions_path.open()])
    assert predictions[0] == predictions[1]


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gradient_accumulation_logs_the_loss_of_one_big_batch(method, datasets_dir, tmp_path):
    # Two micro-batches of 4 are one batch of 8 rows: the same rows (random order, no length
    # grouping), so the first loss matches up to dropout. The Trainer once summed the micro-batch
    # means instead (2x here, 4x with 4 steps): loss curves and gradients grew with the setting.
    first_losses = []
    for batch_size, accumulation in ((8, 1), (4, 2)):
        run = create_run(tiny_config(datasets_dir, tmp_path, method, max_steps=1, batch_size=batch_size,
                                     gradient_accumulation_steps=accumulation, group_by_length=False))
        assert execute(run)["status"] == "finished"
        first_losses.append(next(m["loss"] for m in run.metrics() if "loss" in m))
    assert first_losses[0] == pytest.approx(first_losses[1], abs=0.1), first_losses


@pytest.mark.parametrize("method", ["full", "lora"])
def test_activation_checkpointing_trains_the_same_model(method, datasets_dir, tmp_path):
    # Recomputed activations give the same gradients, so the same seed trains the same model; with
    # LoRA too, whose frozen embeddings pass no gradient into the recomputed layers by themselves.
    predictions, logs = [], []
    for checkpointing in (False, True):
        run = create_run(tiny_config(datasets_dir, tmp_path, method, activation_checkpointing=checkpointing))
        assert execute(run)["status"] == "finished"
        predictions.append([json.loads(line)["probabilities"] for line in run.predictions_path.open()])
        logs.append(run.log_path.read_text())
    assert "activation checkpointing" not in logs[0]
    # MiniLM's 6 layers and the encoder that runs them, turned on by the Trainer itself.
    assert "activation checkpointing: 7 modules recompute their activations in the backward pass" in logs[1]
    for before, after in zip(*predictions):
        assert after == pytest.approx(before, abs=1e-4)


def test_trainer_arguments_pass_through_to_the_run(datasets_dir, tmp_path):
    # Another optimizer, by TrainingArguments' own name for it: the checkpoint's optimizer state
    # is Adafactor's factored second moments, not Adam's two full-size moments.
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", save_steps=1,
                                 trainer_arguments={"optim": "adafactor"}))
    assert execute(run)["status"] == "finished"
    assert "trainer arguments passed through: {'optim': 'adafactor'}" in run.log_path.read_text()
    state = torch.load(run.checkpoints_dir / "checkpoint-2" / "optimizer.pt", weights_only=False)["state"]
    moments = set().union(*(s.keys() for s in state.values()))
    assert {"exp_avg_sq_row", "exp_avg_sq_col"} <= moments and "exp_avg" not in moments


def test_layer_decay_reaches_the_optimizer_of_the_run(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full", save_steps=1, layer_decay=0.8))
    assert execute(run)["status"] == "finished"
    assert "layer decay 0.8: the body's learning rates range from 0.0001 down to 2.62e-05" in run.log_path.read_text()
    groups = torch.load(run.checkpoints_dir / "checkpoint-1" / "optimizer.pt", weights_only=False)["param_groups"]
    # The top layer, each layer below (MiniLM has 6), the embeddings, and the head's own rate.
    assert sorted({round(g["initial_lr"], 12) for g in groups}) == \
        sorted({round(1e-4 * 0.8 ** k, 12) for k in range(7)} | {1e-3})


def test_a_run_is_the_base_of_the_next_and_loads_after_the_runs_folder_moves(datasets_dir, tmp_path):
    # LoRA on the bundled model (with [CLS] pooling) -> LoRA on that run -> full on that one ->
    # LoRA on the full one: every pair of methods that differ in what their model folder holds.
    runs = tmp_path / "runs"
    first = create_run(tiny_config(datasets_dir, runs, "lora").override(["task.pooling=cls"]))
    assert execute(first)["status"] == "finished"
    second = create_run(tiny_config(datasets_dir, runs, "lora").override([f"model.name=run:{first.id}"]))
    assert execute(second)["status"] == "finished", second.status().get("error")
    third = create_run(tiny_config(datasets_dir, runs, "full").override([f"model.name=run:{second.id}"]))
    assert execute(third)["status"] == "finished", third.status().get("error")
    fourth = create_run(tiny_config(datasets_dir, runs, "lora").override([f"model.name=run:{third.id}"]))
    assert execute(fourth)["status"] == "finished", fourth.status().get("error")
    for run in (second, third, fourth):  # the pooling the chain started with is kept, not reset to mean
        assert json.loads((run.model_dir / "config.json").read_text())["workbench_pooling"] == "cls"
    # The default learning rates read a run's width, whatever its folder holds (an adapter, weights).
    from workbench.catalog import model_width

    assert [model_width(f"run:{run.id}", runs) for run in (first, second, third)] == [384, 384, 384]
    # The next run starts from the earlier head when the labels are the same, else from a new one.
    from workbench.catalog import resolve_model
    from workbench.tasks.classify import build_model, load_trained

    earlier, _ = load_trained(third.model_dir)
    kept = build_model(resolve_model(f"run:{third.id}", runs), {0: "0", 1: "1"}, fourth.config())
    assert torch.equal(kept.classifier.weight, earlier.classifier.weight)
    assert "head: kept from the earlier run's model (the same labels: 0, 1)" in fourth.log_path.read_text()
    new_head = build_model(resolve_model(f"run:{third.id}", runs), {0: "neg", 1: "pos"}, fourth.config())
    assert not torch.equal(new_head.classifier.weight, earlier.classifier.weight)

    moved = runs.rename(tmp_path / "moved")
    for run in (first, second, third, fourth):
        assert_model_predicts_what_its_run_did(moved / run.id / "model", moved / run.id / "predictions.jsonl")


def test_freeze_trains_only_the_top_layers(datasets_dir, tmp_path):
    from workbench.catalog import resolve_model
    from workbench.methods import freeze
    from workbench.tasks.classify import build_model

    cfg = tiny_config(datasets_dir, tmp_path, "freeze")
    model = freeze.apply(build_model(resolve_model("minilm-l6"), {0: "a", 1: "b"}, cfg), cfg)
    trainable = {n.split(".")[3] for n, p in model.named_parameters()
                 if p.requires_grad and ".layer." in n}
    assert trainable == {"5"}  # MiniLM has layers 0..5; the top one trains
    assert model.classifier.weight.requires_grad
    assert not model.bert.embeddings.word_embeddings.weight.requires_grad


def abort_at_step(run, step: int, timeout: float) -> dict:
    """Abort a launched run once it has logged `step`; its status once it has stopped."""
    deadline = time.time() + timeout
    while time.time() < deadline and (run.raw_status().get("step") or 0) < step:
        assert run.status()["status"] in ("queued", "running"), run.status()
        time.sleep(0.2)
    run.request_abort()
    while time.time() < deadline and run.status()["status"] in ("queued", "running"):
        time.sleep(0.2)
    return run.status()


def checkpoint_step_of_abort(run, status: dict, max_steps: int) -> int:
    """The step an aborted run stopped at, which its last checkpoint must be (abort_at_step(run, 3))."""
    assert status["status"] == "aborted", status
    checkpoint = run.last_checkpoint()
    assert checkpoint is not None and (checkpoint / "model.safetensors").is_file()
    stopped_at = int(checkpoint.name.split("-")[1])
    assert 3 <= stopped_at < max_steps
    return stopped_at


def test_abort_leaves_a_checkpoint_and_resume_finishes(datasets_dir, tmp_path):
    cfg = tiny_config(datasets_dir, tmp_path, "full", max_steps=40)
    run = create_run(cfg)
    launch(run)  # detached, as the app does
    status = abort_at_step(run, 3, timeout=120)
    stopped_at = checkpoint_step_of_abort(run, status, 40)
    # Started again without resume, it would train from step 0 over its own checkpoints.
    with pytest.raises(WorkbenchError, match="is aborted: it has trained before; resume it"):
        execute(run)
    assert run.status()["status"] == "aborted"

    launch(run, resume=True)  # detached, as the app's Resume does
    # From the moment it is launched the run reads as starting, not as the aborted run it was.
    assert run.status()["status"] == "queued" and run.status().get("ended") is None
    deadline = time.time() + 180
    while time.time() < deadline and run.status()["status"] in ("queued", "running"):
        time.sleep(0.2)
    resumed = run.status()
    assert resumed["status"] == "finished", resumed.get("error")
    assert resumed["step"] == 40
    # The run keeps the time it first started, and how long it ran counts both sessions, not the
    # pause between them (the Runs table and the Monitor showed the resumed part only).
    from workbench.runs.store import running_seconds

    assert resumed["started"] == status["started"] and resumed["resumed"] > status["ended"]
    assert resumed["ran_seconds"] == pytest.approx(status["ran_seconds"] + resumed["ended"] - resumed["resumed"])
    assert running_seconds(resumed) < resumed["ended"] - resumed["started"]
    steps = [m["step"] for m in run.metrics() if "loss" in m]
    after = steps[steps.index(stopped_at) + 1:] if stopped_at in steps else steps
    assert after[0] == stopped_at + 1  # continued, did not restart from step 1


def test_killed_run_is_reported_failed_with_checkpoints_kept(datasets_dir, tmp_path):
    import os
    import signal

    run = create_run(tiny_config(datasets_dir, tmp_path, "full", max_steps=400, save_steps=2))
    pid = launch(run)
    deadline = time.time() + 120
    while time.time() < deadline and run.last_checkpoint() is None:
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)  # no chance to write anything
    time.sleep(0.5)
    status = run.status()
    assert status["status"] == "failed" and "killed or crashed" in status["error"]
    assert status["error"].endswith(f"checkpoints are kept: Resume in the Monitor tab, or `workbench resume "
                                    f"{run.id}`, continues")
    assert run.last_checkpoint() is not None


def test_bad_data_fails_the_run_with_one_line(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\ngood,1\n,0\n")
    cfg = RunConfig.from_dict({"data": {"path": str(tmp_path / "train.csv")}, "runs_dir": str(tmp_path / "runs")})
    run = create_run(cfg.resolve())
    status = execute(run)
    assert status["status"] == "failed"
    assert "empty text" in status["error"] and "Traceback" not in status["error"]


def run_with_memory_limit(run, headroom: int) -> dict:
    """Execute `run` in a process whose address space may grow only `headroom` bytes past what it
    uses after its imports: torch's allocator then fails as it does on a machine without the memory."""
    import subprocess
    import sys

    script = (
        "import resource, sys\n"
        "import torch, transformers, datasets, peft\n"
        "from workbench.runs.store import Run\n"
        "from workbench.train.main import execute\n"
        "import workbench.train.pipeline\n"
        "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        f"resource.setrlimit(resource.RLIMIT_AS, (used + {headroom}, resource.RLIM_INFINITY))\n"
        f"execute(Run(__import__('pathlib').Path({str(run.dir)!r})))\n")
    subprocess.run([sys.executable, "-c", script], timeout=300, check=False)
    return run.status()


def big_batch_config(datasets_dir, runs_dir, **train) -> RunConfig:
    """A batch whose activations need several GB: 256 AG News articles at 128 word pieces, eager attention."""
    return RunConfig.from_dict({
        "model": {"name": "minilm-l6"}, "task": {"max_length": 128},
        "data": {"path": str(datasets_dir / "ag_news"), "max_train_samples": 512, "max_eval_samples": 8},
        "train": {"max_steps": 2, "batch_size": 256, "eval_steps": 100, "save_steps": 100, **train},
        "runs_dir": str(runs_dir),
    }).resolve()


def test_a_run_out_of_memory_fails_with_the_fix(datasets_dir, tmp_path):
    status = run_with_memory_limit(create_run(big_batch_config(datasets_dir, tmp_path)), 1_500_000_000)
    assert status["status"] == "failed"
    assert status["error"].startswith("out of memory (allocating "), status["error"]
    assert "lower train.batch_size" in status["error"] and "task.max_length" in status["error"]
    assert "turn on train.activation_checkpointing" in status["error"]
    assert "Traceback" not in status["error"]


def test_activation_checkpointing_fits_a_run_that_ran_out_of_memory(datasets_dir, tmp_path):
    # Measured: without checkpointing these two steps need more than 9 GB of headroom, with it less
    # than 4.5 GB; 6.5 GB leaves a margin on both sides.
    headroom = 6_500_000_000
    kept = run_with_memory_limit(create_run(big_batch_config(datasets_dir, tmp_path)), headroom)
    assert kept["status"] == "failed" and kept["error"].startswith("out of memory"), kept.get("error")
    recomputed = run_with_memory_limit(
        create_run(big_batch_config(datasets_dir, tmp_path, activation_checkpointing=True)), headroom)
    assert recomputed["status"] == "finished", recomputed.get("error")


def test_resume_refuses_data_that_changed_since_the_run_started_and_takes_it_back(datasets_dir, tmp_path):
    data = tmp_path / "sst2"
    data.mkdir()
    lines = (datasets_dir / "sst2" / "train.tsv").read_text().splitlines(keepends=True)
    (data / "train.tsv").write_text("".join(lines[:201]))
    (data / "dev.tsv").write_text("".join((datasets_dir / "sst2" / "dev.tsv").read_text().splitlines(keepends=True)[:41]))
    cfg = tiny_config(datasets_dir, tmp_path / "runs", "full", max_steps=4, save_steps=2)
    cfg.data.path = str(data)
    run = create_run(cfg)
    assert execute(run)["status"] == "finished"
    run.update_status(status="failed", error="killed")  # as if it had died after its checkpoint
    checkpoints = [p.name for p in run.complete_checkpoints()]
    original = (data / "train.tsv").read_text()
    (data / "train.tsv").write_text(original + "".join(lines[201:211]))  # ten more rows: another sample

    # Resume from the CLI or the Monitor refuses before a process starts, and the run stays as it was.
    from workbench.preflight import check_resume

    with pytest.raises(WorkbenchError, match=f"the data at {data} changed since run {run.id} started"):
        check_resume(run)
    assert run.status()["status"] == "failed" and run.status()["error"] == "killed"
    # The training process checks again, for a run resumed another way.
    refused = execute(run, resume=True)
    assert refused["status"] == "failed"
    assert refused["error"] == (
        f"the data at {data} changed since run {run.id} started: its rows are not the ones its "
        "checkpoints were trained on, so resuming would continue on other data; put the original data "
        f"back and resume, or train a new run on this data (workbench train {run.dir / 'config.yaml'})")
    assert checkpoints and [p.name for p in run.complete_checkpoints()] == checkpoints  # kept

    (data / "train.tsv").write_text(original)
    assert execute(run, resume=True)["status"] == "finished"


def test_a_run_cancelled_in_the_queue_after_its_launch_ends_aborted_without_training(datasets_dir, tmp_path):
    run = create_run(tiny_config(datasets_dir, tmp_path, "full"))
    run.request_abort()  # queued: aborted at once; the process the queue launched then finds it so
    status = execute(run)
    assert status["status"] == "aborted" and not status.get("started") and not run.metrics()


def test_an_abort_right_after_resume_stops_the_resumed_run(datasets_dir, tmp_path):
    # Resume, then Abort before the new process has started training (a click on each): the
    # request reaches that process, which must not take it for the flag left by the first abort.
    run = create_run(tiny_config(datasets_dir, tmp_path, "full"))
    run.update_status(status="aborted", started=1.0, ended=2.0)
    run.abort_path.touch()  # what the first abort leaves
    process = psutil.Process(launch(run, resume=True))
    run.request_abort()
    process.wait(timeout=120)
    status = run.status()
    assert status["status"] == "aborted" and not run.metrics(), status


def test_resume_clicked_twice_launches_one_process(datasets_dir, tmp_path):
    import os
    import signal

    run = create_run(tiny_config(datasets_dir, tmp_path, "full"))
    run.update_status(status="aborted", started=1.0, ended=2.0)
    first = launch(run, resume=True)
    try:
        # Before the first process reports, the run reads queued: a second launch would pass for a
        # resume of a waiting run and start another process on the same folder.
        with pytest.raises(WorkbenchError, match=rf"run {run.id} is starting \(process {first}\); wait for it"):
            launch(run, resume=True)
    finally:
        os.killpg(first, signal.SIGKILL)


def test_a_run_resumed_in_two_processes_at_once_trains_in_one(datasets_dir, tmp_path):
    import subprocess
    import sys

    run = create_run(tiny_config(datasets_dir, tmp_path, "full"))
    run.update_status(status="aborted", started=1.0, ended=2.0)
    # `workbench resume` typed in two terminals: two training processes start on the folder at
    # once, and each finds it aborted before either marks it running (that waits for imports).
    command = [sys.executable, "-m", "workbench.train.main", str(run.dir), "--resume"]
    both = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((process.wait(timeout=180), process.stderr.read()) for process in both)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert f"error: run {run.id} is already training in another process" in outcomes[1][1]
    assert run.status()["status"] == "finished"
    steps = [row["step"] for row in run.metrics() if "loss" in row]
    assert steps == [1, 2, 3]  # each step trained once


def test_resume_writes_a_lost_status_anew_with_the_runs_model_and_method(datasets_dir, tmp_path):
    # The README's way back for a damaged status.json is `workbench resume`: the rewritten status
    # lacked the model, method, name and date, so the run listed blank and sorted last for ever.
    from workbench.runs.store import list_runs

    cfg = tiny_config(datasets_dir, tmp_path, "lora", max_steps=1)
    cfg.name = "baseline"
    run, newer = create_run(cfg), create_run(cfg)
    run.status_path.write_text('{"status": "runn')
    assert execute(run, resume=True)["status"] == "finished"
    status = run.status()
    assert (status["model"], status["method"], status["task"], status["name"]) == \
        ("minilm-l6", "lora", "classification", "baseline")
    assert status["created"] == pytest.approx((run.dir / "config.yaml").stat().st_mtime)
    assert [r.id for r in list_runs(tmp_path)] == [newer.id, run.id]  # newest first, as created


def test_resume_without_a_checkpoint_takes_the_data_as_it_is_now(datasets_dir, tmp_path):
    # A run that failed before its first checkpoint starts again from step 0: the data it failed on
    # may be fixed meanwhile, and nothing trained on the old rows would be mixed with the new.
    from workbench.preflight import check_resume

    run = create_run(tiny_config(datasets_dir, tmp_path, "full"))
    run.update_status(status="failed", error="a bad row", data_fingerprint="0123456789abcdef", started=1.0)
    assert not run.complete_checkpoints()
    check_resume(run)  # no refusal
