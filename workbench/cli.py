"""The `workbench` command line: training runs, their data, and using what they made.

Commands: train | check | runs | eval | predict | export | compare | abort | delete | resume | app.
Those that finish a piece of work end by printing one JSON line (run id, status, output folder,
metrics) so scripts can read the outcome; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from workbench.catalog import BUNDLED
from workbench.config import DEFAULT_LEARNING_RATE, METHODS, SCALE_ABOVE_WIDTH, TASKS, RunConfig
from workbench.errors import ConfigError, DataError, WorkbenchError
from workbench.hub_access import offline_unless_hub_reachable

# Flags for the common settings: flag -> dotted config field.
FLAGS = {
    "model": "model.name", "task": "task.type", "method": "method.type", "data": "data.path",
    "epochs": "train.epochs", "max_steps": "train.max_steps", "lr": "train.learning_rate",
    "batch_size": "train.batch_size", "max_train_samples": "data.max_train_samples",
    "max_eval_samples": "data.max_eval_samples", "seed": "train.seed", "devices": "devices",
    "runs_dir": "runs_dir", "name": "name", "text_column": "data.text_column",
    "text_pair_column": "data.text_pair_column", "label_column": "data.label_column",
}


def _emit(record: dict) -> None:
    print(json.dumps(record, default=str), flush=True)


def _fail(message: str, code: int = 2, **extra) -> int:
    print(f"error: {message}", file=sys.stderr)
    _emit({"status": "invalid", "error": message, **extra})
    return code


def _beside_config(value: str, config_file: str) -> str | None:
    """A relative path that is missing from here but exists beside the config file: the path the
    config's author meant (a project folder with its config and data, run from elsewhere)."""
    if not value or Path(value).is_absolute() or Path(value).exists() or value.startswith("hub:"):
        return None
    candidate = Path(config_file).resolve().parent / value
    return str(candidate) if candidate.exists() else None


def config_from_args(args) -> RunConfig:
    cfg = RunConfig.load(args.config) if args.config else RunConfig()
    if args.config:
        for field, value in (("data.path", cfg.data.path), ("model.name", cfg.model.name)):
            found = _beside_config(value, args.config)
            if found:
                print(f"{field} '{value}' read relative to the config file: {found}", file=sys.stderr)
                cfg = cfg.override([f"{field}={found}"])
    assignments = [f"{field}={getattr(args, flag)}" for flag, field in FLAGS.items()
                   if getattr(args, flag, None) is not None]
    _refuse_flag_and_set_disagreeing(cfg, args)
    given = cfg.override(assignments + list(args.set or []))
    return _rates_for_the_new_method(cfg, given, _fields_given(args)) if args.config else given


def _fields_given(args) -> set[str]:
    """The config fields this command line sets, by flag or --set."""
    flags = {field for flag, field in FLAGS.items() if getattr(args, flag, None) is not None}
    return flags | {assignment.split("=", 1)[0].strip() for assignment in args.set or []}


def _rates_for_the_new_method(saved: RunConfig, given: RunConfig, on_command_line: set[str]) -> RunConfig:
    """A run's config.yaml holds the rates "auto" picked for its method and model (full: 1e-4). Run
    again with `--method lora` (or another --model), LoRA trained at a tenth of its own rate without
    a word. A rate that is the saved method's automatic one is automatic again; one chosen by hand
    stays, with a warning that it was chosen for another method or model."""
    from workbench.catalog import model_width
    from workbench.config import default_learning_rates

    if (saved.method.type, saved.model.name) == (given.method.type, given.model.name) \
            or saved.method.type not in METHODS:
        return given
    fields = [f for f in ("learning_rate", "head_learning_rate")
              if f"train.{f}" not in on_command_line and getattr(saved.train, f) != "auto"]
    if not fields:
        return given
    width = model_width(saved.model.name, saved.runs_dir, saved.model.trust_remote_code)
    automatic = dict(zip(("learning_rate", "head_learning_rate"), default_learning_rates(saved.method.type, width)))
    was = f"{saved.method.type} on {saved.model.name}"
    now = f"{given.method.type} on {given.model.name}"
    for field in fields:
        value = getattr(saved.train, field)
        if value == automatic[field]:
            print(f"train.{field} {value} in the config file is the automatic rate of {was}; {now} gets its "
                  "own (auto)", file=sys.stderr)
            given = given.override([f"train.{field}=auto"])
        else:
            print(f"warning: train.{field} {value} in the config file was chosen for {was}; for {now} set it "
                  f"anew, or to auto for its automatic rate (--set train.{field}=auto)", file=sys.stderr)
    return given


