"""Labels for new texts from a finished run's model (`workbench predict RUN --data PATH`).

Unlike `eval`, the data needs no labels: a label column, if there is one, is ignored. The texts
are checked first (missing column, empty rows, with row numbers), as the pre-flight check does
for training data.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import DataCollatorWithPadding

from workbench.data.columns import detect_columns
from workbench.data.load import SPLIT_NAMES, RawData, SplitFrame, data_path_text, load_raw
from workbench.data.validate import is_blank, text_problems
from workbench.errors import DataError, WorkbenchError
from workbench.runs.store import Run, as_run
from workbench.tasks import classify

OUTPUT_FORMATS = (".jsonl", ".csv")


def predict_logits(model, tokenizer, texts: list[str], pairs: list[str] | None = None,
                   max_length: int = 128, batch_size: int = 64) -> np.ndarray:
    """Logits for texts, batched by similar length (less padding), returned in input order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    collate = DataCollatorWithPadding(tokenizer)
    device = next(model.parameters()).device
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            enc = tokenizer([texts[i] for i in idx], [pairs[i] for i in idx] if pairs else None,
                            truncation=True, max_length=max_length)
            batch = collate([{k: enc[k][j] for k in enc} for j in range(len(idx))])
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            out[idx] = logits.float().cpu().numpy()
    return out


def load_run_model(run: Run | str | os.PathLike, attn_implementation: str | None = None):
    """(model, tokenizer) of a finished run, or one message saying why there is none."""
    run = as_run(run)
    if not run.model_dir.is_dir():
        raise WorkbenchError(f"run {run.id} has no final model (status: {run.status()['status']}); "
                             "use a finished run")
    try:
        return classify.load_trained(run.model_dir, attn_implementation)
    except Exception as err:  # a damaged or half-copied model folder (safetensors, peft, config errors)
        first = (str(err).strip().splitlines() or [""])[0][:300]
        raise WorkbenchError(f"the model of run {run.id} ({run.model_dir}) could not be loaded: "
                             f"{type(err).__name__}: {first}; if its files were damaged, train the run "
                             "again") from None


def pick_split(splits: dict, data_path: str, split: str | None) -> str:
    """The split asked for, else test, validation, train: the rows a model has least likely seen."""
    if split is None:
        return "test" if "test" in splits else "validation" if "validation" in splits else "train"
    split = SPLIT_NAMES.get(split, split)  # a folder's dev.tsv is its validation split, as in training
    if split not in splits:
        if len(splits) == 1:  # one file is loaded as "train", but it is just rows
            raise WorkbenchError(f"'{data_path}' is one file, without splits; drop --split")
        raise WorkbenchError(f"'{data_path}' has no {split} split (it has {', '.join(splits)})")
    return split


def _text_columns(run: Run, frame: pd.DataFrame, data_path: str, text_column: str | None,
                  text_pair_column: str | None) -> tuple[str, str | None]:
    """The data's text (and second text) column: named by the caller, else the column the run
    trained on when the data has it, else detected."""
    trained = run.status().get("columns") or {}
    available = ", ".join(map(str, frame.columns))
    detected = detect_columns(frame)

    def choose(given: str | None, trained_name: str | None, guess: str | None, flag: str, role: str,
               why: str = "", usual: str = "text") -> str:
        if given is not None:
            if given not in frame.columns:
                raise WorkbenchError(f"--{flag} '{given}' is not a column of '{data_path}' (it has {available})")
            return given
        if trained_name in frame.columns:
            return trained_name
        if guess is None:
            raise WorkbenchError(f"no {role} column found in '{data_path}' (it has {available}){why}; "
                                 f"name it with --{flag}, or call the column '{usual}'")
        return guess

    text = choose(text_column, trained.get("text"), detected["text"], "text-column", "text",
                  usual=trained.get("text") or "text")
    if not trained.get("text_pair"):
        if text_pair_column is not None:
            raise WorkbenchError(f"run {run.id} was trained on single texts; drop --text-pair-column")
        if text_column is None and detected["text_pair"] not in (None, text):
            # Labelling the first text alone would answer another question than the data asks.
            raise WorkbenchError(f"run {run.id} was trained on single texts, but '{data_path}' pairs '{text}' "
                                 f"with '{detected['text_pair']}'; name the one column to label with --text-column, "
                                 "or label it with a run trained on pairs")
        return text, None
    pair = choose(text_pair_column, trained.get("text_pair"), detected["text_pair"], "text-pair-column",
                  "second text", f"; the run was trained on pairs ('{trained['text']}' + '{trained['text_pair']}')",
                  trained["text_pair"])
    if pair == text:
        raise WorkbenchError(f"the text and second text columns are both '{text}'; name the second "
                             "with --text-pair-column")
    return text, pair


