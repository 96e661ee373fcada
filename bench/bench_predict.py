"""Labelling a file with a finished run: `workbench predict` against a plain PyTorch loop, side by side.

    python bench/bench_predict.py                 # trains a model first (~1-2 min on 2 cores)
    python bench/bench_predict.py --run runs/ID   # any finished classification run
    python bench/bench_predict.py --repeat 3

The texts are SST-2 dev and test sentences (2,693) written to a CSV with no label column, as a
user brings new data. Both sides use the same loaded model and tokenizer and batches of 64:
  * workbench: `predict_run` — reads and checks the file, batches sorted by length, inference
    mode, writes the JSONL;
  * plain: the loop a script would write — batches in file order, padded to their longest text,
    under torch.no_grad, argmax.
Pairs alternate (workbench, plain, workbench, ...) so a busy machine slows both alike. Prints rows/s
and the ratio per pair, checks that both label every row the same, and writes
bench/results/predict-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SST2 = ROOT.parent / "shared" / "datasets" / "sst2"
BATCH = 64


def train_run() -> Path:
    runs_dir = tempfile.mkdtemp(prefix="bench_predict_runs_")
    cmd = [sys.executable, "-m", "workbench", "train", "--model", "minilm-l6", "--data", str(SST2),
           "--max-train-samples", "1000", "--epochs", "1", "--runs-dir", runs_dir,
           "--set", "data.label_names=[negative,positive]", "--set", "train.save_steps=100000"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [row for row in out.stdout.splitlines() if row.startswith("{")]
    if out.returncode or not lines:
        sys.exit(f"training failed:\n{out.stderr[-2000:]}")
    return Path(json.loads(lines[-1])["output"])


def plain_labels(model, tokenizer, texts: list[str], max_length: int) -> list[int]:
    import torch

    labels = []
    with torch.no_grad():
        for start in range(0, len(texts), BATCH):
            batch = tokenizer(texts[start:start + BATCH], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt")
            labels += model(**batch).logits.argmax(-1).tolist()
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a finished classification run folder (default: train one)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating pairs")
    args = parser.parse_args()

    import pandas as pd
    import torch

    from workbench.predict import load_run_model, predict_run
    from workbench.runs.store import get_run

    run_dir = Path(args.run) if args.run else train_run()
    run = get_run(run_dir.parent, run_dir.name)
    model, tokenizer = load_run_model(run)
    max_length = run.config().task.max_length
    texts = pd.concat([pd.read_csv(SST2 / name, sep="\t")["sentence"] for name in ("dev.tsv", "test.tsv")])
    texts = texts.str.strip().tolist()
    work = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    data = work / "new_texts.csv"
    pd.DataFrame({"sentence": texts}).to_csv(data, index=False)
    out = work / "labelled.jsonl"

    predict_run(run, str(data), output=str(out), loaded=(model, tokenizer))  # warm-up, both paths
    plain_labels(model, tokenizer, texts[:BATCH], max_length)
    pairs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        predict_run(run, str(data), output=str(out), loaded=(model, tokenizer))
        ours = time.perf_counter() - start
        start = time.perf_counter()
        plain = plain_labels(model, tokenizer, texts, max_length)
        theirs = time.perf_counter() - start
        pairs.append({"workbench_rows_per_s": len(texts) / ours, "plain_rows_per_s": len(texts) / theirs,
                      "ratio": theirs / ours})
        print(f"workbench {len(texts) / ours:7.1f} rows/s · plain {len(texts) / theirs:7.1f} rows/s · "
              f"ratio {theirs / ours:.2f}", flush=True)

    names = model.config.id2label
    ours_labels = [json.loads(line)["predicted"] for line in out.open()]
    same = sum(a == names[b] for a, b in zip(ours_labels, plain)) / len(texts)
    ratios = [p["ratio"] for p in pairs]
    print(f"{len(texts)} texts, batch {BATCH}, {torch.get_num_threads()} threads: median ratio "
          f"{statistics.median(ratios):.2f}; same label on {same:.2%} of rows")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    record = {"run": str(run_dir), "texts": len(texts), "batch": BATCH, "pairs": pairs,
              "median_ratio": statistics.median(ratios), "same_label_share": same,
              "load_average": os.getloadavg()}
    path = results / f"predict-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"-> {path}")


if __name__ == "__main__":
    # Every run folder the bench makes (hundreds of MB of checkpoints each) goes with this one.
    with tempfile.TemporaryDirectory(prefix="workbench_bench_") as scratch:
        tempfile.tempdir = scratch
        main()
