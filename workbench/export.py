"""A finished run's model as one self-contained Hugging Face folder (`workbench export RUN`).

A LoRA run keeps only its adapter, which needs the base model and peft to be used. Exporting merges
the adapter into the encoder and saves full weights, the tokenizer, the label names and the
classifier's code, so the folder loads anywhere with plain transformers
(`AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)`), and in
the workbench as a local model, e.g. as the base of a next run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from safetensors import SafetensorError

from workbench.errors import WorkbenchError
from workbench.predict import load_run_model
from workbench.runs.store import Run, as_run, folder_megabytes
from workbench.train.disk import saved_bytes


def _reason(err: Exception) -> str:
    """'No space left on device', from an OSError or from safetensors' 'Error while serializing:
    I/O error: No space left on device (os error 28)'."""
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return str(err).rsplit("I/O error: ", 1)[-1].split(" (os error")[0]


def export_run(run: Run | str | Path, output: str | Path | None = None) -> dict:
    """Write the run's model (LoRA merged) to `output` (default: the run's export/ folder)."""
    run = as_run(run)
    target = Path(output) if output else run.dir / "export"
    if target.exists() and not target.is_dir():
        raise WorkbenchError(f"'{target}' is a file; export into a new or empty folder")
    if target.exists() and any(target.iterdir()):
        if output is None:  # the default folder: "export into a new or empty folder" named no flag to do so
            raise WorkbenchError(f"run {run.id} was exported before, to '{target}': use that folder, or give "
                                 "--output with a new or empty folder for another copy")
        raise WorkbenchError(f"'{target}' is not empty; export into a new or empty folder")
    model, tokenizer = load_run_model(run)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            target.rmdir()
        tmp.replace(target)  # whole or not at all: a reader never finds half a model
    except (OSError, SafetensorError) as err:  # safetensors reports a full disk as its own error
        megabytes = saved_bytes(model) / 2**20
        raise WorkbenchError(f"cannot export to '{target}': {_reason(err)}; choose another --output, or free "
                             f"space there (the model takes about {megabytes:.0f} MB)") from None
    finally:  # a half-written model (full disk, Ctrl-C) is not left behind, hidden
        shutil.rmtree(tmp, ignore_errors=True)
    return {"export": str(target), "files": sorted(f.name for f in target.iterdir()),
            "megabytes": folder_megabytes(target),
            "labels": [model.config.id2label[i] for i in range(model.config.num_labels)]}
