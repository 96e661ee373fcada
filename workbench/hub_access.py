"""Whether this process can reach the Hugging Face Hub, and offline mode when it cannot.

Offline, every Hub lookup (a model id, hub:<dataset>) retries for about 25 s before it fails
(measured: `workbench train --model bert-base-uncased ...` took 27.7 s to say "offline"). So the
app and the CLI probe the Hub once, before huggingface_hub is imported, and switch Hugging Face
offline mode on when it does not answer: cached Hub models and datasets still load, others fail
at once with the catalog's message. Training processes inherit the setting.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from urllib.parse import urlparse

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def hub_reachable(timeout: float = 1.5) -> bool:
    """Whether the Hugging Face Hub answers a TCP connect within `timeout` seconds.

    Behind a proxy a direct connect proves nothing (the Hub may answer through the proxy), so a
    configured proxy counts as reachable and the real requests decide.
    """
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    answered: list[bool] = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answered.append(True)
        except OSError:
            answered.append(False)

    # A thread, so a resolver that hangs cannot hold the start up longer than `timeout`.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def offline_unless_hub_reachable() -> bool:
    """Switch on HF_HUB_OFFLINE when the Hub does not answer. Must run before huggingface_hub is
    imported (it reads the variable once). An explicit HF_HUB_OFFLINE wins. Returns whether
    offline mode was switched on here."""
    if "HF_HUB_OFFLINE" in os.environ or "huggingface_hub" in sys.modules:
        return False
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    return True
