"""How a run's devices become a training process: which command, which GPUs, and a clear refusal
for GPUs the machine does not have."""

from __future__ import annotations

import sys

import pytest

from workbench.config import RunConfig
from workbench.errors import ConfigError
from workbench.runs.store import create_run
from workbench.train.launch import (gpu_indices, missing_gpu_problem, precision_problem,
                                    require_supported_precision, training_command)


@pytest.mark.parametrize("devices, gpus", [("auto", []), ("cpu", []), ("0", ["0"]), ("0, 2", ["0", "2"])])
def test_gpu_indices(devices, gpus):
    assert gpu_indices(devices) == gpus


@pytest.mark.parametrize("devices, available, expected", [
    ("auto", [], None),
    ("cpu", ["0"], None),
    ("1", ["0", "1"], None),
    ("0", [], "GPU 0 asked for, but this machine has no NVIDIA GPU; use auto (every GPU, else the CPU) or cpu"),
    ("0,3", ["0", "1"], "GPU 3 asked for, but this machine has GPUs 0, 1; use GPU indices among 0, 1, auto or cpu"),
])
def test_missing_gpu_problem(devices, available, expected):
    assert missing_gpu_problem(devices, available) == expected


@pytest.mark.parametrize("devices, torchrun", [("cpu", False), ("0", False), ("0,1", True)])
def test_several_gpus_train_under_torchrun(tmp_path, devices, torchrun):
    run = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "devices": devices,
                                          "runs_dir": str(tmp_path)}))
    command = training_command(run, resume=True)
    assert command[0] == sys.executable
    assert command[-3:] == ["workbench.train.main", str(run.dir), "--resume"]
    assert ("torch.distributed.run" in command) is torchrun
    if torchrun:
        assert "--nproc_per_node=2" in command


def test_auto_on_a_machine_with_several_gpus_trains_under_torchrun(tmp_path, monkeypatch):
    # One process driving several GPUs would get torch's DataParallel from the Trainer: slower than
    # a process per GPU. (available_gpus is the machine's answer; CI has no GPU to give it.)
    from workbench.train import launch

    run = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "runs_dir": str(tmp_path)}))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    for gpus, torchrun in ((["0", "1", "2"], True), (["0"], False), ([], False)):
        monkeypatch.setattr(launch, "available_gpus", lambda: gpus)
        command = training_command(run)
        assert ("--nproc_per_node=3" in command) is torchrun and ("torch.distributed.run" in command) is torchrun
        assert launch.needs_own_process(run) is torchrun
    # CUDA_VISIBLE_DEVICES set for the workbench limits auto to those GPUs (nvidia-smi lists them all).
    monkeypatch.setattr(launch, "available_gpus", lambda: ["0", "1", "2", "3"])
    for visible, processes in (("2,3", 2), ("1", 1), ("", 0), ("-1", 0)):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        assert len(launch.process_gpus("auto")) == processes
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert "--nproc_per_node=2" in training_command(run) and "--shutdown-timeout=120" in training_command(run)
    # A run that names GPUs trains in a process of its own even in the foreground: only a new
    # process's CUDA_VISIBLE_DEVICES hides the other GPUs.
    named = create_run(RunConfig.from_dict({"data": {"path": "x.csv"}, "devices": "1", "runs_dir": str(tmp_path)}))
    assert launch.needs_own_process(named) and launch.run_env(named)["CUDA_VISIBLE_DEVICES"] == "1"
    assert training_command(named, echo=True)[-1] == "--echo"


def test_bf16_is_refused_on_a_gpu_without_it_before_the_run():
    problem = precision_problem("bf16", on_gpu=True, gpu_has_bf16=False)
    assert problem == ("bf16 needs an NVIDIA GPU from Ampere on (A100, RTX 30xx, or newer) and this one lacks "
                       "it; use fp16, or auto (bf16 where the GPU has it, else fp32)")
    assert precision_problem("bf16", on_gpu=True, gpu_has_bf16=True) is None
    assert precision_problem("bf16", on_gpu=False, gpu_has_bf16=False) is None  # the CPU runs it
    assert precision_problem("fp16", on_gpu=True, gpu_has_bf16=False) is None


def test_this_machine_runs_every_precision_it_is_asked_for():
    import torch

    for precision in ("auto", "fp32", "bf16", "fp16"):
        for devices in ("auto", "cpu"):
            if torch.cuda.is_available() and not torch.cuda.is_bf16_supported() and precision == "bf16" \
                    and devices == "auto":
                with pytest.raises(ConfigError, match="train.precision: bf16 needs"):
                    require_supported_precision(precision, devices)
            else:
                require_supported_precision(precision, devices)
