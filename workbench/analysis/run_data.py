"""What the analysis views read from a run folder: its saved predictions and its model.

Every view starts here, so a run that cannot be analysed (not finished, no predictions, not a
classifier) fails in one place with one message that says why and what to do.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.runs.store import Run, as_run

PREDICTION_COLUMNS = ("text", "gold", "gold_id", "predicted", "predicted_id", "confidence", "probabilities")


def check_analysable(run: Run | str | Path) -> dict:
    """The run's status if it is a finished classification run with predictions; else a clear error."""
    run = as_run(run)
    status = run.status()
    state = status.get("status")
    if state != "finished":
        why = f": {status['error']}" if status.get("error") else ""
        raise WorkbenchError(f"run {run.id} is {state}{why}. Only finished runs can be analysed.")
    if status.get("task", "classification") != "classification":
        raise WorkbenchError(f"run {run.id} is a {status.get('task')} run; these views analyse classifiers.")
    if not run.predictions_path.is_file():
        raise WorkbenchError(f"run {run.id} has no predictions.jsonl (was it trained without an eval split?). "
                             f"`workbench eval {run.id} --data PATH --output {run.predictions_path}` writes one.")
    return status


def load_predictions(source: Run | str | Path) -> tuple[pd.DataFrame, list[str]]:
    """(one row per eval example, label names in model id order) from a run (a Run, its folder or
    its id in ./runs) or a predictions.jsonl file."""
    if not isinstance(source, Run) and not Path(source).is_file():
        if Path(source).suffix == ".jsonl":
            raise WorkbenchError(f"there is no predictions file '{source}'; give a run, or the path of its "
                                 "predictions.jsonl")
        source = as_run(source)
    if isinstance(source, Run):
        status = check_analysable(source)
        path, label_names = source.predictions_path, list(status.get("label_names") or [])
        # The file is derived data: the run's model writes it again.
        fix = f"; `workbench eval {source.id} --data PATH --output {path}` writes it again"
    else:
        path, label_names, fix = Path(source), [], ""
    rows = []
    with Path(path).open() as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise WorkbenchError(f"{path}, line {number}, is not valid JSON ({err}){fix}") from None
    if not rows:
        raise WorkbenchError(f"{path} holds no predictions; the eval split was empty")
    frame = pd.DataFrame(rows)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"{path} lacks the columns {missing}; it was not written by this workbench{fix}")
    if not label_names:  # the probabilities dict keeps the model's label order
        label_names = list(rows[0]["probabilities"])
    return frame, label_names


# A model is ~100 MB and takes a second or two to load: keep the last couple in memory so moving
# between views (and between the app's event handlers) does not reload it.
_MODELS: OrderedDict[str, tuple] = OrderedDict()
_MODELS_LOCK = threading.Lock()


def load_model(run: Run | str | Path, keep: int = 2):
    """(model, tokenizer, max_length) of a finished run, loaded once, with eager attention.

    Eager attention is the implementation that returns attention weights (SDPA returns none), and
    with sentences this short it costs no measurable time over SDPA on CPU, so one model serves
    every view.
    """
    from workbench.predict import load_run_model

    run = as_run(run)
    check_analysable(run)
    key = str(run.model_dir.resolve())
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
        model, tokenizer = load_run_model(run, attn_implementation="eager")
        try:
            max_length = int(run.config().task.max_length)
        except Exception:  # an older or hand-edited config: the model's own limit is still safe
            max_length = min(512, getattr(tokenizer, "model_max_length", 512))
        _MODELS[key] = (model, tokenizer, max_length)
        while len(_MODELS) > keep:
            _MODELS.popitem(last=False)
        return _MODELS[key]
