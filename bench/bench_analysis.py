"""Speed of the analysis views on the CPU, and what bounding SHAP's max_evals costs in faithfulness.

    python bench/bench_analysis.py                 # trains the model first (~2-4 min on 2 cores)
    python bench/bench_analysis.py --run runs/ID   # a finished SST-2 classification run
    python bench/bench_analysis.py --quick         # a smoke test of the bench itself
    python bench/bench_analysis.py --pairs         # text pairs: MiniLM fine-tuned on MRPC (~4 min)

The bundled MiniLM fine-tuned on 2,000 SST-2 sentences (max_length 64), explaining SST-2 dev
sentences (all under 64 word pieces). Per sentence, after one warm-up call of each:
  * SHAP, ours: Partition explainer, token-id masker, batched direct model calls, max_evals 300;
  * SHAP, the library's default path: `shap.Explainer(transformers text-classification pipeline)`
    on a few of the same sentences, side by side (it explains every class; its max_evals is 500);
  * Integrated Gradients (Captum, 32 Gauss-Legendre steps), gradient x input, attention (the
    maps and the four figures the view draws);
  * clustering 1,000 errors: the run's real dev and test errors, topped up to 1,000 distinct texts
    with the least confident correct predictions (the near misses) when there are fewer;
    embedding with the model + k-means with k by silhouette + PCA + summaries;
  * ERASER comprehensiveness/sufficiency on dev sentences for SHAP at max_evals 100/300/500 and
    unbounded (the whole partition tree), IG, gradient x input and random word pieces.
With --pairs, the same explainers on MRPC sentence pairs read as training read them ("[CLS] a
[SEP] b [SEP]", token types 0 then 1): time per pair and ERASER faithfulness against random word
pieces, so a pair's attributions are shown to beat chance as a single sentence's are.
Prints one table and writes bench/results/analysis-<time>.json. Timings depend on what else the
machine runs: the JSON records the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
MRPC = ROOT.parent / "shared" / "datasets" / "mrpc"
TARGETS = {"shap": 2.0, "integrated_gradients": 1.0, "attention": 0.3, "clustering_1000_errors": 5.0}
UNBOUNDED = 1_000_000  # more than any partition tree of a 64-piece sentence needs
# OpenMP's wait policy, read when torch loads: with the default (threads spin at every barrier), a
# 2-core machine that also runs other work made these small forward passes up to 10x slower here.
# The app runs its analysis with PASSIVE (workbench/ui/app.py), so the bench measures that;
# OMP_WAIT_POLICY=ACTIVE python bench/bench_analysis.py shows the spinning policy's figures.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
WAIT_POLICY = os.environ["OMP_WAIT_POLICY"]


def train_run(samples: int, pairs: bool = False) -> Path:
    runs_dir = tempfile.mkdtemp(prefix="bench_analysis_runs_")
    data, max_length, names = (MRPC, 128, "[different,paraphrase]") if pairs else (SST2, 64, "[negative,positive]")
    cmd = [sys.executable, "-m", "workbench", "train", "--model", "minilm-l6", "--data", str(data),
           "--max-train-samples", str(samples), "--epochs", "1", "--runs-dir", runs_dir,
           "--set", f"task.max_length={max_length}", "--set", f"data.label_names={names}",
           "--set", "train.save_steps=100000"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    line = [row for row in out.stdout.splitlines() if row.startswith("{")]
    if out.returncode or not line:
        raise RuntimeError(out.stdout[-2000:] + out.stderr[-3000:])
    return Path(json.loads(line[-1])["output"])


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"median": statistics.median(ordered), "mean": statistics.fmean(ordered),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], "max": ordered[-1], "n": len(ordered)}


def library_shap(model, tokenizer, texts: list[str]) -> list[float]:
    """The documented default: shap.Explainer on a transformers text-classification pipeline."""
    import shap
    from transformers import logging as hf_logging
    from transformers import pipeline

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity(hf_logging.CRITICAL)  # "PooledClassifier is not supported for text-classification": it works
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None, device=-1)
    hf_logging.set_verbosity(verbosity)
    explainer = shap.Explainer(pipe)
    explainer([texts[0]], silent=True)  # warm-up, as for ours; silent: no progress bar, same work
    return [timed(explainer, [text], silent=True)[0] for text in texts]


def print_faithfulness(report, per: str) -> None:
    table = report.table.set_index("explainer")
    print(f"{'explainer':28s} {'comprehensiveness':>18s} {'sufficiency':>12s} {per:>8s}")
    for name, row in table.iterrows():
        print(f"{name:28s} {row['comprehensiveness']:11.3f} ±{row['comprehensiveness_sem']:.3f} "
              f"{row['sufficiency']:12.3f} {row['seconds_per_text']:8.2f}")


def error_sample(run, size: int):
    """The run's misclassified dev and test examples, topped up with its least confident correct
    predictions to `size` distinct texts."""
    import pandas as pd

    from workbench.analysis import load_predictions

    frames = [load_predictions(run)[0]]
    test = run.dir / "predictions_test.jsonl"
    if test.is_file():
        frames.append(load_predictions(test)[0])
    every = pd.concat(frames, ignore_index=True).drop_duplicates("text")
    wrong = every[every["gold_id"] != every["predicted_id"]]
    right = every[every["gold_id"] == every["predicted_id"]].sort_values("confidence")
    sample = pd.concat([wrong, right.head(max(0, size - len(wrong)))]).head(size).reset_index(drop=True)
    return sample, len(wrong)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", help="a finished SST-2 classification run folder (default: train one)")
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--sentences", type=int, default=20, help="dev sentences timed per explainer")
    parser.add_argument("--library-sentences", type=int, default=3, help="sentences through shap's pipeline path")
    parser.add_argument("--faith-texts", type=int, default=30, help="dev sentences for the max_evals sweep")
    parser.add_argument("--errors", type=int, default=1000)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="a few sentences each: checks the bench runs")
    parser.add_argument("--pairs", action="store_true", help="MRPC sentence pairs instead (--run: an MRPC run)")
    args = parser.parse_args()
    if args.quick:
        args.sentences, args.library_sentences, args.faith_texts, args.errors = 3, 1, 3, 200
    if args.pairs:
        return pairs_main(args)

    import torch

    from workbench import analysis as A
    from workbench.analysis.attribution import _native_bf16
    from workbench.runs.store import Run

    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    started = time.perf_counter()
    run_dir = Path(args.run) if args.run else train_run(args.train_samples)
    train_seconds = time.perf_counter() - started
    run = Run(run_dir)
    model, tokenizer, max_length = A.load_model(run)
    predictions, labels = A.load_predictions(run)
    dev = predictions[[len(tokenizer(t)["input_ids"]) <= 64 for t in predictions["text"]]]
    texts = dev.sample(n=min(args.sentences, len(dev)), random_state=0)["text"].tolist()
    lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
    print(f"run {run.id}: dev accuracy {A.classification_metrics(predictions, labels).accuracy:.3f}; "
          f"{len(texts)} dev sentences of {min(lengths)}-{max(lengths)} word pieces (mean "
          f"{statistics.fmean(lengths):.1f}); torch threads {torch.get_num_threads()}, "
          f"native bf16 {_native_bf16(torch.device('cpu'))}; OMP_WAIT_POLICY {WAIT_POLICY}; "
          f"load average {load_before[0]:.1f}", flush=True)

    def attention_view(text):
        result = A.attention_maps(model, tokenizer, text, max_length=max_length)
        return (A.attention_grid_figure(result, (3, 0)), A.attention_head_figure(result, 3, 0),
                A.rollout_figure(result), A.pooled_rollout_figure(result))

    views = {
        "shap": lambda t: A.shap_attributions(model, tokenizer, t, max_length=max_length),
        "integrated_gradients": lambda t: A.integrated_gradients(model, tokenizer, t, max_length=max_length),
        "gradient_x_input": lambda t: A.gradient_x_input(model, tokenizer, t, max_length=max_length),
        "attention": attention_view,
        "attention_maps_only": lambda t: A.attention_maps(model, tokenizer, t, max_length=max_length),
    }
    results: dict = {"per_sentence": {}, "first_call": {}}
    extra: dict = {}
    for name, fn in views.items():
        results["first_call"][name] = timed(fn, texts[0])[0]  # imports, kernel set-up
        seconds, outputs = [], []
        for text in texts:
            s, out = timed(fn, text)
            seconds.append(s)
            outputs.append(out)
        results["per_sentence"][name] = summary(seconds)
        if name == "shap":
            extra["shap_evaluations"] = statistics.fmean(o.evaluations for o in outputs)
            extra["shap_additivity_max_error"] = max(abs(o.total - (o.score_input - o.score_baseline)) for o in outputs)
        if name == "integrated_gradients":
            extra["ig_abs_delta"] = summary([abs(o.delta) for o in outputs])
        print(f"  {name}: median {results['per_sentence'][name]['median']:.3f} s", flush=True)

    # The library's default path on the first few of the same sentences, side by side with ours.
    few = texts[:args.library_sentences]
    library = library_shap(model, tokenizer, few)
    ours = [timed(views["shap"], t)[0] for t in few]
    results["shap_library_vs_ours"] = {
        "sentences": len(few), "library_seconds": library, "ours_seconds": ours,
        "library_mean": statistics.fmean(library), "ours_mean": statistics.fmean(ours),
        "speedup": statistics.fmean(library) / statistics.fmean(ours)}
    print(f"  shap library default: {statistics.fmean(library):.2f} s vs ours {statistics.fmean(ours):.2f} s", flush=True)

    # Clustering 1,000 errors: the whole view (embed + cluster + summaries), then its parts.
    sample, real_errors = error_sample(run, args.errors)
    sample_texts = sample["text"].astype(str).tolist()
    A.embed(model, tokenizer, sample_texts[:64], max_length=max_length)  # warm-up
    embed_seconds, vectors = timed(A.embed, model, tokenizer, sample_texts, max_length=max_length)
    cluster_seconds, clusters = timed(A.cluster_errors, sample, vectors)
    results["clustering"] = {"examples": len(sample), "real_errors": real_errors,
                             "near_misses": len(sample) - real_errors, "embed_seconds": embed_seconds,
                             "cluster_seconds": cluster_seconds, "total_seconds": embed_seconds + cluster_seconds,
                             "k": clusters.k}
    print(f"  clustering {len(sample)} errors: {embed_seconds + cluster_seconds:.2f} s", flush=True)

    # What bounding max_evals costs in faithfulness.
    faith_texts = A.sample_texts(dev, args.faith_texts, seed=1)
    budgets = (100, 300, 500, UNBOUNDED)
    explainers = A.standard_explainers(model, tokenizer, max_length, shap_max_evals=budgets)
    explainers = {name.replace(f"max_evals {UNBOUNDED}", "unbounded"): fn for name, fn in explainers.items()}
    faith_seconds, report = timed(A.measure_faithfulness, model, tokenizer, faith_texts, explainers,
                                  max_length=max_length)
    full_evals = statistics.fmean(A.shap_plan(tokenizer, t, UNBOUNDED, max_length)[0] for t in faith_texts)
    results["faithfulness"] = {"texts": len(faith_texts), "seconds": faith_seconds,
                               "unbounded_shap_evaluations_mean": full_evals,
                               "table": report.table.to_dict(orient="records")}
    load_after = os.getloadavg()

    record = {"run": str(run.dir), "train_seconds": None if args.run else train_seconds,
              "sentences": len(texts), "word_pieces": {"min": min(lengths), "max": max(lengths),
                                                       "mean": statistics.fmean(lengths)},
              "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "native_bf16": _native_bf16(torch.device("cpu")), "omp_wait_policy": WAIT_POLICY,
                          "python": platform.python_version(),
                          "torch": torch.__version__, "load_average_before": load_before,
                          "load_average_after": load_after},
              "targets_seconds": TARGETS, **results, **extra}

    per = results["per_sentence"]
    rows = [
        ("SHAP, ours (max_evals 300), s/sentence", per["shap"]["median"], TARGETS["shap"]),
        (f"SHAP, shap.Explainer(pipeline), s/sentence (n={len(few)})",
         results["shap_library_vs_ours"]["library_mean"], None),
        ("  speed-up of ours on the same sentences", results["shap_library_vs_ours"]["speedup"], None),
        ("Integrated Gradients (32 steps), s/sentence", per["integrated_gradients"]["median"],
         TARGETS["integrated_gradients"]),
        ("gradient x input, s/sentence", per["gradient_x_input"]["median"], None),
        ("attention, maps + 4 figures, s/sentence", per["attention"]["median"], TARGETS["attention"]),
        (f"clustering {len(sample)} errors, s ({real_errors} real)", results["clustering"]["total_seconds"],
         TARGETS["clustering_1000_errors"]),
    ]
    print(f"\nAnalysis speed, MiniLM fine-tuned on SST-2, CPU ({os.cpu_count()} cores, torch threads "
          f"{torch.get_num_threads()}, OMP_WAIT_POLICY {WAIT_POLICY}, load average {load_before[0]:.1f} -> "
          f"{load_after[0]:.1f})")
    print(f"{'':58s} {'value':>8s} {'target':>8s}")
    for label, value, target in rows:
        verdict = "" if target is None else ("  ok" if value <= target else "  MISSED")
        print(f"{label:58s} {value:8.3f} {'' if target is None else f'{target:8.1f}'}{verdict}")
    print(f"\nFaithfulness on {len(faith_texts)} dev sentences (AOPC over 1/5/10/20/50% of word pieces; "
          f"unbounded SHAP needs {full_evals:.0f} evaluations on average)")
    print_faithfulness(report, 's/text')

    out = ROOT / "bench" / "results" / f"analysis-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=float))
    print(f"\nwrote {out.relative_to(ROOT)}")


def pairs_main(args) -> None:
    """Time and faithfulness of SHAP, Integrated Gradients and gradient x input on MRPC dev pairs."""
    import torch

    from workbench import analysis as A
    from workbench.runs.store import Run

    load_before = os.getloadavg()
    started = time.perf_counter()
    # All of MRPC's 3,668 training pairs: on fewer the model stays near the majority class and
    # there is little for an explainer to find.
    run_dir = Path(args.run) if args.run else train_run(3668 if not args.quick else 400, pairs=True)
    train_seconds = time.perf_counter() - started
    run = Run(run_dir)
    model, tokenizer, max_length = A.load_model(run)
    predictions, labels = A.load_predictions(run)
    accuracy = A.classification_metrics(predictions, labels).accuracy
    examples = A.sample_texts(predictions, args.faith_texts, seed=1)
    if not examples or not isinstance(examples[0], tuple):
        raise SystemExit(f"{run_dir} was not trained on text pairs: give an MRPC run, or no --run")
    lengths = [len(tokenizer(a, b)["input_ids"]) for a, b in examples]
    print(f"run {run.id}: dev accuracy {accuracy:.3f}; {len(examples)} dev pairs of {min(lengths)}-"
          f"{max(lengths)} word pieces (mean {statistics.fmean(lengths):.1f}); torch threads "
          f"{torch.get_num_threads()}; OMP_WAIT_POLICY {WAIT_POLICY}; load average {load_before[0]:.1f}", flush=True)

    explainers = A.standard_explainers(model, tokenizer, max_length)
    per_pair = {}
    for name, explain in explainers.items():
        explain(*examples[0])  # warm-up: imports, kernel set-up
        timed_pairs = examples[:args.sentences]
        per_pair[name] = summary([timed(explain, a, b)[0] for a, b in timed_pairs])
        print(f"  {name}: median {per_pair[name]['median']:.3f} s per pair", flush=True)
    faith_seconds, report = timed(A.measure_faithfulness, model, tokenizer, examples, explainers,
                                  max_length=max_length)
    load_after = os.getloadavg()

    print(f"\nFaithfulness on {len(examples)} MRPC dev pairs (AOPC over 1/5/10/20/50% of word pieces, "
          f"both texts together; load average {load_before[0]:.1f} -> {load_after[0]:.1f})")
    print_faithfulness(report, 's/pair')
    record = {"run": str(run.dir), "pairs": True, "train_seconds": None if args.run else train_seconds,
              "dev_accuracy": accuracy, "word_pieces": {"min": min(lengths), "max": max(lengths),
                                                        "mean": statistics.fmean(lengths)},
              "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "omp_wait_policy": WAIT_POLICY, "load_average_before": load_before,
                          "load_average_after": load_after},
              "per_pair": per_pair, "faithfulness": {"pairs": len(examples), "seconds": faith_seconds,
                                                     "table": report.table.to_dict(orient="records")}}
    out = ROOT / "bench" / "results" / f"analysis-pairs-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=float))
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    # Every run folder the bench makes (hundreds of MB of checkpoints each) goes with this one.
    with tempfile.TemporaryDirectory(prefix="workbench_bench_") as scratch:
        tempfile.tempdir = scratch
        main()