def predict_texts(run: Run | str | os.PathLike, texts: Sequence[str] | str,
                  pairs: Sequence[str] | str | None = None) -> list[dict]:
    """Predicted label, its probability and every class probability, for each text (one string
    is one text). What predict_run warns of (texts the tokenizer cannot read, texts cut at the
    run's max_length) comes as a Python warning: the labels of such texts are guesses."""
    result = label_typed(run, texts, pairs)
    for warning in result.get("warnings", []):
        warnings.warn(warning, UserWarning, stacklevel=2)
    return result["predictions"]


def _as_texts(values: Sequence[str] | str | None, role: str) -> list[str] | None:
    """A list of strings from what a caller may hand over: one string, a list, a tuple, a pandas
    Series or a numpy array; anything else in it is refused by its position."""
    if values is None:
        return None
    if isinstance(values, pd.DataFrame):  # iterating one gives its column names, labelled as texts
        column = next(iter(values.columns), "text")
        raise WorkbenchError(f"give the {role}s as one column of the DataFrame, e.g. frame[{str(column)!r}], "
                             "not the whole DataFrame; or save it and label the file with predict_run")
    if isinstance(values, (bytes, Mapping)) or not isinstance(values, (str, Iterable)):
        raise WorkbenchError(f"give the {role}s as a string or a list of strings, not a {type(values).__name__}")
    listed = [values] if isinstance(values, str) else list(values)
    for i, value in enumerate(listed):
        if not isinstance(value, str):
            raise WorkbenchError(f"{role} {i + 1} is not text ({value!r}); give strings")
    return listed


def label_typed(run: Run | str | os.PathLike, texts: Sequence[str] | str,
                pairs: Sequence[str] | str | None = None) -> dict:
    """predict_texts with the texts in each record and the warnings of predict_run (texts the
    tokenizer cannot read): what `workbench predict RUN --text ...` prints."""
    run = as_run(run)
    texts, pairs = _as_texts(texts, "text"), _as_texts(pairs, "second text")
    trained_on_pairs = bool((run.status().get("columns") or {}).get("text_pair"))
    if not texts:  # before the pairs are counted against them
        raise WorkbenchError("give a text to label")
    if trained_on_pairs and not pairs:
        raise WorkbenchError(f"run {run.id} was trained on text pairs: give each --text its --text-pair")
    if pairs and not trained_on_pairs:
        raise WorkbenchError(f"run {run.id} was trained on single texts; drop --text-pair")
    if pairs and len(pairs) != len(texts):
        raise WorkbenchError(f"{len(texts)} texts and {len(pairs)} second texts: give each --text its --text-pair")
    for role, values in (("text", texts), ("second text", pairs or [])):
        # Invisible characters alone (a zero-width space) are empty too, as in a file's rows.
        empty = [str(i + 1) for i, t in enumerate(values) if is_blank(t)]
        if empty:
            raise WorkbenchError(f"{role} {', '.join(empty)} is empty; give each one words to label")
    model, tokenizer = load_run_model(run)
    typed = pd.DataFrame({"text": texts, **({"text_pair": pairs} if pairs else {})})
    max_length = run.config().task.max_length
    warnings = reading_warnings(tokenizer, typed, "text", "text_pair" if pairs else None, "typed texts", max_length)
    labelled = label_texts(model, tokenizer, texts, pairs, max_length)
    records = [{"text": texts[i], **({"text_pair": pairs[i]} if pairs else {}), **label}
               for i, label in enumerate(labelled)]
    return {"rows": len(records), "predictions": records, **({"warnings": warnings} if warnings else {})}


def label_texts(model, tokenizer, texts: list[str], pairs: list[str] | None = None,
                max_length: int = 128) -> list[dict]:
    """predict_texts for a model already loaded (the app keeps one per run)."""
    probs = _probabilities(predict_logits(model, tokenizer, texts, pairs, max_length))
    id2label = _id2label(model)
    names = [id2label[i] for i in range(probs.shape[1])]
    return [_prediction(p, names) for p in probs]


