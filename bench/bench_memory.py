"""Activation checkpointing off and on, side by side in one run: peak memory and training speed,
for full fine-tuning and LoRA.

    python bench/bench_memory.py              # MiniLM-L6 and SmolLM2-135M, full fine-tuning and LoRA,
                                              # about 12 minutes on 2 CPU cores
    python bench/bench_memory.py --models minilm-l6 --methods lora --steps 3

Long texts are where activations, not weights, fill memory, so the data is the longest dialogues of
the shared HH-RLHF preference pairs (prompt + chosen reply, labelled "chosen", and prompt + rejected
reply, "rejected"), read at up to 512 tokens, batches of 8. Each run is `workbench train` in its own
process; its peak resident memory is that process's own (os.wait4), so the runs cannot blur into
each other. Speed is the training samples/s the run records. On a GPU the same flag frees device
memory; this measures the CPU here.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFERENCE = ROOT.parent / "shared" / "datasets" / "preference" / "test.jsonl"


def long_dialogues(folder: Path, rows: int) -> Path:
    """A classification CSV of the longest preference dialogues, chosen against rejected."""
    pairs = [json.loads(line) for line in PREFERENCE.open()]
    pairs.sort(key=lambda p: -len(p["prompt"] + p["chosen"]))
    path = folder / "long_dialogues.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for pair in pairs[: rows // 2]:
            writer.writerow([pair["prompt"] + pair["chosen"], "chosen"])
            writer.writerow([(pair.get("rejected_prompt") or pair["prompt"]) + pair["rejected"], "rejected"])
    return path


def measured_run(model: str, method: str, data: Path, runs_dir: Path, steps: int, checkpointing: bool) -> dict:
    cmd = [sys.executable, "-m", "workbench", "train", "--model", model, "--method", method, "--data", str(data),
           "--runs-dir", str(runs_dir), "--max-steps", str(steps), "--batch-size", "8",
           "--max-eval-samples", "16", "--set", "task.max_length=512", "--set", "train.eval_steps=100000",
           "--set", "train.save_steps=100000", "--set", f"train.activation_checkpointing={str(checkpointing).lower()}"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, code, usage = os.wait4(process.pid, 0)
        out.seek(0), err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        if code or not lines:
            raise RuntimeError(err.read()[-3000:])
    record = json.loads(lines[-1])
    status = json.loads((Path(record["output"]) / "status.json").read_text())
    return {"peak_gib": usage.ru_maxrss / 2**20,  # ru_maxrss is in KiB on Linux
            "samples_per_second": status["train_step_samples_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="minilm-l6,smollm2-135m-instruct")
    parser.add_argument("--methods", default="full,lora")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    data = long_dialogues(work, rows=16 * args.steps + 32)
    print(f"{'model':24} {'method':6} {'checkpointing':>13} {'peak memory':>12} {'samples/s':>10}")
    for model in args.models.split(","):
        for method in args.methods.split(","):
            results = {}
            for checkpointing in (False, True):
                results[checkpointing] = r = measured_run(model, method, data, work / "runs", args.steps, checkpointing)
                print(f"{model:24} {method:6} {'on' if checkpointing else 'off':>13} {r['peak_gib']:>8.2f} GiB "
                      f"{r['samples_per_second']:>10.2f}", flush=True)
            off, on = results[False], results[True]
            print(f"{model:24} {method:6} {'on / off':>13} {on['peak_gib'] / off['peak_gib']:>12.2f} "
                  f"{on['samples_per_second'] / off['samples_per_second']:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
