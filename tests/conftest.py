"""Shared fixtures: the real datasets beside the checkout and one small fine-tuned SST-2 run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.finished_runs import finished_run

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    assert DATASETS.is_dir(), f"the shared datasets are expected at {DATASETS}"
    return DATASETS


@pytest.fixture(scope="session")
def sst2_run(tmp_path_factory, datasets_dir):
    """A finished full fine-tuning run of MiniLM on 1,000 SST-2 sentences (about a minute).

    Good enough (~0.8 dev accuracy) for analysis tests that need a model that learned something.
    """
    return finished_run({
        "model": {"name": "minilm-l6"},
        "task": {"max_length": 64},
        "data": {"path": str(datasets_dir / "sst2"), "max_train_samples": 1000, "max_eval_samples": 200,
                 "label_names": ["negative", "positive"]},
        # Random batches pinned: the analysis tests need a model that learned something, not the
        # training defaults of the day (at 1,000 sentences length-grouped batches gave seed 42
        # 0.771 dev accuracy, random ones 0.796).
        "train": {"epochs": 1, "batch_size": 16, "eval_steps": 1000, "save_steps": 1000, "logging_steps": 10,
                  "group_by_length": False},
    }, tmp_path_factory.mktemp("sst2_runs"))


@pytest.fixture(scope="session")
def mrpc_run(tmp_path_factory, datasets_dir):
    """A finished run of MiniLM on 160 MRPC sentence pairs (10 steps, about half a minute): a model
    that reads "[CLS] a [SEP] b [SEP]" with token types, for the views of text pairs. It learned
    little; what is tested on it is that pairs are read and explained as training read them."""
    return finished_run({
        "model": {"name": "minilm-l6"}, "task": {"max_length": 64},
        "data": {"path": str(datasets_dir / "mrpc"), "max_train_samples": 160, "max_eval_samples": 24},
        "train": {"epochs": 1, "batch_size": 16, "eval_steps": 1000, "save_steps": 1000, "logging_steps": 10},
    }, tmp_path_factory.mktemp("mrpc_runs"))


@pytest.fixture
def make_small_disk(tmp_path):
    """make_small_disk(megabytes) -> a folder on a real filesystem of that size (tmpfs), so a disk
    really fills. Mounting needs root, as CI has; elsewhere the test is skipped."""
    import subprocess

    mounts = []

    def make(megabytes: int) -> Path:
        mount = tmp_path / f"small_disk_{len(mounts)}"
        mount.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a small filesystem here: {done.stderr.strip()}")
        mounts.append(mount)
        return mount

    yield make
    for mount in mounts:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def tiny_model_folder(tmp_path_factory, name: str, build) -> Path:
    """A model folder as save_pretrained writes it: a random tiny model, build(vocab_size, pad_id),
    beside MiniLM's tokenizer (the weights are random; what is tested is that the architecture
    goes through the workbench)."""
    from transformers import AutoTokenizer

    from workbench.catalog import bundled_model_path

    folder = tmp_path_factory.mktemp("models") / name
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_path("minilm-l6"))
    build(len(tokenizer), tokenizer.pad_token_id).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_t5_folder(tmp_path_factory) -> Path:
    """An encoder-decoder whose encoder classifies alone (T5EncoderModel)."""
    from transformers import T5Config, T5Model

    return tiny_model_folder(tmp_path_factory, "tiny-t5", lambda vocab, pad: T5Model(T5Config(
        vocab_size=vocab, d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16, pad_token_id=pad,
        decoder_start_token_id=pad)))


@pytest.fixture(scope="session")
def tiny_bart_folder(tmp_path_factory) -> Path:
    """An encoder-decoder whose encoder transformers does not build alone."""
    from transformers import BartConfig, BartModel

    return tiny_model_folder(tmp_path_factory, "tiny-bart", lambda vocab, pad: BartModel(BartConfig(
        vocab_size=vocab, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, pad_token_id=pad)))


@pytest.fixture(scope="session")
def tiny_gpt2_folder(tmp_path_factory) -> Path:
    """A decoder whose projections are transformers' Conv1D, as GPT-2, DistilGPT-2 and their kin have."""
    from transformers import GPT2Config, GPT2Model

    return tiny_model_folder(tmp_path_factory, "tiny-gpt2", lambda vocab, pad: GPT2Model(GPT2Config(
        vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=128, pad_token_id=pad)))


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited, as a killed process's is."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
