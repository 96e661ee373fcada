"""The app in a real browser: configure a tiny run on the demo data, start it, watch it, abort it;
restart the app mid-run and find the run still drawing; a run that waits for the busy CPU and
starts when it frees; a killed run's failure in words; a broken dataset's pre-flight message; bad
input in the form; saving and loading a config.

Real app process, real Chromium, real training processes of the bundled MiniLM on the CPU.
Screenshots of each state go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psutil
import pytest
import yaml
from conftest import screenshot
from driver import (TINY_RUN, TINY_RUN_ADVANCED, choose, configure_run, field, monitor_status, open_app,
                    plot_layout, preview_shows, set_field, start_run, trace_x, wait_for_points)
from playwright.sync_api import expect

from workbench.data.load import load_raw
from workbench.ui.runs_tab import COLUMNS

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def stop_leftover_runs(tmp_path):
    """Training processes outlive the app by design; a failed test must not leave one behind."""
    yield
    for status_file in (tmp_path / "runs").glob("*/status.json"):
        pid = json.loads(status_file.read_text()).get("pid")
        if pid and psutil.pid_exists(pid):
            try:
                process = psutil.Process(pid)
                command = " ".join(process.cmdline())
                # A run's process: launched afresh, or a standby that took the run.
                if "workbench.train.main" in command or "workbench.train.standby" in command:
                    process.kill()
            except psutil.Error:
                pass


def run_status(workspace: Path, run_id: str) -> dict:
    return json.loads((workspace / "runs" / run_id / "status.json").read_text())


def wait_for_status(page, words: str, timeout: float = 90) -> None:
    expect(page.locator("#monitor-status")).to_contain_text(words, timeout=timeout * 1000)


def test_configure_start_watch_and_abort(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    expect(page.locator("#train-parameters")).to_contain_text("Trainable parameters", timeout=60_000)
    # 16 tokens cuts some of the demo's tickets: the Monitor says so under the run's state.
    configure_run(page, {**TINY_RUN, "max_length": 16}, {**TINY_RUN_ADVANCED, "eval_steps": 3})

    page.locator("#train-preview").click()
    expect(page.locator("#train-yaml")).to_contain_text("max_steps: 40")
    expect(page.locator("#train-command")).to_contain_text("workbench train")
    expect(page.locator("#train-command")).to_contain_text("--max-steps 40")
    screenshot(page, "01_train_configured")

    run_id = start_run(page)
    # Start switches to the Monitor tab, showing the new run.
    expect(page.locator("#monitor-status")).to_be_visible()
    expect(page.locator("#monitor-run input")).to_have_value(run_id)
    first = wait_for_points(page, 2, timeout=90)
    more = wait_for_points(page, len(first) + 3, timeout=60)
    assert more[:len(first)] == first and more[-1] > first[-1], "the loss chart gains later steps"
    assert "Running" in monitor_status(page)
    expect(page.locator("#monitor-status")).to_contain_text("reach task.max_length (16 tokens) and are cut there")
    expect(page.locator("#monitor-progress")).to_contain_text(f"/{TINY_RUN['max_steps']}")
    expect(page.locator("#monitor-progress")).to_contain_text("ETA")
    # The evaluation every 3 steps draws the metrics chart.
    assert wait_for_points(page, 1, timeout=60, elem_id="monitor-metrics", trace="accuracy")[0] == 3
    assert plot_layout(page, "monitor-loss", "yaxis.type") == "linear"
    page.locator("#monitor-log-scale input").check()
    # Each chart redraws on its own: CI once read the learning-rate chart a moment before its turn.
    for chart in ("monitor-loss", "monitor-lr"):
        page.wait_for_function(f"() => document.querySelector('#{chart} .js-plotly-plot').layout.yaxis.type === 'log'",
                               timeout=10_000)
    screenshot(page, "02_monitor_running")

    page.locator("#monitor-abort").click()
    wait_for_status(page, "Aborted", timeout=60)
    status = run_status(tmp_path, run_id)
    assert status["status"] == "aborted"
    assert 0 < status["step"] < TINY_RUN["max_steps"]
    screenshot(page, "03_monitor_aborted")

    # Resume goes on from the checkpoint the abort left, to the end, in the same run.
    checkpoints = (tmp_path / "runs" / run_id / "checkpoints").glob("checkpoint-*")
    stopped_at = max(int(path.name.split("-")[1]) for path in checkpoints)
    page.locator("#monitor-resume").click()
    wait_for_status(page, "Finished", timeout=120)
    status = run_status(tmp_path, run_id)
    assert status["status"] == "finished" and status["step"] == TINY_RUN["max_steps"]
    metrics = (tmp_path / "runs" / run_id / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in metrics if '"loss"' in line]
    assert steps[steps.index(stopped_at) + 1] == stopped_at + 1, "continued, did not restart from step 1"
    # The log (longer than its box by now) shows its newest lines, not its oldest.
    page.wait_for_function("""() => { const t = document.querySelector('#monitor-log textarea');
        return t && t.value.includes('finished') && t.scrollHeight > t.clientHeight
            && t.scrollTop + t.clientHeight >= t.scrollHeight - 2; }""", timeout=10_000)
    screenshot(page, "04_monitor_resumed")


def test_restart_app_mid_run_reattaches(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    # Long enough to outlast the restart on a quiet machine too (400 steps once ended at 6 steps/s
    # before the chart could show three more points); the test aborts it once it has seen them.
    configure_run(page, {**TINY_RUN, "max_steps": 3000}, TINY_RUN_ADVANCED)
    run_id = start_run(page)
    before = wait_for_points(page, 3, timeout=90)
    screenshot(page, "04_before_restart")

    # Close the page and stop the app: the training process must not notice.
    page.goto("about:blank")
    server.stop()
    pid = run_status(tmp_path, run_id)["pid"]
    step_at_stop = run_status(tmp_path, run_id).get("step", 0)
    assert psutil.pid_exists(pid), "stopping the app stopped the training process"

    restarted = app_server(tmp_path)
    page.goto(restarted.url)
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("#monitor-run input")).to_have_value(run_id, timeout=30_000)
    wait_for_status(page, "Running", timeout=30)
    reattached = wait_for_points(page, len(before) + 1, timeout=60)
    later = wait_for_points(page, len(reattached) + 3, timeout=60)
    assert later[-1] > max(reattached[-1], step_at_stop), "the chart keeps updating after the restart"
    screenshot(page, "05_reattached_after_restart")

    page.locator("#monitor-abort").click()
    wait_for_status(page, "Aborted", timeout=60)

    # The Runs tab lists it; its curves and config open on a click; deleting asks first.
    page.get_by_role("tab", name="Runs").click()
    table = page.locator("#runs-table")
    expect(table).to_contain_text(run_id, timeout=10_000)
    expect(table).to_contain_text("aborted")
    table.get_by_test_id("cell-0-0").click()  # the first row: the only run
    expect(page.locator("#runs-selected")).to_contain_text(run_id)
    wait_for_points(page, len(later), timeout=10, elem_id="runs-loss")
    # The config opens with the selection, no extra click.
    expect(page.locator("#runs-config")).to_be_visible()
    expect(page.locator("#runs-config")).to_contain_text("max_steps: 3000")
    choose(page, "runs-compare", run_id)
    assert len(wait_for_points(page, 1, timeout=10, elem_id="runs-compare-plot", trace=run_id)) >= len(later)
    screenshot(page, "06_runs_tab_selected")
    page.locator("#runs-export").click()  # an aborted run has no final model to export
    expect(page.locator("#runs-action-text")).to_contain_text(f"run {run_id} has no final model (status: aborted)")
    page.locator("#runs-delete").click()
    expect(page.locator("#runs-confirm-text")).to_contain_text("cannot be undone")
    page.locator("#runs-confirm-delete").click()
    expect(page.locator("#runs-selected")).to_contain_text("Deleted")
    expect(table).not_to_contain_text(run_id)
    assert not (tmp_path / "runs" / run_id).exists()


def test_broken_dataset_shows_preflight_message(app_server, page, tmp_path):
    broken = tmp_path / "tickets.csv"
    # Line 3 has no text, line 5 no label, and 'refund' has a single row.
    broken.write_text("text,label\n"
                      "my card was charged twice,billing\n"
                      ",billing\n"
                      "the parcel never came,delivery\n"
                      "the app crashes on start,\n"
                      "the box arrived crushed,delivery\n"
                      "please refund my order,refund\n"
                      "invoice shows the wrong name,billing\n")
    server = app_server(tmp_path)
    open_app(page, server.url)
    page.get_by_label("Local path").check()
    expect(page.locator("#train-data_path").locator("input, textarea").first).to_have_value("")
    set_field(page, "data_path", broken)
    preflight = page.locator("#train-preflight")
    expect(preflight).to_contain_text("Pre-flight check failed", timeout=30_000)
    expect(preflight).to_contain_text("line 3")
    expect(preflight).to_contain_text("line 5")
    expect(preflight).to_contain_text("refund")
    screenshot(page, "07_broken_dataset_preflight")

    page.locator("#train-start").click()
    expect(page.locator("#train-run-status")).to_contain_text("check failed", timeout=30_000)
    assert not list((tmp_path / "runs").glob("*/status.json")), "a run was created from bad data"


def test_upload_a_compressed_file_and_a_spreadsheet(app_server, page, tmp_path, datasets_dir):
    import gzip

    import pandas as pd

    dev = pd.read_csv(datasets_dir / "sst2" / "dev.tsv", sep="\t").head(300)
    upload = tmp_path / "reviews.csv.gz"
    upload.write_bytes(gzip.compress(dev.to_csv(index=False).encode()))
    server = app_server(tmp_path)
    open_app(page, server.url)
    page.locator("#train-data-source").get_by_label("Upload").check()
    page.locator("#train-upload input[type=file]").set_input_files(str(upload))
    kept = tmp_path / "uploads" / "reviews.csv.gz"
    expect(page.locator("#train-data_path").locator("input, textarea").first).to_have_value(str(kept),
                                                                                            timeout=30_000)
    preflight = page.locator("#train-preflight")
    expect(preflight).to_contain_text("300", timeout=30_000)
    expect(preflight).not_to_contain_text("failed")
    expect(page.locator("#train-text_column input")).to_have_value("sentence")
    expect(page.locator("#train-data-preview")).to_contain_text(dev["sentence"][0].strip()[:30])
    screenshot(page, "07b_uploaded_compressed_file")

    # A spreadsheet is not a format we read: the page says what to do instead.
    sheet = tmp_path / "reviews.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    page.locator("#train-upload").get_by_role("button", name="Clear").click()
    page.locator("#train-upload input[type=file]").set_input_files(str(sheet))
    expect(page.locator("#train-data_path").locator("input, textarea").first).to_have_value(
        str(tmp_path / "uploads" / "reviews.xlsx"), timeout=30_000)
    expect(preflight).to_contain_text("save the sheet as CSV", timeout=30_000)
    # No rows to show: the preview and the label chart leave the page rather than stay empty.
    expect(page.locator("#train-data-preview")).to_be_hidden()
    expect(page.locator("#train-label-plot")).to_be_hidden()
    page.locator("#train-data-source").get_by_label("Demo").check()
    expect(page.locator("#train-data-preview")).to_contain_text("Do you ship to post office boxes?", timeout=30_000)
    expect(page.locator("#train-label-plot")).to_be_visible()
    screenshot(page, "07c_uploaded_spreadsheet")

    # Multi-label rows (a list of topics per row): the check says so, and the preview shows the
    # lists as lists ([1], not a bare 1).
    news = pd.read_csv(datasets_dir / "ag_news" / "train_8k.csv").head(40)
    news["label"] = [[topic] for topic in news["label"]]
    topics = tmp_path / "topics.jsonl"
    news.to_json(topics, orient="records", lines=True)
    page.locator("#train-data-source").get_by_label("Upload").check()
    page.locator("#train-upload").get_by_role("button", name="Clear").click()
    page.locator("#train-upload input[type=file]").set_input_files(str(topics))
    expect(preflight).to_contain_text("holds lists or mappings, not one label per row", timeout=30_000)
    expect(page.locator("#train-data-preview")).to_contain_text("[1]")
    screenshot(page, "07d_uploaded_multi_label_rows")


def test_token_lengths_show_where_max_length_cuts(app_server, page, tmp_path, datasets_dir):
    server = app_server(tmp_path)
    open_app(page, server.url)
    page.locator("#train-data-source").get_by_label("Local path").check()
    # Leaving the demo empties the path on the server's answer: typing before it lands is lost.
    expect(field(page, "data_path")).to_have_value("", timeout=30_000)
    set_field(page, "data_path", datasets_dir / "ag_news")
    preflight = page.locator("#train-preflight")
    expect(preflight).to_contain_text("train 8,000", timeout=60_000)
    expect(page.locator("#train-length-plot")).to_be_visible()
    expect(preflight).not_to_contain_text("will be cut")  # 128 tokens hold AG News whole

    # News articles at 64 tokens: the check says how many are cut and what would keep them whole,
    # and the chart's line moves to 64.
    set_field(page, "max_length", 64)
    expect(preflight).to_contain_text("are longer than task.max_length (64 tokens) and will be cut there; "
                                      "task.max_length 120 keeps 99 % of them whole", timeout=30_000)
    deadline = time.time() + 30
    while plot_layout(page, "train-length-plot", "shapes.0.x0") != 64 and time.time() < deadline:
        time.sleep(0.2)
    assert plot_layout(page, "train-length-plot", "shapes.0.x0") == 64
    assert "cuts 6.2 % of train" in plot_layout(page, "train-length-plot", "annotations.0.text")
    screenshot(page, "07e_token_lengths_cut")

    set_field(page, "max_length", 128)
    expect(preflight).not_to_contain_text("will be cut", timeout=30_000)

    # Reviews of which one in ten ends with an emoji the English vocabulary lacks.
    reviews = load_raw(str(datasets_dir / "sst2")).splits["train"].frame.head(400).copy()
    reviews.loc[reviews.index[::10], "sentence"] += " 👍"
    reviews.to_csv(tmp_path / "reviews.csv", index=False)
    set_field(page, "data_path", tmp_path / "reviews.csv")
    expect(preflight).to_contain_text("in 40 of 400 texts) are unknown to this model's tokenizer", timeout=60_000)
    expect(preflight).to_contain_text("the commonest: '👍' (40)")
    screenshot(page, "07f_unknown_tokens")


def test_a_run_waits_for_the_busy_cpu_and_a_killed_run_fails_in_words(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    # Long enough to outlast the restart on a quiet machine too (400 steps once ended at 6 steps/s
    # before the chart could show three more points); the test aborts it once it has seen them.
    configure_run(page, {**TINY_RUN, "max_steps": 3000}, TINY_RUN_ADVANCED)
    first = start_run(page)
    wait_for_points(page, 1, timeout=90)

    # A second run on the same CPU waits for the first.
    page.get_by_role("tab", name="Train").click()
    second = start_run(page)
    assert second != first
    # The Monitor shows the new run as it opens: never the first run's curves or state, which it
    # drew last (they stayed up until the first poll of the new run answered).
    deadline = time.time() + 2
    while time.time() < deadline:
        if page.locator("#monitor-status").is_visible():
            assert not trace_x(page, "monitor-loss", "train loss"), "the Monitor opened on the previous run's curve"
            assert "Running" not in monitor_status(page)
        page.wait_for_timeout(20)
    expect(page.locator("#train-run-status")).to_contain_text("queued")
    expect(page.locator("#monitor-run input")).to_have_value(second)
    wait_for_status(page, "Queued", timeout=10)
    expect(page.locator("#monitor-status")).to_contain_text(f"behind {first}")
    assert run_status(tmp_path, second)["status"] == "queued"
    screenshot(page, "08_second_run_queued")

    # The first run's process dies (killed, as by the out-of-memory killer): the CPU frees, the
    # waiting run starts, and the first one reads as failed, with the reason in words.
    psutil.Process(run_status(tmp_path, first)["pid"]).kill()
    wait_for_status(page, "Running", timeout=30)
    wait_for_points(page, 2, timeout=90)
    screenshot(page, "09_second_run_started")
    page.locator("#monitor-abort").click()
    wait_for_status(page, "Aborted", timeout=60)

    choose(page, "monitor-run", first)
    wait_for_status(page, "Failed", timeout=10)
    status_text = monitor_status(page)
    assert "the training process ended without reporting" in status_text
    assert f"workbench resume {first}" in status_text
    assert "Traceback" not in page.locator("body").inner_text()
    screenshot(page, "10_killed_run_failed")


def test_bad_input_gives_one_clear_message_and_configs_save_and_load(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    status = page.locator("#train-run-status")

    set_field(page, "learning_rate", "-0.001")
    page.locator("#train-start").click()
    expect(status).to_contain_text("train.learning_rate", timeout=30_000)
    expect(status).to_contain_text("must be a positive number")
    set_field(page, "learning_rate", "fast")
    page.locator("#train-preview").click()
    expect(status).to_contain_text("'fast' is not a number or auto", timeout=30_000)
    set_field(page, "learning_rate", "auto")
    # A whole-number box is not rounded behind the user's back (2.5 rows a batch trained with 2).
    set_field(page, "batch_size", "2.5")
    page.locator("#train-preview").click()
    expect(status).to_contain_text("train.batch_size: 2.5 is not a whole number", timeout=30_000)
    set_field(page, "batch_size", "16")
    # A training sample too small for every class is flagged in the pre-flight panel as it is typed.
    configure_run(page, {}, {"max_train_samples": 2})
    expect(page.locator("#train-preflight")).to_contain_text("holds no row of class", timeout=30_000)
    set_field(page, "max_train_samples", "")
    expect(page.locator("#train-preflight")).not_to_contain_text("holds no row", timeout=30_000)

    model = page.locator("#train-model input")
    model.fill("./no/such/model")
    model.press("Enter")
    expect(page.locator("#train-model-info")).to_contain_text("does not exist", timeout=30_000)
    page.locator("#train-start").click()
    expect(status).to_contain_text("model folder './no/such/model' does not exist", timeout=30_000)
    # What "auto" means follows the model: a wider one takes smaller steps (its config says how wide).
    from transformers import BertConfig

    BertConfig(hidden_size=1536).save_pretrained(tmp_path / "wide-bert")
    model.fill(str(tmp_path / "wide-bert"))
    model.press("Enter")
    learning_rate = page.locator("#train-learning_rate")
    expect(learning_rate).to_contain_text("auto = 5e-05 for Full fine-tuning on this model (hidden size 1536)",
                                          timeout=30_000)
    model.fill("minilm-l6")
    model.press("Enter")
    expect(page.locator("#train-model-info")).to_contain_text("bundled model", timeout=30_000)
    expect(learning_rate).to_contain_text("auto = 0.0001 for Full fine-tuning", timeout=30_000)

    choose(page, "train-label_column", "text")
    expect(page.locator("#train-preflight")).to_contain_text("both 'text'", timeout=30_000)
    page.locator("#train-start").click()
    expect(status).to_contain_text("check failed", timeout=30_000)
    choose(page, "train-label_column", "label")
    expect(page.locator("#train-preflight")).to_contain_text("passed", timeout=30_000)

    # A checkpoint at every one of a million steps, all kept: more than any disk holds.
    configure_run(page, {"max_steps": 1_000_000}, {"save_steps": 1, "save_total_limit": 1_000_000})
    preview_shows(page, "train.save_steps=1", "train.save_total_limit=1000000")  # then Start reads them
    page.locator("#train-start").click()
    expect(status).to_contain_text("not enough disk space: this run writes about ", timeout=30_000)
    expect(status).to_contain_text("set train.save_total_limit to 1")
    configure_run(page, {"max_steps": 40}, {"save_steps": "auto", "save_total_limit": 2})
    # Any other TrainingArguments pass through as YAML; a misspelt name is refused with the one meant.
    set_field(page, "trainer_arguments", "{optimm: adafactor}")
    preview_shows(page, "train.trainer_arguments.optimm=adafactor")
    page.locator("#train-start").click()
    expect(status).to_contain_text("train.trainer_arguments.optimm", timeout=30_000)
    expect(status).to_contain_text("is not an argument of transformers' TrainingArguments; did you mean 'optim'?")
    set_field(page, "trainer_arguments", "")
    assert "Traceback" not in page.locator("body").inner_text()
    assert not list((tmp_path / "runs").glob("*/status.json")), "bad input created a run"
    screenshot(page, "11_bad_input")

    # LoRA shows its settings and changes the trainable share; save, change, load back.
    page.locator("#train-method").get_by_text("LoRA").click()
    expect(page.locator("#train-lora_target_modules")).to_contain_text("query", timeout=30_000)
    expect(learning_rate).to_contain_text("auto = 0.001 for LoRA")
    expect(page.locator("#train-parameters")).to_contain_text("(2.", timeout=60_000)  # ~2.9% of MiniLM
    # A rank Start refuses is refused in the count too, in the same words (not peft's ValueError).
    set_field(page, "lora_r", 0)
    expect(page.locator("#train-parameters")).to_contain_text("method.lora.r: 0 must be a positive rank",
                                                             timeout=30_000)
    set_field(page, "lora_r", 4)
    set_field(page, "name", "small lora")
    page.locator("#train-save").click()
    expect(status).to_contain_text("Saved to", timeout=30_000)
    saved = tmp_path / "configs" / "small-lora.yaml"
    assert "r: 4" in saved.read_text() and "type: lora" in saved.read_text()
    page.locator("#train-method").get_by_text("Full fine-tuning").click()
    expect(page.locator("#train-lora_r")).to_be_hidden()
    expect(page.locator("#train-parameters")).to_contain_text("(100.00%)", timeout=30_000)
    page.locator("#train-load").click()
    expect(status).to_contain_text("Loaded small-lora.yaml", timeout=30_000)
    expect(page.locator("#train-lora_r")).to_be_visible()
    expect(field(page, "lora_r")).to_have_value("4")
    expect(field(page, "name")).to_have_value("small lora")
    screenshot(page, "12_config_loaded")

    # YAML files from elsewhere. A method this version lacks cannot be shown: refused in words, the
    # form left as it was (it used to take the value, and then every event failed in gradio).
    (tmp_path / "qlora.yaml").write_text("method: {type: qlora, lora: {r: 64}}\n")
    upload_config(page, tmp_path / "qlora.yaml")
    expect(status).to_contain_text("method.type: 'qlora' is not available yet; choose one of full, freeze, lora",
                                   timeout=30_000)
    expect(field(page, "lora_r")).to_have_value("4")
    page.locator("#train-preview").click()
    expect(page.locator("#train-yaml")).to_contain_text("r: 4", timeout=30_000)
    # A config saved on a machine with two GPUs: loaded, with the CPU ticked instead, and said so.
    gpu_box = yaml.safe_load(saved.read_text())
    gpu_box["method"]["lora"].update(r=8, target_modules=["query", "value"])
    gpu_box["devices"] = "0,1"
    (tmp_path / "gpu-box.yaml").write_text(yaml.safe_dump(gpu_box))
    upload_config(page, tmp_path / "gpu-box.yaml")
    expect(status).to_contain_text("Loaded gpu-box.yaml; GPU 0, 1 are not on this machine: ticked CPU",
                                   timeout=30_000)
    expect(field(page, "lora_r")).to_have_value("8")
    expect(page.locator("#train-devices").get_by_label("CPU")).to_be_checked()
    preview_shows(page, 'method.lora.target_modules=["query", "value"]')
    assert "Error" not in " ".join(page.locator(".toast-body").all_inner_texts())


def upload_config(page, path):
    with page.expect_file_chooser() as chooser:
        page.locator("#train-load-file").click()
    chooser.value.set_files(str(path))


def test_a_batch_as_large_as_the_data_is_flagged_on_start_and_in_the_monitor(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    set_field(page, "batch_size", 256)  # the demo keeps 162 training rows; three epochs
    set_field(page, "max_length", 32)
    run_id = start_run(page)
    expected = ("his run makes only 3 optimizer steps (a batch of 256 takes all 162 training rows at "
                "once, 3 epochs): too few to learn from; lower train.batch_size below 162")
    expect(page.locator("#train-run-status")).to_contain_text("T" + expected)
    expect(page.get_by_text("T" + expected + ".", exact=True)).to_be_visible()  # a toast over the Monitor
    screenshot(page, "12_too_few_steps_on_start")
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("#monitor-run input")).to_have_value(run_id)
    wait_for_status(page, "Finished", timeout=120)
    expect(page.locator("#monitor-status")).to_contain_text(expected)
    assert run_status(tmp_path, run_id)["step"] == 3

    # The finished run's model, exported from the Runs tab: one folder plain transformers loads.
    page.get_by_role("tab", name="Runs").click()
    page.locator("#runs-refresh").click()
    page.locator("#runs-table").get_by_test_id("cell-0-0").click()
    expect(page.locator("#runs-selected")).to_contain_text(run_id)
    page.locator("#runs-export").click()
    folder = tmp_path / "runs" / run_id / "export"
    message = page.locator("#runs-action-text")
    expect(message).to_contain_text(f"exported to {folder.resolve()}", timeout=60_000)
    expect(message).to_contain_text("trust_remote_code=True")
    assert {"model.safetensors", "pooled_classifier.py", "tokenizer.json"} <= {f.name for f in folder.iterdir()}
    screenshot(page, "13_model_exported")

    # Its checkpoints (weights and optimizer state, hundreds of MB) go; the model stays.
    disk = page.locator("#runs-table").get_by_test_id(f"cell-0-{COLUMNS.index('disk')}")
    expect(disk).to_have_text(re.compile(r"\d+ MB"))
    before = int(disk.inner_text().split()[0])
    assert before > 500
    page.locator("#runs-delete-checkpoints").click()
    expect(message).to_contain_text(f"Deleted the checkpoints of {run_id}: ")
    expect(message).to_contain_text("MB freed. Its model, predictions and logs stay.")
    expect(disk).not_to_have_text(f"{before} MB")
    # Two checkpoints of 259 MB went; the export (87 MB) came since the table was drawn.
    assert int(disk.inner_text().split()[0]) < before - 400
    assert not (tmp_path / "runs" / run_id / "checkpoints").exists()
    screenshot(page, "13b_checkpoints_deleted")


def test_the_runs_tab_shows_the_model_cache_and_removes_unused_conversions(app_server, page, tmp_path, monkeypatch,
                                                                          dead_pid):
    # What a conversion killed half way leaves (catalog writes <target>.tmp<pid>), and a conversion
    # made before sources were recorded, which may still be used.
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    killed = tmp_path / "cache" / "models" / f"gguf-mine-0123456789ab.tmp{dead_pid}"
    older = tmp_path / "cache" / "models" / "gguf-old-aaaaaaaaaaaa"
    for folder, megabytes in ((killed, 3), (older, 1)):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"\0" * megabytes * 2**20)
    server = app_server(tmp_path)
    open_app(page, server.url)
    page.get_by_role("tab", name="Runs").click()
    page.get_by_text("Model cache").click()
    summary = page.locator("#runs-cache")
    expect(summary).to_contain_text(f"GGUF models converted into {tmp_path / 'cache' / 'models'}: 4 MB.",
                                    timeout=30_000)
    expect(summary).to_contain_text("unfinished")
    expect(summary).to_contain_text("unknown source")
    expect(summary).to_contain_text("1 no run can use again (3 MB): Remove unused deletes them.")
    screenshot(page, "15_model_cache")
    page.locator("#runs-cache-prune").click()
    action = page.locator("#runs-cache-pruned")
    expect(action).to_contain_text("Removed 1 conversion: 3 MB freed.", timeout=30_000)
    expect(summary).not_to_contain_text("unfinished")
    expect(summary).to_contain_text("Every conversion can still be used.")
    assert not killed.exists() and older.exists()
    page.locator("#runs-cache-prune").click()
    expect(action).to_contain_text("Nothing to remove: every conversion can still be used.")
    # One that can still be used goes only when chosen: its next run converts it again.
    choose(page, "runs-cache-choice", older.name)
    page.locator("#runs-cache-remove").click()
    expect(action).to_contain_text("Removed 1 conversion: 1 MB freed. The next run of its model converts it again.",
                                   timeout=30_000)
    expect(summary).to_contain_text("No GGUF model has been converted yet")
    assert not older.exists()


def test_keep_the_best_checkpoint_and_stop_early_from_the_form(app_server, page, tmp_path):
    server = app_server(tmp_path)
    open_app(page, server.url)
    # A learning rate too small to move a weight: every evaluation scores the same, so the run
    # keeps its first checkpoint and stops two evaluations later.
    configure_run(page, {**TINY_RUN, "learning_rate": "1e-12"},
                  {"head_learning_rate": "1e-12", "eval_steps": 2, "save_steps": 2, "early_stopping_patience": 2})
    choose(page, "train-select_best", "f1_macro")
    # The YAML editor draws only the lines in view; the command carries every changed field.
    preview_shows(page, "train.select_best=f1_macro", "train.early_stopping_patience=2",
                  "--lr 1e-12", "train.head_learning_rate=1e-12")
    run_id = start_run(page)
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("#monitor-run input")).to_have_value(run_id)
    wait_for_status(page, "Finished", timeout=120)
    expect(page.locator("#monitor-status")).to_contain_text(
        "Stopped early at step 6 of 40: f1_macro did not improve for 2 evaluations; the run's model is "
        "the checkpoint of step 2")
    screenshot(page, "14_stopped_early")
    assert run_status(tmp_path, run_id)["best_checkpoint"]["step"] == 2
