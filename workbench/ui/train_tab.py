"""The Train tab: choose a model, method, dataset, hyperparameters and devices, then start a run.

Every widget edits one RunConfig field (workbench.ui.form.FIELDS). Start checks everything a run
needs (config, model, data), writes the run folder and hands it to the device queue; it returns
at once, and the Monitor tab draws the run from its folder. This tab never trains.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from workbench.catalog import BUNDLED, gguf_to_convert, gguf_to_download, model_width
from workbench.config import (BEST_METRICS, CLASS_WEIGHTS, METHODS, POOLINGS, PRECISIONS, SCALE_ABOVE_WIDTH,
                              SCHEDULERS, TASKS, DataConfig, RunConfig, default_learning_rates, validation_problems)
from workbench.data.prepare import sample_problems
from workbench.data.validate import require_ok
from workbench.errors import ConfigError, DataError, WorkbenchError
from workbench.ollama_models import pulled_models
from workbench.preflight import check_settings
from workbench.runs import queue
from workbench.runs.store import create_run, get_run, list_runs
from workbench.train.disk import require_disk_for
from workbench.train.steps import run_length_warning
from workbench.ui import charts
from workbench.ui.data_panel import DataView, escape_markdown, inspect_data, load_cached, token_length_view
from workbench.ui.form import (AUTO, BY_KEY, FIELDS, FORM_KEYS, NO_COLUMN, cli_command, config_to_form, devices_to_form,
                               form_to_config, whole_number)
from workbench.ui.model_info import model_info, parameter_count
from workbench.ui.workspace import DEMO_DATA, Workspace

log = logging.getLogger("workbench.app")
DATA_SOURCES = ("Demo", "Upload", "Local path", "Hub")
METHOD_NAMES = {"full": "Full fine-tuning", "freeze": "Freeze lower layers", "lora": "LoRA"}

# Label and help text of each form field (the form itself is workbench.ui.form.FIELDS).
LABELS: dict[str, tuple[str, str]] = {
    "model": ("Base model", "a bundled model, run:<id> of an earlier run, a local folder or .gguf file, a Hub id, "
              "a GGUF file on the Hub (org/repo/file.gguf, or org/repo:Q4_K_M), or a model Ollama "
              "pulled (ollama:llama3.2:1b)"),
    "trust_remote_code": ("Trust remote code", "run the model's own Python code from the Hub (only for models you trust)"),
    "task": ("Task", ""),
    "pooling": ("Pooling", "how a sentence becomes one vector; auto reads the checkpoint"),
    "max_length": ("Max length (tokens)", "longer texts are cut; 128 suits most sentences"),
    "method": ("Method", "which weights train"),
    "lora_r": ("LoRA rank r", "size of the low-rank update; 8-16 suit most tasks"),
    "lora_alpha": ("LoRA alpha", "scale of the update; 2 x r is usual"),
    "lora_dropout": ("LoRA dropout", ""),
    "lora_target_modules": ("Target modules", "linear layers found in the model's blocks; all ticked = auto"),
    "freeze_trainable_layers": ("Trainable top layers", "the rest stays frozen; 0 trains only the head"),
    "data_path": ("Data path", "a CSV/TSV/JSON/JSONL/Parquet file (.gz/.bz2/.xz too), "
                  "a folder of train/dev/test files, or hub:<id>[:<subset>]"),
    "text_column": ("Text column", ""),
    "text_pair_column": ("Second text column", "for sentence pairs"),
    "label_column": ("Label column", ""),
    "label_names": ("Label names", "for integer labels, comma-separated in label order; empty = as in the data"),
    "validation_fraction": ("Validation fraction", "held out from train when there is no validation split"),
    "max_train_samples": ("Max train rows", "empty = all"),
    "max_eval_samples": ("Max eval rows", "empty = all"),
    "min_rows_per_class": ("Min rows per class", "the pre-flight check's floor"),
    "epochs": ("Epochs", ""),
    "max_steps": ("Max steps", "-1 = run the epochs; a positive number overrides them"),
    "learning_rate": ("Learning rate", ""),
    "batch_size": ("Batch size", ""),
    "head_learning_rate": ("Head learning rate", "the new classifier head starts random and learns faster"),
    "eval_batch_size": ("Eval batch size", ""),
    "gradient_accumulation_steps": ("Gradient accumulation", "steps per optimizer update"),
    "weight_decay": ("Weight decay", ""),
    "layer_decay": ("Layer-wise LR decay", "1 = the same rate for every layer; 0.8-0.95 lowers it layer by "
                    "layer downwards"),
    "warmup": ("Warmup", "a fraction of the steps (< 1) or a number of steps"),
    "scheduler": ("LR schedule", ""),
    "max_grad_norm": ("Max grad norm", "gradient clipping; 0 turns it off"),
    "logging_steps": ("Log every N steps", "each log is a point on the charts; auto = every 10 steps, more often in short runs"),
    "eval_steps": ("Evaluate every N steps", "auto = about 4 evaluations a run (at least one an epoch "
                   "when keeping the best checkpoint)"),
    "save_steps": ("Checkpoint every N steps", "auto = at each evaluation"),
    "save_total_limit": ("Checkpoints kept", ""),
    "class_weights": ("Class weights", "balanced = a rare class weighs as much as a common one in "
                      "the training loss"),
    "select_best": ("Keep the best checkpoint by", "none = the last step's model; else the checkpoint "
                    "that scored best on validation (its validation metrics are then optimistic)"),
    "early_stopping_patience": ("Early stopping patience", "stop after this many evaluations without "
                                "improvement; 0 = never (needs a metric above)"),
    "seed": ("Seed", ""),
    "data_seed": ("Data seed", "rows sampled and held out; empty = the seed above"),
    "precision": ("Precision", "auto = fp32 on the CPU, bf16 on GPUs that have it"),
    "group_by_length": ("Group batches by length", "similar lengths in each batch: less padding, ~1.5x faster"),
    "dataloader_workers": ("Data loader workers", ""),
    "trainer_arguments": ("Trainer arguments", "any other transformers TrainingArguments, as YAML, e.g. "
                          "{optim: adafactor, label_smoothing_factor: 0.1}"),
    "activation_checkpointing": ("Activation checkpointing", "recompute each layer's activations in the backward "
                                 "pass: far less memory for long texts or big models; each step takes 10-35 % longer"),
    "devices": ("Devices", "one run per device; ticking several GPUs launches a multi-GPU run"),
    "name": ("Run name", "optional label shown in the runs table"),
}
CHOICES = {"task": TASKS, "pooling": POOLINGS, "scheduler": SCHEDULERS, "precision": PRECISIONS,
           "select_best": BEST_METRICS, "class_weights": CLASS_WEIGHTS,
           "method": [(METHOD_NAMES.get(m, m), m) for m in METHODS]}


@dataclass
class TrainTab:
    start_event: gr.events.Dependency
    started_run: gr.State  # the id of the run this session started last ("" when Start failed)
    wire_page_load: Callable[[gr.Blocks], None]  # fills in the machine- and data-dependent parts


def initial_config(ws: Workspace) -> RunConfig:
    """What the form shows on a first launch: RunConfig defaults on the bundled demo data."""
    cfg = RunConfig()
    cfg.data.path = str(DEMO_DATA)
    cfg.runs_dir = str(ws.runs_dir)
    # The demo has 162 training rows (about 10 steps an epoch): log every step and train three
    # epochs, so a first run draws a real curve in well under a minute on a CPU.
    cfg.train.epochs = 3.0
    cfg.train.logging_steps = 1
    return cfg


def model_choices(ws: Workspace) -> list[tuple[str, str]]:
    choices = [(f"{name} — {model.description}", name) for name, model in BUNDLED.items()]
    for run in list_runs(ws.runs_dir):
        if run.model_dir.is_dir():
            choices.append((f"run:{run.id} (earlier run)", f"run:{run.id}"))
    choices += [(f"ollama:{name} (pulled by Ollama)", f"ollama:{name}") for name in pulled_models()]
    return choices


def device_choices() -> list[tuple[str, str]]:
    return [("CPU", "cpu")] + [(gpu.label, gpu.index) for gpu in queue.list_gpus()]


def lr_info(method: str, model: str, runs_dir: str, trust_remote_code: bool = False) -> str:
    """What "auto" means for this method on this model: wider models get smaller steps."""
    if method not in METHODS:
        return "auto = the default for the method"
    width = model_width(model or "", runs_dir, trust_remote_code)
    body, _ = default_learning_rates(method, width)
    scaled = f" on this model (hidden size {width})" if width and width > SCALE_ABOVE_WIDTH else ""
    return f"auto = {body:g} for {METHOD_NAMES.get(method, method)}{scaled}"


def format_error(err: WorkbenchError) -> str:
    """One clear markdown message; a config error lists each field with its fix."""
    if isinstance(err, ConfigError) and len(err.problems) > 1:
        return "✖ **The config has problems:**\n" + "\n".join(f"- `{f}`: {escape_markdown(m)}"
                                                              for f, m in err.problems)
    if isinstance(err, ConfigError):
        field, message = err.problems[0]
        return f"✖ `{field}`: {escape_markdown(message)}"
    text = escape_markdown(str(err).strip())
    lines = text.splitlines()
    if len(lines) > 1:
        return f"✖ **{lines[0]}**\n" + "\n".join(lines[1:])
    return f"✖ {text}"


def toast_text(err: WorkbenchError, limit: int = 400) -> str:
    """The error's first line for a toast, cut at a word when it is long (a cut at a fixed count
    of characters ended a missing-path message on "or hub:")."""
    first = (str(err).strip().splitlines() or [""])[0]
    if len(first) <= limit:
        return first
    cut = first.rfind(" ", 0, limit)
    return first[:cut if cut > 0 else limit].rstrip(" ,;:") + " …"


def unexpected(what: str, err: Exception) -> str:
    """A bug or an environment problem, in one line; the traceback goes to the app log only."""
    log.exception("%s failed", what)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"✖ {what} failed unexpectedly: {type(err).__name__}: {escape_markdown(first[:300])} (details in the app log)"


def model_wait_message(name: str) -> str | None:
    """What the model box says while a GGUF model downloads or converts before it can be described:
    seconds to minutes with nothing to show but a spinner otherwise. None when nothing waits."""
    downloading = gguf_to_download(name)
    if downloading:
        return (f"Downloading `{downloading}` from the Hub into the Hugging Face cache, then converting it to "
                "float weights, once (minutes for GBs; runs then load it in seconds)…")
    converting = gguf_to_convert(name)
    if converting:
        return (f"Converting `{converting}` to float weights, once (about 20 s per 135M parameters; "
                "runs then load it in seconds)…")
    return None


def build_train_tab(ws: Workspace) -> TrainTab:
    start_cfg = initial_config(ws)
    # The model's LoRA target modules are filled in when a page opens (reading the model imports
    # torch, which would delay the server's start by seconds).
    detected: list[str] = []
    values = config_to_form(start_cfg, detected, [g.index for g in queue.list_gpus()])
    c: dict[str, gr.components.Component] = {}  # form key -> widget

    def widget(key: str, **overrides):
        field = BY_KEY[key]
        label, info = LABELS[key]
        value = overrides.pop("value", values[key])
        kwargs = {"label": label, "elem_id": f"train-{key}", **({"info": info} if info else {}), **overrides}
        if key in CHOICES:
            made = gr.Dropdown(choices=list(CHOICES[key]), value=value, **kwargs)
        elif field.kind == "bool":
            made = gr.Checkbox(value=value, **kwargs)
        elif field.kind == "int":
            # No rounding in the browser (precision=0 made 2.5 layers a silent 2): read_form says
            # "2.5 is not a whole number" instead.
            made = gr.Number(value=value, step=1, **kwargs)
        elif field.kind == "float":
            made = gr.Number(value=value, **kwargs)
        else:
            made = gr.Textbox(value=value, **kwargs)
        c[key] = made
        return made

    detected_state = gr.State(detected)  # the LoRA target modules the current model has
    num_labels_state = gr.State(3)
    started_run = gr.State("")

    # ---- 1. model, task, method ----------------------------------------------------------------
    gr.Markdown("### 1. Model and method")
    with gr.Row():
        c["model"] = gr.Dropdown(choices=model_choices(ws), value=values["model"], allow_custom_value=True,
                                 label=LABELS["model"][0], info=LABELS["model"][1], elem_id="train-model",
                                 scale=3)
        widget("task", scale=1)
        c["method"] = gr.Radio(choices=CHOICES["method"], value=values["method"], label="Method",
                               info=LABELS["method"][1], elem_id="train-method", scale=2)
    model_md = gr.Markdown(elem_id="train-model-info")
    with gr.Group(visible=values["task"] == "classification") as task_group_classification:
        with gr.Row():
            widget("pooling")
            widget("max_length")
    with gr.Group(visible=values["method"] == "lora") as method_group_lora:
        with gr.Row():
            widget("lora_r")
            widget("lora_alpha")
            widget("lora_dropout")
        c["lora_target_modules"] = gr.CheckboxGroup(
            choices=detected, value=values["lora_target_modules"], label=LABELS["lora_target_modules"][0],
            info=LABELS["lora_target_modules"][1], elem_id="train-lora_target_modules")
    with gr.Group(visible=values["method"] == "freeze") as method_group_freeze:
        widget("freeze_trainable_layers")
    params_md = gr.Markdown(elem_id="train-parameters")
    task_groups = {"classification": task_group_classification}
    method_groups = {"lora": method_group_lora, "freeze": method_group_freeze}

    # ---- 2. data -----------------------------------------------------------------------------------
    gr.Markdown("### 2. Data")
    with gr.Row():
        source = gr.Radio(DATA_SOURCES, value="Demo", label="Source", elem_id="train-data-source", scale=2)
        widget("data_path", scale=4)
    # Any file is taken: one we cannot read (a spreadsheet, a zip) gets the pre-flight's message
    # saying what to do, where a file_types filter would refuse it with no word in the page.
    upload = gr.File(label="Upload a data file", visible=False, elem_id="train-upload")
    # allow_custom_value: an event can carry a column picked for the previous file before this
    # session's choices are updated, and Gradio would reject it with an error in the page ("Value:
    # text is not in the list of choices: []", seen in CI). The pre-flight check names a wrong column.
    with gr.Row():
        c["text_column"] = gr.Dropdown(label="Text column", elem_id="train-text_column",
                                       allow_custom_value=True)
        c["text_pair_column"] = gr.Dropdown(label="Second text column", info=LABELS["text_pair_column"][1],
                                            elem_id="train-text_pair_column", allow_custom_value=True)
        c["label_column"] = gr.Dropdown(label="Label column", elem_id="train-label_column",
                                        allow_custom_value=True)
        widget("label_names")
    preflight_md = gr.Markdown(elem_id="train-preflight")
    with gr.Row():
        preview_table = gr.Dataframe(label="Preview (first rows of train)", interactive=False, wrap=True,
                                     max_height=320, elem_id="train-data-preview", scale=3)
        with gr.Column(scale=2):
            label_plot = gr.Plot(label="Label distribution", show_label=False, elem_id="train-label-plot")
            # Measured with the chosen model's tokenizer: where task.max_length cuts the texts.
            length_plot = gr.Plot(label="Token lengths", show_label=False, elem_id="train-length-plot")

    # ---- 3. hyperparameters ------------------------------------------------------------------------
    gr.Markdown("### 3. Training")
    with gr.Row():
        widget("epochs")
        widget("max_steps")
        widget("learning_rate", info=lr_info(values["method"], values["model"], str(ws.runs_dir),
                                             bool(values.get("trust_remote_code"))))
        widget("batch_size")
    with gr.Accordion("Advanced settings", open=False):
        advanced = [f.key for f in FIELDS if f.group == "advanced"]
        for i in range(0, len(advanced), 4):
            with gr.Row():
                for key in advanced[i:i + 4]:
                    widget(key)

    # ---- 4. devices and launch ---------------------------------------------------------------------
    gr.Markdown("### 4. Run")
    with gr.Row():
        c["devices"] = gr.CheckboxGroup(choices=device_choices(), value=values["devices"],
                                        label=LABELS["devices"][0], info=LABELS["devices"][1],
                                        elem_id="train-devices", scale=3)
        widget("name", scale=2)
    with gr.Row():
        preview_btn = gr.Button("Preview", elem_id="train-preview")
        save_btn = gr.Button("Save config", elem_id="train-save")
        saved_select = gr.Dropdown(choices=ws.saved_configs(), label="Saved configs", elem_id="train-saved",
                                   scale=2)
        load_btn = gr.Button("Load", elem_id="train-load")
        upload_cfg = gr.UploadButton("Load YAML file…", file_types=[".yaml", ".yml"], elem_id="train-load-file")
    with gr.Row():
        start_btn = gr.Button("Start", variant="primary", elem_id="train-start", scale=2)
        abort_btn = gr.Button("Abort", variant="stop", elem_id="train-abort", scale=1)
    run_status = gr.Markdown(elem_id="train-run-status")
    saved_file = gr.File(label="Saved config", visible=False, interactive=False)
    with gr.Accordion("Preview: config YAML and command", open=False) as preview_box:
        yaml_code = gr.Code(language="yaml", label="config.yaml", elem_id="train-yaml")
        command_code = gr.Code(language="shell", label="The same run from a terminal", elem_id="train-command")

    form_widgets = [c[k] for k in FORM_KEYS]
    assert set(c) == set(FORM_KEYS), set(FORM_KEYS) ^ set(c)

    def read_form(values_in) -> RunConfig:
        *fields, detected_modules = values_in
        return form_to_config(dict(zip(FORM_KEYS, fields)), runs_dir=str(ws.runs_dir),
                              detected_modules=detected_modules or ())

    form_inputs = form_widgets + [detected_state]

    # ---- model handlers ------------------------------------------------------------------------------
    def on_model(name, trust, current_targets):
        # A GGUF file converts once before it can be described: tens of seconds with nothing
        # to show but a spinner, unless the box says what is happening.
        waiting = model_wait_message(name or "")
        if waiting:
            yield waiting, gr.skip(), gr.skip()
        yield describe_model(name, trust, current_targets)

    def describe_model(name, trust, current_targets):
        try:
            info = model_info((name or "").strip(), str(ws.runs_dir), bool(trust))
        except WorkbenchError as err:
            return format_error(err), gr.skip(), gr.skip()
        except Exception as err:  # an architecture transformers cannot build
            return f"✖ The model could not be read: {type(err).__name__}: {str(err).splitlines()[0]}", \
                gr.skip(), gr.skip()
        modules = list(info.target_modules)
        keep = current_targets if current_targets and set(current_targets) <= set(modules) else modules
        layers = f" · {info.layers} layers" if info.layers else ""
        text = f"**{info.source}** model · {info.model_type}{layers} · `{info.path}`"
        return text, gr.CheckboxGroup(choices=modules, value=keep), modules

    def on_count(*values_in):
        *form_values, num_labels = values_in
        try:
            cfg = read_form(form_values)
            # Start's own words for a setting it would refuse (LoRA r 0, -1 layers), not a count
            # of a model that cannot be built or a library's error; the data may not be chosen yet.
            refused = [p for p in validation_problems(cfg) if p[0].startswith(("method.", "task."))]
            if refused:
                raise ConfigError(refused)
            count = parameter_count(cfg, int(num_labels or 2))
        except WorkbenchError as err:
            return format_error(err)
        except Exception as err:
            return f"✖ Parameters could not be counted: {type(err).__name__}: {str(err).splitlines()[0]}"
        return f"**Trainable parameters:** {count.trainable:,} of {count.total:,} ({100 * count.share:.2f}%)"

    count_inputs = form_inputs + [num_labels_state]
    model_event = c["model"].change(on_model, [c["model"], c["trust_remote_code"], c["lora_target_modules"]],
                                    [model_md, c["lora_target_modules"], detected_state])
    model_event.then(on_count, count_inputs, params_md, show_progress="hidden")
    gr.on([c["method"].change, c["lora_r"].change, c["lora_target_modules"].change,
           c["freeze_trainable_layers"].change, c["task"].change],
          on_count, count_inputs, params_md, show_progress="hidden")

    def on_method(method, task):
        return ([gr.Group(visible=method == name) for name in method_groups]
                + [gr.Group(visible=task == name) for name in task_groups])

    gr.on([c["method"].change, c["task"].change], on_method, [c["method"], c["task"]],
          list(method_groups.values()) + list(task_groups.values()), show_progress="hidden")

    def on_learning_rate_info(method, model, trust):
        return gr.Textbox(info=lr_info(method, model, str(ws.runs_dir), bool(trust)))

    gr.on([c["method"].change, c["model"].change, c["trust_remote_code"].change], on_learning_rate_info,
          [c["method"], c["model"], c["trust_remote_code"]], c["learning_rate"], show_progress="hidden")

    # ---- data handlers -------------------------------------------------------------------------------
    data_outputs = [c["text_column"], c["text_pair_column"], c["label_column"], preview_table, label_plot,
                    length_plot, preflight_md, num_labels_state]
    # The last three are for the token lengths: the model's tokenizer counts, max_length cuts.
    data_inputs = [c["data_path"], c["text_column"], c["text_pair_column"], c["label_column"],
                   c["label_names"], c["validation_fraction"], c["min_rows_per_class"],
                   c["max_train_samples"], c["seed"], c["data_seed"],
                   c["model"], c["trust_remote_code"], c["max_length"]]

    def length_config(data_cfg, model, trust, max_length) -> RunConfig:
        cfg = RunConfig(data=data_cfg, runs_dir=str(ws.runs_dir))
        cfg.model.name, cfg.model.trust_remote_code = (model or "").strip(), bool(trust)
        if max_length:  # 64.5 is refused in words here, as Start refuses it, not drawn as 64
            try:
                cfg.task.max_length = whole_number(max_length)
            except ValueError as err:
                raise ConfigError([("task.max_length", str(err))]) from None
        return cfg

    def show_data(view: DataView, keep_mapping: dict | None, cfg: RunConfig):
        pair_choices = [NO_COLUMN] + view.columns
        if keep_mapping is None and view.report is not None and view.report.columns:
            mapping = {"text": view.report.columns.text, "label": view.report.columns.label,
                       "text_pair": view.report.columns.text_pair}
        else:
            mapping = keep_mapping or view.detected
        figure = charts.label_distribution_figure(view.report.label_counts, view.report.label_names) if view.report else None
        lengths = token_length_view(view, cfg)  # before view.message(): it adds its warning
        readable = view.report is not None  # else no rows to show: an empty table would be headed "1 2 3"
        return [gr.Dropdown(choices=view.columns, value=mapping.get("text")),
                gr.Dropdown(choices=pair_choices, value=mapping.get("text_pair") or NO_COLUMN),
                gr.Dropdown(choices=view.columns, value=mapping.get("label")),
                gr.Dataframe(value=view.preview, column_widths=view.column_widths, visible=readable),
                gr.Plot(value=figure, visible=readable), gr.Plot(value=lengths, visible=lengths is not None),
                view.message(), view.num_labels or 2]

    def data_config(path, text, pair, label, label_names, validation_fraction, min_rows, max_train_samples,
                    seed, data_seed, auto_columns: bool) -> tuple[DataConfig, int]:
        """The data settings of the form, and the seed that draws the training sample."""
        form = {"data_path": path, "label_names": label_names,
                "validation_fraction": validation_fraction if validation_fraction is not None else 0.1,
                "min_rows_per_class": min_rows if min_rows is not None else 2,
                "max_train_samples": max_train_samples, "seed": seed if seed is not None else 42,
                "data_seed": data_seed,
                "text_column": None if auto_columns else text,
                "text_pair_column": "auto" if auto_columns else pair,
                "label_column": None if auto_columns else label}
        cfg = form_to_config(form)
        return cfg.data, cfg.data_seed

    def on_new_data(*values_in):
        """A new dataset: detect its columns afresh."""
        *data_values, model, trust, max_length = values_in
        try:
            data_cfg, seed = data_config(*data_values, auto_columns=True)
            view = inspect_data(data_cfg, seed)
            return show_data(view, None, length_config(data_cfg, model, trust, max_length))
        except WorkbenchError as err:
            return [gr.skip()] * 6 + [format_error(err), gr.skip()]
        except Exception as err:
            return [gr.skip()] * 6 + [unexpected("Reading the data", err), gr.skip()]

    def on_mapping(*values_in):
        """The user changed a column or label setting (or the model, or max_length): check again
        with their choice."""
        *data_values, model, trust, max_length = values_in
        try:
            data_cfg, seed = data_config(*data_values, auto_columns=False)
            view = inspect_data(data_cfg, seed)
            keep = {"text": values_in[1], "text_pair": values_in[2], "label": values_in[3]}
            return show_data(view, keep, length_config(data_cfg, model, trust, max_length))
        except WorkbenchError as err:
            return [gr.skip()] * 6 + [format_error(err), gr.skip()]
        except Exception as err:
            return [gr.skip()] * 6 + [unexpected("Checking the data", err), gr.skip()]

    def on_source(choice, current):
        placeholders = {"Local path": "/path/to/data.csv or a folder with train/dev files",
                        "Hub": "hub:<dataset id>[:<subset>], e.g. hub:nyu-mll/glue:sst2 (needs the Hub or its cache)",
                        "Upload": "the uploaded file's copy in the workspace", "Demo": ""}
        if choice == "Demo":
            path = gr.Textbox(value=str(DEMO_DATA), placeholder="")
        elif current == str(DEMO_DATA):  # leaving the demo: make room for the user's path
            path = gr.Textbox(value="", placeholder=placeholders[choice])
        else:
            path = gr.Textbox(placeholder=placeholders[choice])
        return gr.File(visible=choice == "Upload"), path

    def on_upload(file):
        if file is None:
            return gr.skip()
        return str(ws.keep_upload(file))

    source.input(on_source, [source, c["data_path"]], [upload, c["data_path"]]).then(on_new_data, data_inputs, data_outputs)
    upload.upload(on_upload, upload, c["data_path"]).then(on_new_data, data_inputs, data_outputs)
    gr.on([c["data_path"].submit, c["data_path"].blur], on_new_data, data_inputs, data_outputs)
    gr.on([c["text_column"].input, c["text_pair_column"].input, c["label_column"].input,
           c["label_names"].blur, c["label_names"].submit, c["max_length"].blur, c["max_length"].submit,
           c["max_train_samples"].blur, c["max_train_samples"].submit, c["seed"].blur, c["seed"].submit,
           c["data_seed"].blur, c["data_seed"].submit],  # the training sample they draw
          on_mapping, data_inputs, data_outputs)
    model_event.then(on_mapping, data_inputs, data_outputs, show_progress="hidden")  # its tokenizer counts
    num_labels_state.change(on_count, count_inputs, params_md, show_progress="hidden")

    # ---- preview, save, load -------------------------------------------------------------------------
    def on_preview(*values_in):
        try:
            cfg = read_form(values_in)
            cfg.validate()
        except WorkbenchError as err:
            return format_error(err), gr.skip(), gr.skip(), gr.skip()
        except Exception as err:
            return unexpected("Preview", err), gr.skip(), gr.skip(), gr.skip()
        return "", cfg.to_yaml(), cli_command(cfg), gr.Accordion(open=True)

    preview_btn.click(on_preview, form_inputs, [run_status, yaml_code, command_code, preview_box])

    def on_save(*values_in):
        try:
            cfg = read_form(values_in)
            cfg.validate()
        except WorkbenchError as err:
            return format_error(err), gr.skip(), gr.skip()
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", cfg.name or "") or time.strftime("config-%Y%m%d-%H%M%S")
        path = ws.configs_dir / f"{stem}.yaml"
        try:
            cfg.save(path)
        except OSError as err:
            return f"✖ The config could not be saved to `{path}`: {escape_markdown(str(err))}", gr.skip(), gr.skip()
        return (f"Saved to `{path}`", gr.File(value=str(path), visible=True),
                gr.Dropdown(choices=ws.saved_configs(), value=path.name))

    save_btn.click(on_save, form_inputs, [run_status, saved_file, saved_select])

    def load_config(path: str | None, detected_modules):
        if not path:
            return [gr.skip()] * len(FORM_KEYS) + ["Pick a saved config or a YAML file first."]
        gpus = [g.index for g in queue.list_gpus()]
        try:
            cfg = RunConfig.load(path)
            loaded = config_to_form(cfg, detected_modules or (), gpus)
        except WorkbenchError as err:
            return [gr.skip()] * len(FORM_KEYS) + [format_error(err)]
        except Exception as err:
            return [gr.skip()] * len(FORM_KEYS) + [unexpected("Loading the config", err)]
        note = ""
        # A config written on another machine may name GPUs this one lacks: tick what is here.
        missing = [d for d in loaded["devices"] if d != "cpu" and d not in gpus]
        if missing:
            loaded["devices"] = [d for d in loaded["devices"] if d not in missing] or devices_to_form(AUTO, gpus)
            ticked = ", ".join("CPU" if d == "cpu" else f"GPU {d}" for d in loaded["devices"])
            note = f"; GPU {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not on this machine: ticked {ticked}"
        # Modules of the config's model, not yet of the shown one: offer them until the model's
        # change re-reads its layers (a value outside the choices would fail that very event).
        targets = loaded["lora_target_modules"]
        loaded["lora_target_modules"] = gr.CheckboxGroup(
            choices=list(dict.fromkeys([*(detected_modules or ()), *targets])), value=targets)
        updates = [loaded[k] for k in FORM_KEYS]
        return updates + [f"Loaded `{Path(path).name}`{note}"]

    load_outputs = form_widgets + [run_status]
    load_btn.click(lambda name, det: load_config(str(ws.configs_dir / name) if name else None, det),
                   [saved_select, detected_state], load_outputs).then(on_mapping, data_inputs, data_outputs)
    upload_cfg.upload(lambda file, det: load_config(file, det), [upload_cfg, detected_state],
                      load_outputs).then(on_mapping, data_inputs, data_outputs)

    # ---- start and abort -----------------------------------------------------------------------------
    def on_start(*values_in):
        try:
            cfg = read_form(values_in)
            check_settings(cfg)  # what `workbench train` checks before the data
            view = inspect_data(cfg.data)
            if view.report is None:
                raise DataError(view.error)
            require_ok(view.report)
            too_short = run_length_warning(cfg, view.report.split_rows, len(view.report.label_names))
            warnings = ([too_short] if too_short else []) + [
                p.message for p in sample_problems(cfg.data, load_cached(cfg.data.path), view.report, cfg.data_seed)]
            cfg = cfg.resolve()
            require_disk_for(cfg, view.report.split_rows, len(view.report.label_names))
            run = create_run(cfg)
            state = queue.submit(run, len(queue.list_gpus()))
        except WorkbenchError as err:
            gr.Warning(toast_text(err))
            return format_error(err), ""
        except Exception as err:
            return unexpected("Start", err), ""
        note = ""
        for warning in warnings:  # Start moves to the Monitor tab: a toast is seen there, this message is not
            sentence = f"{warning[0].upper()}{warning[1:]}."
            gr.Warning(sentence, duration=15)
            note += f"\n\n⚠ {sentence}"
        if state == "started":
            return f"▶ Run `{run.id}` started — follow it in the Monitor tab.{note}", run.id
        return (f"◷ Run `{run.id}` is queued: it starts when its device ({cfg.devices}) is free.{note}", run.id)

    start_event = start_btn.click(on_start, form_inputs, [run_status, started_run], concurrency_limit=1)

    def on_abort(run_id):
        if not run_id:
            return ("Nothing to abort from this page: it has started no run since it was opened. "
                    "The Monitor tab aborts any run.")
        try:
            get_run(ws.runs_dir, run_id).request_abort()
        except WorkbenchError as err:
            return format_error(err)
        return f"■ Abort requested for `{run_id}`: it stops after the current step."

    abort_btn.click(on_abort, started_run, run_status)

    # ---- when a page opens: choices that depend on the machine and the workspace, then the
    # model details, the data check and the parameter count of the form as it stands -------------
    def refresh_choices():
        return (gr.Dropdown(choices=model_choices(ws)), gr.CheckboxGroup(choices=device_choices()),
                gr.Dropdown(choices=ws.saved_configs()))

    def wire_page_load(demo: gr.Blocks) -> None:
        demo.load(refresh_choices, None, [c["model"], c["devices"], saved_select], show_progress="hidden")
        demo.load(on_new_data, data_inputs, data_outputs, show_progress="hidden")
        demo.load(on_model, [c["model"], c["trust_remote_code"], c["lora_target_modules"]],
                  [model_md, c["lora_target_modules"], detected_state], show_progress="hidden") \
            .then(on_count, count_inputs, params_md, show_progress="hidden")

    return TrainTab(start_event, started_run, wire_page_load)