def predict_run(run: Run | str | os.PathLike, data_path: str | os.PathLike, split: str | None = None,
                output: str | os.PathLike | None = None,
                text_column: str | None = None, text_pair_column: str | None = None,
                loaded: tuple | None = None) -> dict:
    """Label every row of a dataset split and write the predictions (JSONL or CSV, by the output's
    extension; by default a JSONL file in the run's predict/ folder). Returns a summary.
    `loaded` is the run's (model, tokenizer) when the caller already holds them."""
    run, data_path = as_run(run), data_path_text(data_path)
    out_path = Path(output) if output else None
    if out_path is not None and out_path.suffix.lower() not in OUTPUT_FORMATS:
        raise WorkbenchError(f"--output '{output}' must end in .jsonl or .csv")
    raw = load_raw(data_path)
    if out_path is not None:
        refuse_output_over_data(out_path, raw)
    split = pick_split(raw.splits, data_path, split)
    part: SplitFrame = raw.splits[split]
    shown_split = split if len(raw.splits) > 1 else "all rows"
    if len(part.frame) == 0:
        raise DataError(f"{part.source} has no rows; add data")
    text, pair = _text_columns(run, part.frame, data_path, text_column, text_pair_column)
    problems = text_problems(part, shown_split, [text, pair] if pair else [text])
    if problems:
        raise DataError("Data check failed:\n" + "\n".join(f"- {p}" for p in problems), problems)

    model, tokenizer = loaded or load_run_model(run)
    max_length = run.config().task.max_length
    warnings = reading_warnings(tokenizer, part.frame, text, pair, shown_split, max_length)
    texts = part.frame[text].tolist()
    pairs = part.frame[pair].tolist() if pair else None
    labelled = label_texts(model, tokenizer, texts, pairs, max_length)
    records = [{"row": part.where(i), "text": texts[i], **({"text_pair": pairs[i]} if pairs else {}), **label}
               for i, label in enumerate(labelled)]

    if out_path is None:
        stem = Path(data_path.rstrip("/")).name.split(".")[0] or "data"
        out_path = run.dir / "predict" / (f"{stem}.jsonl" if shown_split == "all rows" else f"{stem}-{split}.jsonl")
    try:
        _write(out_path, records)
    except OSError as err:  # a read-only folder, a full disk, a path through a file
        raise WorkbenchError(f"cannot write the predictions to '{out_path}': {err.strerror or err}; "
                             "choose another --output") from None
    counts = pd.Series([r["predicted"] for r in records]).value_counts()
    return {"data": data_path, "split": shown_split, "rows": len(records), "predictions": str(out_path),
            "predicted_counts": {str(k): int(v) for k, v in counts.items()},
            **({"warnings": warnings} if warnings else {})}


def refuse_output_over_data(output: Path, raw: RawData) -> None:
    """An --output that names a file the data was read from (`predict RUN --data new.csv --output
    new.csv`) would replace the data with its predictions: refuse it before any work. Another
    existing file is replaced, as --output asks."""
    target = output.resolve()
    for part in raw.splits.values():
        if Path(part.source).resolve() == target:
            raise WorkbenchError(f"--output '{output}' is the data file itself: writing there would replace "
                                 "the data with the predictions; choose another --output")


def reading_warnings(tokenizer, frame: pd.DataFrame, text: str, pair: str | None, split: str,
                     max_length: int | None = None) -> list[str]:
    """What the model does not read of the texts to label or score: words its tokenizer does not
    know (another language, emoji), whose labels are guesses however confident; and, given the
    run's max_length, the ends of texts longer than that, labelled from their start. A sample, as
    in the pre-flight."""
    from workbench.data.lengths import WARN_SHARE, token_lengths, unknown_warning

    lengths = token_lengths(tokenizer, frame, text, pair, split)
    warnings = [unknown_warning(lengths)]
    share_cut = lengths.share_cut(max_length) if max_length else 0.0
    if share_cut >= WARN_SHARE:
        warnings.append(f"{100 * share_cut:.1f} % of the texts "
                        f"({lengths.cut_count(max_length)}) are longer than "
                        f"the {max_length} tokens this model was trained to read (its task.max_length), so "
                        "each is labelled from its first part only; if their ends matter, train with a "
                        "larger task.max_length")
    return [f"[{split}] {warning}" for warning in warnings if warning]


def _id2label(model) -> dict[int, str]:
    return {int(k): v for k, v in model.config.id2label.items()}


def _probabilities(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()


def _prediction(probs: np.ndarray, names: list[str]) -> dict:
    best = int(probs.argmax())
    return {"predicted": names[best], "confidence": float(probs[best]),
            "probabilities": {name: round(float(p), 6) for name, p in zip(names, probs)}}


def _write(path: Path, records: list[dict]) -> None:
    """Written beside and then moved into place, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if path.suffix.lower() == ".csv":
            # One column per class probability, so a spreadsheet can sort and filter on them.
            flat = [{**{k: v for k, v in r.items() if k != "probabilities"},
                     **{f"p_{name}": p for name, p in r["probabilities"].items()}} for r in records]
            pd.DataFrame(flat).to_csv(tmp, index=False)
        else:
            with tmp.open("w") as fh:
                for record in records:
                    fh.write(json.dumps(record) + "\n")
        tmp.replace(path)
    finally:  # a full disk must not leave half the file behind, hidden, taking the space
        tmp.unlink(missing_ok=True)