def _refuse_flag_and_set_disagreeing(cfg: RunConfig, args) -> None:
    """`--epochs 3 --set train.epochs=2`: --set silently won. Two values for one field on one command
    line is a slip (a flag added to a saved command): say so rather than pick one."""
    for assignment in args.set or []:
        key = assignment.split("=", 1)[0].strip()
        flag = next((flag for flag, field in FLAGS.items() if field == key), None)
        if flag is None or getattr(args, flag, None) is None:
            continue
        given = f"--{flag.replace('_', '-')} {getattr(args, flag)}"
        if cfg.override([f"{key}={getattr(args, flag)}"]) != cfg.override([assignment]):
            raise ConfigError([(key, f"is given twice, as {given} and --set {assignment}; keep one")])


def _run_record(run, status: dict) -> dict:
    record = {"run_id": run.id, "status": status["status"], "output": str(run.dir),
              "metrics": status.get("metrics")}
    if status.get("error"):
        record["error"] = status["error"]
    if status.get("test_metrics"):
        record["test_metrics"] = status["test_metrics"]
    if status.get("warnings"):  # texts cut at max_length, too few steps...: worth a script's notice too
        record["warnings"] = status["warnings"]
    if status.get("best_checkpoint"):  # the metrics are the kept checkpoint's, not the last step's
        record["best_checkpoint"] = {k: v for k, v in status["best_checkpoint"].items() if k != "message"}
    return record


def cmd_train(args) -> int:
    from workbench.data.validate import Problem
    from workbench.preflight import preflight
    from workbench.runs.store import create_run
    from workbench.train.launch import launch, needs_own_process, run_attached
    from workbench.train.main import execute
    from workbench.train.steps import run_length_warning

    cfg = config_from_args(args).resolve()
    report = preflight(cfg)
    report.problems += _ignored_settings(cfg)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    run = create_run(cfg)
    print(f"run {run.id} -> {run.dir}", file=sys.stderr)
    if args.detach:
        launch(run)
        record = _run_record(run, run.status())
        # The run's own warnings reach its status later; these are known now (`check` gives the same).
        too_short = run_length_warning(cfg, report.split_rows, len(report.label_names))
        known = report.problems + ([Problem("warning", too_short, "train")] if too_short else [])
        if known:
            record["warnings"] = [str(problem) for problem in known]
        _emit(record)
        return 0
    status = run_attached(run) if needs_own_process(run) else execute(run, echo=True)
    _emit(_run_record(run, status))
    return 0 if status["status"] == "finished" else 1


def cmd_check(args) -> int:
    from workbench.data.load import load_raw
    from workbench.data.prepare import sample_problems
    from workbench.data.validate import Problem, check_data
    from workbench.preflight import check_settings, tokenizer_problems, token_lengths_of
    from workbench.train.disk import require_disk_for
    from workbench.train.steps import run_length_warning

    cfg = config_from_args(args).resolve()
    tokenizer = check_settings(cfg)  # what `train` checks before the data: the same message here
    raw = load_raw(cfg.data.path, partial=True)
    report = check_data(cfg.data, raw)
    report.problems += _ignored_settings(cfg)
    warning = run_length_warning(cfg, report.split_rows, len(report.label_names)) if report.ok else None
    if warning:
        report.problems.append(Problem("warning", warning, "train"))
    if report.ok:  # as `train` would: the training sample, texts max_length cuts, the disk the run will write
        report.problems += sample_problems(cfg.data, raw, report, cfg.data_seed)
        report.problems += tokenizer_problems(cfg, *token_lengths_of(cfg, raw, report, tokenizer))
        require_disk_for(cfg, report.split_rows, len(report.label_names))
    print(report.summary(), file=sys.stderr)
    _emit({"status": "ok" if report.ok else "invalid", "columns": report.columns.__dict__ if report.columns else None,
           "labels": report.label_names, "rows": report.split_rows, "label_counts": report.label_counts,
           "problems": [str(p) for p in report.problems]})
    return 0 if report.ok else 2


