"""Driving the Workbench page like a user: fill the Train form, start, read the live charts.

Shared by the browser tests and bench/bench_ui_latency.py. Widgets are found by the elem_ids
the tabs give them (train-<form key>, monitor-*, runs-*).
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

# The points of one trace of a plotly chart inside a gradio Plot, read from the live DOM.
TRACE_X_JS = """([elemId, traceName]) => {
  const plot = document.querySelector(`#${elemId} .js-plotly-plot`);
  if (!plot || !plot.data) return [];
  const trace = plot.data.find(t => t.name === traceName);
  return trace ? Array.from(trace.x) : [];
}"""

# Records, in the page, the wall-clock time (ms) each training step first appears on the loss
# chart: polled every 20 ms, so it sees what a user sees within a frame or two.
WATCH_STEPS_JS = """() => {
  window.__seen = {};
  const look = () => {
    const plot = document.querySelector('#monitor-loss .js-plotly-plot');
    if (plot && plot.data) {
      const trace = plot.data.find(t => t.name === 'train loss');
      if (trace) for (const x of trace.x) if (!(x in window.__seen)) window.__seen[x] = Date.now();
    }
  };
  window.__watch = setInterval(look, 20);
}"""

RUN_ID = re.compile(r"\d{8}-\d{6}-[\w.-]+")
TINY_RUN = {"max_steps": 40, "batch_size": 8, "max_length": 32}
TINY_RUN_ADVANCED = {"logging_steps": 1, "eval_steps": 1000, "save_steps": 1000}


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#train-start")).to_be_visible(timeout=60_000)
    # The demo data is checked when the page opens.
    expect(page.locator("#train-preflight")).to_contain_text("passed", timeout=60_000)


def field(page: Page, key: str):
    return page.locator(f"#train-{key}").locator("input, textarea").first


def set_field(page: Page, key: str, value, attempts: int = 3) -> None:
    """Type `value` into a form field and commit it. A field that has just become visible (the
    Advanced accordion opening) can still be mounting: its first value may overwrite what was
    typed, so read the box back and type again if it does not hold the value."""
    box = field(page, key)
    for attempt in range(attempts):
        box.fill(str(value))
        box.press("Enter")  # commit the value: gradio reads it on submit / blur
        box.evaluate("element => element.blur()")
        time.sleep(0.2)
        if box.input_value() == str(value):
            return
    expect(box).to_have_value(str(value))


def open_dropdown(page: Page, elem_id: str, tries: int = 3) -> None:
    """Open a gradio Dropdown's list. A click that lands while the server is refreshing the
    dropdown's choices (a run list, say) leaves it closed: CI once saw no options for 5 s, so
    blur and click again, as a user would."""
    box = page.locator(f"#{elem_id} input")
    for attempt in range(tries):
        box.click()
        try:
            expect(page.get_by_role("option").first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise
            box.blur()


def choose(page: Page, elem_id: str, option: str) -> None:
    """Pick an option of a gradio Dropdown by its label."""
    open_dropdown(page, elem_id)
    page.get_by_role("option", name=option, exact=True).click()


def plot_layout(page: Page, elem_id: str, path: str):
    """A value of a live plotly chart's layout, e.g. plot_layout(page, "monitor-loss", "yaxis.type")."""
    return page.evaluate("""([elemId, path]) => {
      const plot = document.querySelector(`#${elemId} .js-plotly-plot`);
      return plot && plot.layout ? path.split('.').reduce((v, k) => v == null ? v : v[k], plot.layout) : null;
    }""", [elem_id, path])


def open_advanced(page: Page) -> None:
    if not field(page, "logging_steps").is_visible():
        page.get_by_text("Advanced settings").click()
        expect(field(page, "logging_steps")).to_be_visible()


def configure_run(page: Page, basic: dict, advanced: dict) -> None:
    for key, value in basic.items():
        set_field(page, key, value)
    open_advanced(page)
    for key, value in advanced.items():
        set_field(page, key, value)


def preview_shows(page: Page, *settings: str, timeout: float = 30) -> None:
    """Click Preview until the command carries every one of `settings` (e.g. "train.save_steps=1"):
    a value typed a moment ago may not have reached the server yet, and Start would read the old one."""
    command = page.locator("#train-command")
    deadline = time.time() + timeout
    while True:
        page.locator("#train-preview").click()
        time.sleep(0.5)
        text = (command.text_content() or "") if command.count() else ""
        missing = [s for s in settings if not re.search(re.escape(s) + r"(?![\w.])", text)]
        if not missing or time.time() > deadline:
            break
    assert not missing, f"the command never showed {missing}: {text}"


def start_run(page: Page, timeout: float = 30) -> str:
    """Click Start; returns the id of the run it made (not one an earlier Start reported).

    While the click is processed gradio overlays a progress text on the old message, so the text
    changes before the new id arrives: wait for an id that differs from the previous one."""
    status = page.locator("#train-run-status")
    previous = RUN_ID.search(status.inner_text() if status.count() else "")
    previous = previous.group(0) if previous else None
    page.locator("#train-start").click()
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = status.inner_text()
        found = RUN_ID.search(text)
        if found and found.group(0) != previous:
            return found.group(0)
        page.wait_for_timeout(100)
    raise AssertionError(f"no new run id in the start message after {timeout:.0f} s: {text!r}")


def trace_x(page: Page, elem_id: str, trace: str) -> list:
    return page.evaluate(TRACE_X_JS, [elem_id, trace])


def wait_for_points(page: Page, minimum: int, timeout: float = 120, elem_id: str = "monitor-loss",
                    trace: str = "train loss") -> list:
    deadline = time.time() + timeout
    points = []
    while time.time() < deadline:
        points = trace_x(page, elem_id, trace)
        if len(points) >= minimum:
            return points
        time.sleep(0.2)
    raise AssertionError(f"the {elem_id} chart has {len(points)} points after {timeout}s, expected {minimum}")


def monitor_status(page: Page) -> str:
    return page.locator("#monitor-status").inner_text()
