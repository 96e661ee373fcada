"""The Analyze tab in a real browser, on a real finished run (MiniLM fine-tuned on SST-2).

Each view is opened like a user would and must show real content read from the run: numbers
that match the run's predictions, heatmaps with the model's attention, coloured tokens, charts
with data. One screenshot per view goes to artifacts/screenshots/analyze_<view>.png.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
import urllib.request

import pytest
from conftest import screenshot
from driver import open_dropdown
from playwright.sync_api import Page, expect

from tests.udhr import ARTICLE_1

pytestmark = pytest.mark.browser

# The traces of the plotly chart inside a gradio Plot, read from the live page. plotly.py sends
# numpy arrays base64-encoded; the decoded arrays are in the chart's _fullData.
PLOT_JS = """(id) => {
  const plot = document.querySelector(`#${id} .js-plotly-plot`);
  if (!plot || !plot._fullData) return null;
  const list = v => (v == null ? null : Array.from(v));
  return plot._fullData.map(t => ({type: t.type, name: t.name || '',
                                   n: t.z ? t.z.length : (t.x ? t.x.length : 0),
                                   z: t.z ? Array.from(t.z, list) : null}));
}"""


def traces(page: Page, elem_id: str) -> list[dict] | None:
    return page.evaluate(PLOT_JS, elem_id)


def wait_for_traces(page: Page, elem_id: str, minimum: int = 1, timeout: float = 60) -> list[dict]:
    deadline = time.time() + timeout
    found = None
    while time.time() < deadline:
        found = traces(page, elem_id)
        if found and len(found) >= minimum and all(t["n"] > 0 for t in found[:minimum]):
            return found
        time.sleep(0.25)
    raise AssertionError(f"#{elem_id} shows {found!r} after {timeout}s, expected {minimum} traces with data")


def table_text(page: Page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def open_analyze(app_server, page: Page, workspace):
    """The app on `workspace` (its server returned), on its Analyze tab."""
    server = app_server(workspace)
    page.goto(server.url)
    page.get_by_role("tab", name="Analyze").click()
    return server


def open_view(page: Page, name: str) -> None:
    page.locator("#analyze-views").get_by_role("tab", name=name, exact=True).click()


@pytest.fixture
def workspace(sst2_run, tmp_path):
    """A workspace whose runs/ holds a copy of the finished SST-2 run (weights, predictions)."""
    runs = tmp_path / "runs"
    shutil.copytree(sst2_run.dir, runs / sst2_run.id, ignore=shutil.ignore_patterns("checkpoints"))
    return tmp_path


def test_every_view_of_a_finished_run(app_server, page, workspace, sst2_run):
    predictions = [json.loads(line) for line in sst2_run.predictions_path.read_text().splitlines()]
    accuracy = sum(p["gold_id"] == p["predicted_id"] for p in predictions) / len(predictions)
    neg_as_pos = [p for p in predictions if p["gold"] == "negative" and p["predicted"] == "positive"]
    errors = [p for p in predictions if p["gold_id"] != p["predicted_id"]]
    server = open_analyze(app_server, page, workspace)

    # ---- the run: opening the tab picks the newest finished run, no refresh or choosing needed ---
    expect(page.locator("#analyze-run-message")).to_contain_text(f"{len(predictions)} eval predictions", timeout=60_000)
    expect(page.locator("#analyze-run input")).to_have_value(re.compile(re.escape(sst2_run.id)))

    # ---- metrics ---------------------------------------------------------------------------------
    expect(page.locator("#analyze-metrics-message")).to_contain_text(f"Accuracy {accuracy:.4f}")
    expect(page.locator("#analyze-metrics-message")).to_contain_text("ECE 0.")
    summary = table_text(page, "analyze-metrics-summary")
    assert all(word in summary for word in ("macro", "micro", "weighted"))
    per_class = table_text(page, "analyze-per-class")
    assert "negative" in per_class and "positive" in per_class
    assert str(sum(p["gold"] == "negative" for p in predictions)) in per_class  # the support
    reliability = wait_for_traces(page, "analyze-reliability", 3)
    assert reliability[0]["n"] >= 2  # accuracy bars in at least two confidence bins
    bars = wait_for_traces(page, "analyze-per-class-plot", 3)
    assert [t["name"] for t in bars] == ["precision", "recall", "f1"]
    screenshot(page, "analyze_metrics")

    # ---- confusion matrix: heatmap, then a cell's examples -----------------------------------------
    open_view(page, "Confusion matrix")
    heatmap = wait_for_traces(page, "analyze-cm-plot")[0]
    assert heatmap["type"] == "heatmap" and heatmap["z"][0][1] == len(neg_as_pos)
    assert sum(map(sum, heatmap["z"])) == len(predictions)
    cells = page.locator("#analyze-cm-table").get_by_role("gridcell")  # gold name, then a count per class
    expect(cells).to_have_count(6)
    expect(cells.nth(2)).to_have_text(str(len(neg_as_pos)))  # row negative, column → positive
    cells.nth(2).click()
    expect(page.locator("#analyze-cell-title")).to_contain_text(
        f"gold negative → predicted positive: {len(neg_as_pos)} examples (errors)", timeout=30_000)
    most_confident = max(neg_as_pos, key=lambda p: p["confidence"])
    examples = page.locator("#analyze-cell-examples")
    expect(examples).to_contain_text(most_confident["text"].strip()[:40])
    expect(examples).to_contain_text(f"{most_confident['confidence']:.4f}".rstrip("0"))
    screenshot(page, "analyze_confusion")
    page.locator("#analyze-cm-normalize").get_by_text("row-normalised rates").click()
    expect(page.locator("#analyze-cm-plot")).to_contain_text("row-normalised", timeout=30_000)

    # ---- attention: grid of every layer and head, one head, rollout ---------------------------------
    open_view(page, "Attention")
    text_box = page.locator("#analyze-att-text textarea")
    expect(text_box).not_to_have_value("")  # a confident mistake is offered as the first example
    text_box.fill("a gorgeous , witty , seductive movie .")
    page.locator("#analyze-att-button").click()
    grid = wait_for_traces(page, "analyze-att-grid", 72)
    assert len(grid) == 6 * 12 and all(t["type"] == "heatmap" for t in grid)
    n_tokens = len(grid[0]["z"])
    assert n_tokens == 10  # [CLS] + 8 word pieces + [SEP]
    assert any(abs(a - b) > 0.05 for r1, r2 in zip(grid[0]["z"], grid[1]["z"]) for a, b in zip(r1, r2))
    head = wait_for_traces(page, "analyze-att-head")[0]
    rollout = wait_for_traces(page, "analyze-att-rollout")[0]
    assert len(head["z"]) == len(rollout["z"]) == n_tokens
    assert all(abs(sum(row) - 1) < 1e-3 for row in rollout["z"])
    expect(page.locator("#analyze-att-info")).to_contain_text("Predicted positive")
    expect(page.locator("#analyze-att-info")).to_contain_text("6 layers x 12 heads")
    wait_for_traces(page, "analyze-att-pooled")
    screenshot(page, "analyze_attention")

    # ---- token attributions: the cost first, then coloured tokens ------------------------------------
    open_view(page, "Token attributions")
    attr_text = page.locator("#analyze-attr-text textarea")
    attr_text.fill("the acting is superb , but the plot is a tired mess .")
    attr_text.evaluate("element => element.blur()")  # commit the text: its change event asks for the costs
    cost = page.locator("#analyze-attr-cost")
    expect(cost).to_contain_text("estimated seconds", timeout=60_000)
    for name in ("SHAP", "Integrated Gradients", "Gradient x input"):
        expect(cost).to_contain_text(name)
    expect(cost).to_contain_text("32 interpolation steps of 15 word pieces")
    expect(page.locator("#analyze-attr-html")).not_to_contain_text("log-odds")  # nothing has run yet
    screenshot(page, "analyze_attribution_cost")
    page.locator("#analyze-attr-button").click()
    html = page.locator("#analyze-attr-html")
    expect(html).to_contain_text("convergence delta", timeout=180_000)
    for title in ("SHAP (Partition, text masker)", "Integrated Gradients (Captum)", "Gradient x input (Captum)"):
        expect(html).to_contain_text(title)
    coloured = html.locator("span[title]")
    assert coloured.count() == 3 * 13  # three explainers x the 13 words
    styles = [coloured.nth(i).get_attribute("style") for i in range(coloured.count())]
    assert any("rgba(230,60,60" in s for s in styles) and any("rgba(40,110,230" in s for s in styles)
    delta = float(re.search(r"convergence delta ([+-][\d.]+)", html.inner_text()).group(1))
    assert abs(delta) < 0.05
    screenshot(page, "analyze_attributions")

    # ---- faithfulness ------------------------------------------------------------------------------
    open_view(page, "Faithfulness")
    expect(page.locator("#analyze-faith-cost")).to_contain_text("Estimated cost", timeout=60_000)
    n_box = page.locator("#analyze-faith-n input[type=number]")
    n_box.fill("5")
    n_box.press("Enter")
    expect(page.locator("#analyze-faith-cost")).to_contain_text("for 5 examples", timeout=60_000)
    page.locator("#analyze-faith-button").click()
    faith_table = page.locator("#analyze-faith-table")
    expect(faith_table).to_contain_text("random", timeout=300_000)
    for name in ("shap", "integrated_gradients", "gradient_x_input"):
        expect(faith_table).to_contain_text(name)
    curves = wait_for_traces(page, "analyze-faith-plot", 8)
    assert all(t["n"] == 5 for t in curves)  # five shares of word pieces per curve
    screenshot(page, "analyze_faithfulness")

    # ---- error clusters: scatter, table, CSV ---------------------------------------------------------
    open_view(page, "Error clusters")
    page.locator("#analyze-cluster-button").click()
    scatter = wait_for_traces(page, "analyze-cluster-plot", 1, timeout=120)
    assert sum(t["n"] for t in scatter) == len(errors) and len(scatter) >= 2
    cluster_table = page.locator("#analyze-cluster-table")
    expect(cluster_table).to_contain_text("gold → predicted")
    expect(cluster_table).to_contain_text("negative → positive")
    link = page.locator("#analyze-cluster-csv a[download]").first
    expect(link).to_have_attribute("download", f"{sst2_run.id}-error-clusters.csv", timeout=30_000)
    href = link.get_attribute("href")
    url = href if href.startswith("http") else server.url.rstrip("/") + "/" + href.lstrip("/")
    rows = list(csv.DictReader(urllib.request.urlopen(url, timeout=30).read().decode().splitlines()))
    assert len(rows) == len(errors)
    assert {"text", "gold", "predicted", "cluster", "x", "y", "cluster_confusion", "cluster_terms"} <= set(rows[0])
    screenshot(page, "analyze_clusters")


def test_a_run_that_is_not_finished_says_so(app_server, page, workspace, sst2_run):
    status_path = workspace / "runs" / sst2_run.id / "status.json"
    status = json.loads(status_path.read_text())
    status_path.write_text(json.dumps({**status, "status": "failed", "error": "CUDA out of memory"}))
    open_analyze(app_server, page, workspace)
    open_dropdown(page, "analyze-run")
    page.get_by_role("option", name=re.compile(re.escape(sst2_run.id))).click()
    expect(page.locator("#analyze-run-message")).to_contain_text(
        "is failed: CUDA out of memory. Only finished runs can be analysed.", timeout=60_000)
    open_view(page, "Attention")
    page.locator("#analyze-att-button").click()
    expect(page.locator("#analyze-views")).to_contain_text("Only finished runs can be analysed")
    screenshot(page, "analyze_not_finished")


def test_label_typed_texts_and_a_file(app_server, page, workspace, sst2_run, datasets_dir, tmp_path):
    from workbench.predict import predict_texts

    server = open_analyze(app_server, page, workspace)
    expect(page.locator("#analyze-run-message")).to_contain_text("eval predictions", timeout=60_000)
    open_view(page, "Predict")
    message = page.locator("#analyze-predict-message")

    # ---- typed texts: one per line, blank lines skipped --------------------------------------------
    page.locator("#analyze-predict-button").click()
    expect(message).to_contain_text("Type a text to label, one per line.", timeout=30_000)
    texts = ["a warm , funny and moving film", "", "a dull , lifeless mess that goes nowhere"]
    page.locator("#analyze-predict-text textarea").fill("\n".join(texts))
    page.locator("#analyze-predict-button").click()
    table = page.locator("#analyze-predict-table")
    expect(table).to_contain_text("p_negative", timeout=60_000)
    expected = predict_texts(sst2_run, [texts[0], texts[2]])  # the same model through the Python API
    for text, label in zip([texts[0], texts[2]], expected):
        row = table.get_by_role("row").filter(has_text=text)
        expect(row).to_contain_text(label["predicted"])
        expect(row).to_contain_text(f"{label['confidence']:.4f}".rstrip("0"))
    expect(message).to_be_empty()
    screenshot(page, "analyze_predict_texts")
    # A line in a language the model cannot read is labelled too, with a warning that says why
    # the label means little.
    page.locator("#analyze-predict-text textarea").fill(texts[0] + "\n" + ARTICLE_1["Chinese"])
    page.locator("#analyze-predict-button").click()
    expect(message).to_contain_text("[typed texts]", timeout=60_000)
    expect(message).to_contain_text("in 1 of 2 texts) are unknown to this model's tokenizer")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and both texts

    # ---- a file without labels: labelled, previewed, downloadable ----------------------------------
    lines = (datasets_dir / "sst2" / "dev.tsv").read_text().splitlines()[1:51]
    upload = tmp_path / "new_reviews.csv"
    upload.write_text("review\n" + "\n".join(f'"{line.split(chr(9))[0].strip()}"' for line in lines) + "\n")
    page.locator("#analyze-predict-upload input[type=file]").set_input_files(str(upload))
    page.locator("#analyze-predict-file-button").click()
    expect(message).to_contain_text("50 rows of new_reviews.csv labelled (", timeout=60_000)
    link = page.locator("#analyze-predict-download a[download]").first
    expect(link).to_have_attribute("download", f"new_reviews-labelled-by-{sst2_run.id}.csv", timeout=30_000)
    href = link.get_attribute("href")
    url = href if href.startswith("http") else server.url.rstrip("/") + "/" + href.lstrip("/")
    rows = list(csv.DictReader(urllib.request.urlopen(url, timeout=30).read().decode().splitlines()))
    assert [r["text"] for r in rows] == [line.split("\t")[0].strip() for line in lines]
    direct = predict_texts(sst2_run, [r["text"] for r in rows])
    assert [r["predicted"] for r in rows] == [d["predicted"] for d in direct]
    expect(table).to_contain_text(rows[0]["text"][:30])
    screenshot(page, "analyze_predict_file")

    # ---- a broken file: one message with the line, nothing labelled --------------------------------
    broken = tmp_path / "broken.csv"
    broken.write_text("review\na fine film\n\"\"\nanother film\n")
    page.locator("#analyze-predict-upload").get_by_label("Clear").click()  # the uploaded file's ×
    page.locator("#analyze-predict-upload input[type=file]").set_input_files(str(broken))
    page.locator("#analyze-predict-file-button").click()
    expect(message).to_contain_text("empty text in column 'review'", timeout=60_000)
    expect(message).to_contain_text("line 3")


def test_compare_two_runs_on_the_same_eval_examples(app_server, page, workspace, sst2_run):
    from tests.analysis.test_compare import second_run
    from workbench.analysis import compare_runs
    from workbench.ui.analyze_tab import run_choices

    weak = second_run(sst2_run, workspace / "runs")  # 5 steps on the same 200 dev rows: the newest run
    expected = compare_runs(weak, sst2_run)
    open_analyze(app_server, page, workspace)
    expect(page.locator("#analyze-run-message")).to_contain_text(weak.id, timeout=60_000)
    open_view(page, "Compare")
    message = page.locator("#analyze-compare-message")
    page.locator("#analyze-compare-button").click()
    expect(message).to_contain_text("Pick the run to compare with.", timeout=30_000)

    # The picker offers every other run, not the one being analysed.
    label = dict((v, k) for k, v in run_choices(str(workspace / "runs")))[sst2_run.id]
    open_dropdown(page, "analyze-compare-run")
    expect(page.get_by_role("option")).to_have_count(1)
    page.get_by_role("option", name=label, exact=True).click()
    page.locator("#analyze-compare-button").click()
    verdict = page.locator("#analyze-compare-verdict")
    expect(verdict).to_contain_text(f"{sst2_run.id} is more accurate by {abs(expected.accuracy_a - expected.accuracy_b):.3f}",
                                    timeout=60_000)
    expect(verdict).to_contain_text(f"{len(expected.disagreements)} of 200 examples labelled differently")
    scores = page.locator("#analyze-compare-scores")
    expect(scores).to_contain_text(f"{expected.accuracy_b:.4f}".rstrip("0"))
    counts = page.locator("#analyze-compare-counts")
    expect(counts.get_by_role("row").filter(has_text=f"only {sst2_run.id} right")).to_contain_text(
        str(expected.only_b_right))
    table = page.locator("#analyze-compare-table")
    expect(table).to_contain_text(expected.disagreements["text"].iloc[0][:30])
    expect(page.locator("#analyze-compare-csv a[download]").first).to_have_attribute(
        "download", f"{weak.id}-vs-{sst2_run.id}.csv", timeout=30_000)
    expect(message).to_be_empty()
    screenshot(page, "analyze_compare")


def test_a_pair_run_is_looked_at_as_pairs(app_server, page, tmp_path, mrpc_run):
    """MRPC: the attention example is both sentences and the model reads them as a pair; token
    attributions colour the word pieces of both sentences, on two labelled lines."""
    shutil.copytree(mrpc_run.dir, tmp_path / "runs" / mrpc_run.id, ignore=shutil.ignore_patterns("checkpoints"))
    open_analyze(app_server, page, tmp_path)
    expect(page.locator("#analyze-run-message")).to_contain_text("24 eval predictions", timeout=60_000)

    open_view(page, "Attention")
    text_box = page.locator("#analyze-att-text textarea")
    expect(text_box).to_have_value(re.compile(r".+ \|\|\| .+"))
    text_box.fill("The cat sat on the mat . ||| A cat was sitting on the mat .")
    page.locator("#analyze-att-button").click()
    grid = wait_for_traces(page, "analyze-att-grid", 72)
    # [CLS] 7 pieces [SEP] 8 pieces [SEP]: both sentences, each closed by its separator.
    assert len(grid[0]["z"]) == 18
    text_box.fill("The cat sat on the mat .")
    page.locator("#analyze-att-button").click()
    expect(page.locator("#analyze-att-message")).to_contain_text(
        "this model was trained on text pairs: write the example as first text ||| second text", timeout=30_000)

    open_view(page, "Token attributions")
    attr_text = page.locator("#analyze-attr-text textarea")
    expect(attr_text).to_have_value(re.compile(r".+ \|\|\| .+"))
    attr_text.fill("The cat sat on the mat . ||| A cat was sitting on the mat .")
    attr_text.evaluate("element => element.blur()")  # commit the text: its change event asks for the costs
    expect(page.locator("#analyze-attr-cost")).to_contain_text("32 interpolation steps of 18 word pieces",
                                                               timeout=60_000)
    page.locator("#analyze-attr-button").click()
    html = page.locator("#analyze-attr-html")
    expect(html).to_contain_text("convergence delta", timeout=180_000)
    for title in ("SHAP (Partition, text masker)", "Integrated Gradients (Captum)", "Gradient x input (Captum)"):
        expect(html).to_contain_text(title)
    # Each explainer shows the two sentences on two labelled lines, every word coloured.
    first, second = html.locator(".attr-text-1"), html.locator(".attr-text-2")
    expect(first).to_have_count(3)
    expect(second).to_have_count(3)
    assert first.nth(0).inner_text().split() == "Text 1 The cat sat on the mat .".split()
    assert second.nth(0).inner_text().split() == "Text 2 A cat was sitting on the mat .".split()
    assert html.locator("span[title]").count() == 3 * (7 + 8)
    assert "[SEP]" not in html.inner_text()
    screenshot(page, "analyze_pair_attributions")
    attr_text.fill("The cat sat on the mat .")
    page.locator("#analyze-attr-button").click()
    expect(page.locator("#analyze-attr-message")).to_contain_text(
        "this model was trained on text pairs: write the example as first text ||| second text", timeout=30_000)

    open_view(page, "Faithfulness")  # measured on the run's pairs
    expect(page.locator("#analyze-faith-cost")).to_contain_text("Estimated cost", timeout=60_000)
    assert "Traceback" not in page.locator("body").inner_text()