def _ignored_settings(cfg) -> list:
    """Warnings for the settings of another method than the run's (config.ignored_method_settings),
    before the run: the CLI takes any YAML and --set, while the app's form shows only the chosen
    method's fields. The run's log and status say it again."""
    from workbench.config import ignored_method_settings
    from workbench.data.validate import Problem

    return [Problem("warning", note) for note in ignored_method_settings(cfg)]


def cmd_runs(args) -> int:
    from workbench.runs.store import folder_megabytes, list_runs

    if Path(args.runs_dir).exists() and not Path(args.runs_dir).is_dir():  # else "no runs" misleads
        return _fail(f"--runs-dir '{args.runs_dir}' is a file, not a folder; give the folder the runs are in")
    rows = []
    for run in list_runs(args.runs_dir):
        s = run.status()
        metrics = s.get("metrics") or {}
        rows.append({"id": run.id, "name": s.get("name"), "status": s["status"], "model": s.get("model"),
                     "task": s.get("task"), "method": s.get("method"), "accuracy": metrics.get("accuracy"),
                     "step": s.get("step"), "max_steps": s.get("max_steps"),
                     "created": s.get("created"), "error": s.get("error"),
                     "disk_megabytes": folder_megabytes(run.dir)})
    if args.json:
        _emit({"runs": rows})
        return 0
    print(format_runs_table(rows) if rows else f"no runs in {args.runs_dir}")
    return 0


def format_runs_table(rows: list[dict]) -> str:
    """One line per run, newest first; the name column only when some run has a name, and a failed
    run's error on the line below it, so the table alone says what went wrong."""
    # A name from before names were checked, or edited in by hand, may hold line breaks.
    rows = [{**r, "name": " ".join(str(r["name"]).split()) if r["name"] else r["name"]} for r in rows]
    width = max(len(r["id"]) for r in rows)
    names = max((len(r["name"] or "") for r in rows), default=0)
    name_width = max(names, len("name"))
    name_head = f" {'name':{name_width}}" if names else ""
    lines = [f"{'id':{width}}{name_head} {'status':9} {'method':6} {'step':>9} {'accuracy':>8} {'disk':>8}  started"]
    for r in rows:
        step = f"{r['step'] or 0}/{r['max_steps'] or '?'}"
        acc = f"{r['accuracy']:.4f}" if isinstance(r["accuracy"], float) else "-"
        started = datetime.fromtimestamp(r["created"]).strftime("%Y-%m-%d %H:%M") if r["created"] else ""
        name = f" {r['name'] or '':{name_width}}" if names else ""
        disk = f"{r['disk_megabytes']:.0f} MB"
        lines.append(f"{r['id']:{width}}{name} {r['status']:9} {r['method'] or '':6} {step:>9} {acc:>8} "
                     f"{disk:>8}  {started}")
        if r["error"] and r["status"] == "failed":
            lines += _error_lines(str(r["error"]), indent=width + 2)
    return "\n".join(lines)


def _error_lines(error: str, indent: int, width: int = 100, most: int = 4) -> list[str]:
    """A failed run's error under its row, wrapped rather than cut: the fix comes at the end of the
    message ("...; `workbench resume ID` continues"), which a cut at 160 characters dropped."""
    import textwrap

    first = (error.strip().splitlines() or [""])[0]
    wrapped = textwrap.wrap(f"error: {first}", width, subsequent_indent="       ", break_on_hyphens=False)
    if len(wrapped) > most:
        wrapped = wrapped[:most - 1] + [textwrap.shorten(" ".join(wrapped[most - 1:]), width - 7, placeholder=" …")]
        wrapped[-1] = "       " + wrapped[-1]
    return [" " * indent + line for line in wrapped]


def _print_warnings(result: dict) -> None:
    for warning in result.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)


