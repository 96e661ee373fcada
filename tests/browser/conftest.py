"""Browser fixtures: the real app in a subprocess, driven by headless Debian Chromium.

Screenshots go to artifacts/screenshots/ (kept as test artifacts).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`python app.py --port P --workspace W` in its own process; restartable."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.port = free_port()
        self.process = None
        self.log = workspace / "app.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90) -> "AppServer":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--port", str(self.port), "--workspace", str(self.workspace)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited: {self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"app did not start in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports what its apps were doing: their threads' stacks and the
    tail of their log (a slow or hung handler shows where it waits)."""
    outcome = yield
    report = outcome.get_result()
    servers = getattr(item, "app_servers", [])
    if report.when != "call" or not report.failed or not servers:
        return
    for server in servers:
        if server.process and server.process.poll() is None:
            server.process.send_signal(signal.SIGUSR1)
    time.sleep(1.0)
    for i, server in enumerate(servers):
        text = server.log.read_text(errors="replace") if server.log.exists() else "(no log)"
        report.sections.append((f"app {i} log (port {server.port})", text[-20_000:]))


@pytest.fixture
def app_server(tmp_path, request):
    servers = []
    request.node.app_servers = servers

    def start(workspace: Path | None = None) -> AppServer:
        server = AppServer(workspace or tmp_path).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
