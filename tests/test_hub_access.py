"""Hub reachability: a real socket probe, and the CLI saying "offline" in seconds, not after ~25 s
of retries. The unreachable Hub is a real local port with nothing listening on it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from workbench.hub_access import hub_reachable


def closed_port() -> int:
    with socket.socket() as s:  # bind, read the free port, close: nothing listens there now
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_sees_a_listening_endpoint_and_a_closed_one(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_reachable()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    assert not hub_reachable()
    # Behind a proxy a direct connect proves nothing: the real requests decide.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert hub_reachable()


def test_cli_reports_an_uncached_hub_model_offline_in_seconds(tmp_path, datasets_dir):
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                        "ALL_PROXY", "all_proxy")}
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "train", "--model", "some-org/a-model-that-is-not-cached",
         "--data", str(datasets_dir / "sst2"), "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, env=env, timeout=120)
    seconds = time.monotonic() - start
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 2 and record["status"] == "invalid"
    assert "offline" in record["error"] and "Retrying" not in done.stderr
    assert seconds < 20, f"took {seconds:.0f} s"  # ~5 s (imports); the retries took ~25 s more
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