def _finished_run(runs_dir: str, name: str):
    """get_run for the commands that use a run's model, saying what a model file or folder given in
    its place is: 'there is no run .../model in runs' read as if the path were missing."""
    from workbench.runs.store import get_run

    try:
        return get_run(runs_dir, name)
    except WorkbenchError:
        path = Path(name)
        if (path.parent / "config.yaml").is_file() and (path.parent / "model").resolve() == path.resolve():
            raise WorkbenchError(f"'{name}' is the model folder of run {path.parent.name}; give the run itself: "
                                 f"{path.parent}") from None
        model_file = path.is_file() and path.suffix.lower() in (".gguf", ".safetensors", ".bin")
        if model_file or (path / "config.json").is_file():
            raise WorkbenchError(f"'{name}' is a model, not a run: give a finished run's id or folder "
                                 "(`workbench runs` lists them); to fine-tune this model first, "
                                 f"`workbench train --model {name} --data ...`") from None
        raise


def cmd_eval(args) -> int:
    from workbench.evaluate import evaluate_run

    run = _finished_run(args.runs_dir, args.run)
    columns = {f"{role}_column": getattr(args, f"{role}_column") for role in ("text", "text_pair", "label")
               if getattr(args, f"{role}_column") is not None}
    result = evaluate_run(run, args.data, split=args.split, output=args.output, columns=columns)
    _print_warnings(result)
    _emit({"run_id": run.id, "status": "finished", "output": str(run.dir), **result})
    return 0


def cmd_predict(args) -> int:
    from workbench.predict import label_typed, predict_run

    if (args.data is None) == (args.text is None):
        return _fail("give the texts to label: --data FILE (or folder), or --text \"...\" once per text")
    if args.text_pair and args.text is None:
        return _fail("--text-pair goes with --text; with --data, name the column with --text-pair-column")
    data_only = [flag for flag, value in (("--split", args.split), ("--output", args.output),
                                          ("--text-column", args.text_column),
                                          ("--text-pair-column", args.text_pair_column)) if value is not None]
    if args.text is not None and data_only:
        return _fail(f"{', '.join(data_only)} goes with --data; typed --text labels are printed (and in the "
                     "JSON line)")
    run = _finished_run(args.runs_dir, args.run)
    if args.text is not None:
        result = label_typed(run, args.text, args.text_pair)
        for record in result["predictions"]:
            shown = record["text"] + (f" | {record['text_pair']}" if "text_pair" in record else "")
            print(f"{record['predicted']}\t{record['confidence']:.4f}\t{shown}", file=sys.stderr)
        _print_warnings(result)
        _emit({"run_id": run.id, "status": "finished", "output": str(run.dir), **result})
        return 0
    result = predict_run(run, args.data, split=args.split, output=args.output,
                         text_column=args.text_column, text_pair_column=args.text_pair_column)
    print(f"{result['rows']} rows labelled -> {result['predictions']}", file=sys.stderr)
    _print_warnings(result)
    _emit({"run_id": run.id, "status": "finished", "output": str(run.dir), **result})
    return 0


def cmd_export(args) -> int:
    import transformers

    from workbench.export import export_run

    transformers.utils.logging.disable_progress_bar()  # "Writing model shards" bars; one line says it

    run = _finished_run(args.runs_dir, args.run)
    result = export_run(run, args.output)
    print(f"model of {run.id} -> {result['export']} ({result['megabytes']} MB)", file=sys.stderr)
    _emit({"run_id": run.id, "status": "finished", "output": str(run.dir), **result})
    return 0


def cmd_compare(args) -> int:
    from workbench.analysis.compare import compare_runs

    a, b = _finished_run(args.runs_dir, args.run_a), _finished_run(args.runs_dir, args.run_b)
    if a.id == b.id:  # the same id twice is a slip: a run always agrees with itself (p = 1)
        raise WorkbenchError(f"RUN_A and RUN_B are both run {a.id}; give two different runs "
                             "(`workbench runs` lists them)")
    c = compare_runs(a, b)
    print(f"{c.examples} examples · accuracy {c.accuracy_a:.4f} ({a.id}) vs {c.accuracy_b:.4f} ({b.id})\n"
          f"both right {c.both_right} · only {a.id} right {c.only_a_right} · only {b.id} right "
          f"{c.only_b_right} · both wrong {c.both_wrong}\n{c.verdict()}", file=sys.stderr)
    if args.output:
        _write_disagreements(c.disagreements, Path(args.output))
    _emit({"status": "finished", **c.summary(), "verdict": c.verdict(),
           **({"disagreements_file": args.output} if args.output else {})})
    return 0


def _write_disagreements(disagreements, output: Path) -> None:
    """compare's --output, into a new folder too (as predict's); a path that cannot be written
    ended in an 'unexpected' OSError."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        disagreements.to_csv(output, index=False)
    except OSError as err:
        raise WorkbenchError(f"cannot write the disagreements to '{output}': {err.strerror or err}; "
                             "choose another --output") from None


def cmd_abort(args) -> int:
    from workbench.runs.store import get_run

    run = get_run(args.runs_dir, args.run)
    run.request_abort()
    if args.wait:
        while run.status()["status"] in ("queued", "running"):
            time.sleep(0.5)
    _emit(_run_record(run, run.status()))
    return 0


def cmd_delete(args) -> int:
    from workbench.runs.store import delete_checkpoints, delete_run, get_run

    run = get_run(args.runs_dir, args.run)
    if args.checkpoints:
        freed = delete_checkpoints(run)
        _emit({"run_id": run.id, "status": "checkpoints deleted", "output": str(run.dir),
               "freed_megabytes": round(freed / 2**20, 1)})
        return 0
    delete_run(run)
    _emit({"run_id": run.id, "status": "deleted", "output": str(run.dir)})
    return 0


def cmd_cache(args) -> int:
    from workbench import model_cache
    from workbench.runs.store import human_size

    entries = model_cache.cached_models()
    doomed = model_cache.find(args.remove, entries) if args.remove else []
    if args.prune:
        doomed += [e for e in entries if e.stale and e not in doomed]
    if args.remove or args.prune:
        model_cache.remove(doomed)
        for entry in doomed:
            print(f"removed {entry.name} ({human_size(entry.size)}, {entry.state})", file=sys.stderr)
        _emit({"status": "removed", "cache": str(model_cache.models_dir()), "removed": [e.name for e in doomed],
               "freed_megabytes": round(sum(e.size for e in doomed) / 2**20, 1)})
        return 0
    if args.json:
        _emit({"cache": str(model_cache.models_dir()), "models": [e.record() for e in entries]})
        return 0
    print(format_cache_table(entries, model_cache.models_dir()))
    return 0


def format_cache_table(entries, folder: Path) -> str:
    """The cache's folders with size, state and source, then what --prune would free."""
    from workbench.model_cache import STATES
    from workbench.runs.store import human_size

    if not entries:
        return f"no converted models in {folder}"
    lines = [f"converted models in {folder} ({human_size(sum(e.size for e in entries))}):"]
    width = max(len(e.name) for e in entries)
    lines.append(f"{'name':{width}} {'size':>8}  {'state':14}  source")
    for e in entries:
        lines.append(f"{e.name:{width}} {human_size(e.size):>8}  {e.state:14}  {e.source or '?'}")
    for state in dict.fromkeys(e.state for e in entries):
        lines.append(f"  {state}: {STATES[state]}")
    stale = [e for e in entries if e.stale]
    if stale:
        lines.append(f"{len(stale)} never used again ({human_size(sum(e.size for e in stale))}): "
                     "`workbench cache --prune` removes them")
    return "\n".join(lines)


def cmd_resume(args) -> int:
    from workbench.preflight import check_resume
    from workbench.runs.store import get_run, require_resumable
    from workbench.train.launch import launch, needs_own_process, run_attached
    from workbench.train.main import execute

    run = get_run(args.runs_dir, args.run)
    require_resumable(run)
    check_resume(run)
    if args.detach:
        launch(run, resume=True)
        _emit(_run_record(run, run.status()))
        return 0
    final = run_attached(run, resume=True) if needs_own_process(run) else execute(run, resume=True, echo=True)
    _emit(_run_record(run, final))
    return 0 if final["status"] == "finished" else 1


def cmd_app(args) -> int:
    sys.argv = ["app.py"] + args.app_args
    from workbench.ui.app import main as app_main

    return app_main(args.app_args) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Train, check, evaluate and use "
                                     "transformer fine-tuning runs; each command's --help says more.")
    sub = parser.add_subparsers(dest="command", required=True)

    def config_flags(p):
        # Flags left unset keep the YAML's value, or the default that suits model, task and method.
        p.add_argument("config", nargs="?", help="a RunConfig YAML file (flags below override it)")
        p.add_argument("--model", help=f"bundled ({', '.join(BUNDLED)}), run:<id>, a local folder or .gguf file, a Hub id, "
                       "a GGUF file on the Hub (org/repo/file.gguf, org/repo:Q4_K_M), or ollama:<model>")
        p.add_argument("--task", help=f"one of {', '.join(TASKS)}")
        p.add_argument("--method", help=f"one of {', '.join(METHODS)}")
        p.add_argument("--data", help="file, folder of split files, or hub:<id>[:<subset>]")
        p.add_argument("--epochs", type=float, help="passes over the training data (fractions allowed)")
        p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
        p.add_argument("--lr", type=float, help="body learning rate (default by method: "
                       + ", ".join(f"{m} {lr:g}" for m, lr in DEFAULT_LEARNING_RATE.items())
                       + f"; times {SCALE_ABOVE_WIDTH} / hidden size on models wider than {SCALE_ABOVE_WIDTH})")
        p.add_argument("--batch-size", type=int, help="training examples per step")
        p.add_argument("--text-column", help="the column holding the text (default: detected)")
        p.add_argument("--text-pair-column", help="the second text of a sentence pair, if any")
        p.add_argument("--label-column", help="the column holding the label (default: detected)")
        p.add_argument("--max-train-samples", type=int, help="train on this many rows, a seeded sample")
        p.add_argument("--max-eval-samples", type=int, help="evaluate on this many rows")
        p.add_argument("--seed", type=int, help="training seed")
        p.add_argument("--devices", help="auto, cpu, or GPU indices like 0,1")
        p.add_argument("--name", help="a label shown with the run (its id is generated)")
        p.add_argument("--runs-dir", help="where run folders go (default: runs)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override any config field, e.g. --set method.lora.r=8")

    train = sub.add_parser("train", help="train a model (waits; --detach to run in the background)")
    config_flags(train)
    train.add_argument("--detach", action="store_true", help="start the run and return at once")
    train.set_defaults(func=cmd_train)

    check = sub.add_parser("check", help="pre-flight check of a dataset against a config")
    config_flags(check)
    check.set_defaults(func=cmd_check)

    runs = sub.add_parser("runs", help="list runs")
    runs.add_argument("--json", action="store_true", help="one JSON line listing every run, for scripts")
    runs.add_argument("--runs-dir", default="runs")
    runs.set_defaults(func=cmd_runs)

    ev = sub.add_parser("eval", help="metrics of a finished run on a dataset")
    ev.add_argument("run"), ev.add_argument("--data", required=True)
    ev.add_argument("--split", default=None, help="which split of a folder (default: test, else validation)")
    ev.add_argument("--output", default=None, help="write predictions JSONL here (an existing file is replaced)")
    for role in ("text", "text-pair", "label"):
        ev.add_argument(f"--{role}-column", help=f"the data's {role.replace('-', ' ')} column, when its "
                        "name differs from the training data's and detection picks another")
    ev.add_argument("--runs-dir", default="runs")
    ev.set_defaults(func=cmd_eval)

    pr = sub.add_parser("predict", help="label the texts of a dataset (no labels needed), or texts typed "
                        "with --text, with a finished run")
    pr.add_argument("run"), pr.add_argument("--data", help="a file or folder of texts to label")
    pr.add_argument("--text", action="append", help="a text to label (repeat for more); the labels are "
                    "printed, and the JSON line holds each text's probabilities")
    pr.add_argument("--text-pair", action="append", help="the second text of each --text, for a run "
                    "trained on text pairs")
    pr.add_argument("--split", default=None, help="which split of a folder (default: test, else validation)")
    pr.add_argument("--output", default=None, help="a .jsonl or .csv file, replaced if it exists (default: predict/ in the run folder)")
    for role in ("text", "text-pair"):
        pr.add_argument(f"--{role}-column", help=f"the data's {role.replace('-', ' ')} column, when its "
                        "name differs from the training data's and detection picks another")
    pr.add_argument("--runs-dir", default="runs")
    pr.set_defaults(func=cmd_predict)

    ex = sub.add_parser("export", help="a finished run's model as one folder that plain transformers loads "
                        "(LoRA merged)")
    ex.add_argument("run"), ex.add_argument("--output", default=None, help="a new or empty folder (default: "
                                            "export/ in the run folder)")
    ex.add_argument("--runs-dir", default="runs")
    ex.set_defaults(func=cmd_export)

    co = sub.add_parser("compare", help="two finished runs on the same eval examples: accuracy, where they "
                        "disagree, and whether the gap is more than chance (McNemar)")
    co.add_argument("run_a"), co.add_argument("run_b")
    co.add_argument("--output", default=None, help="write the examples they label differently to this CSV (replaced if it exists)")
    co.add_argument("--runs-dir", default="runs")
    co.set_defaults(func=cmd_compare)

    ab = sub.add_parser("abort", help="stop a run after its current step, with a checkpoint")
    ab.add_argument("run"), ab.add_argument("--runs-dir", default="runs")
    ab.add_argument("--wait", action="store_true", help="return once the run has stopped")
    ab.set_defaults(func=cmd_abort)

    de = sub.add_parser("delete", help="remove a finished, failed or aborted run's folder")
    de.add_argument("run"), de.add_argument("--runs-dir", default="runs")
    de.add_argument("--checkpoints", action="store_true",
                    help="only a finished run's checkpoints (hundreds of MB each); its model stays")
    de.set_defaults(func=cmd_delete)

    ca = sub.add_parser("cache", help="list the GGUF models converted into the cache, with their size; "
                        "--prune removes the ones no run can use again")
    ca.add_argument("--prune", action="store_true", help="remove conversions whose GGUF file changed or is "
                    "gone, and conversions stopped half way")
    ca.add_argument("--remove", nargs="+", metavar="NAME", help="remove these (names as listed, or all); "
                    "a model removed converts again the next time a run uses it")
    ca.add_argument("--json", action="store_true", help="one JSON line listing the cache, for scripts")
    ca.set_defaults(func=cmd_cache)

    re_ = sub.add_parser("resume", help="continue an aborted or failed run from its last checkpoint")
    re_.add_argument("run"), re_.add_argument("--runs-dir", default="runs")
    re_.add_argument("--detach", action="store_true", help="start the run and return at once")
    re_.set_defaults(func=cmd_resume)

    app = sub.add_parser("app", help="open the workbench in the browser")
    app.add_argument("app_args", nargs=argparse.REMAINDER)
    app.set_defaults(func=cmd_app)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    if args.func in (cmd_eval, cmd_predict, cmd_export, cmd_compare):
        # These load a finished run's model from disk: a "Loading weights" bar on each is noise.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if args.func in (cmd_train, cmd_check, cmd_eval, cmd_predict, cmd_resume):
        # These may look up a Hub model or dataset: offline, fail in seconds, not after ~25 s of
        # retries (hub_access.py). The app probes for itself.
        offline_unless_hub_reachable()
    try:
        return args.func(args)
    except ConfigError as err:
        return _fail(str(err), problems=err.problems)
    except DataError as err:  # every problem of the data check, one string each, as `check` lists them
        return _fail(str(err), **({"problems": [str(p) for p in err.problems]} if err.problems else {}))
    except WorkbenchError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)
    except BrokenPipeError:  # `workbench runs | head -1`: the reader has all it wanted
        return _reader_gone()
    except Exception as err:  # a bug, not bad input: still one line and the JSON line scripts read
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        return _fail(f"{type(err).__name__}: {first} (unexpected; WORKBENCH_DEBUG=1 shows the "
                     "traceback)", code=1)


def _reader_gone() -> int:
    """Exit quietly when stdout's reader has closed the pipe, as Unix tools do: point stdout at
    /dev/null so Python's flush at exit does not raise the same error again (Python docs, 'Note
    on SIGPIPE'). 141 is the status a shell gives a command killed by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


if __name__ == "__main__":
    sys.exit(main())
