"""Models Ollama has pulled (`ollama pull llama3.2:1b`), read from its own store on this machine.

Ollama keeps a GGUF model as a blob named by its hash, found through a manifest:
  <OLLAMA_MODELS or ~/.ollama/models>/manifests/<host>/<namespace>/<model>/<tag>  (JSON)
  <...>/blobs/sha256-<hex>  the layer whose mediaType is application/vnd.ollama.image.model
A name is written as Ollama writes it, after `ollama:`: `ollama:llama3.2` (tag latest),
`ollama:llama3.2:1b`, `ollama:user/model:tag`, `ollama:hf.co/org/repo:Q4_K_M`. The catalog
converts the blob once, like any GGUF file; Ollama's own copy is only read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from workbench.errors import ModelNotFoundError

PREFIX = "ollama:"
DEFAULT_HOST, DEFAULT_NAMESPACE, DEFAULT_TAG = "registry.ollama.ai", "library", "latest"
MODEL_LAYER = "application/vnd.ollama.image.model"
_SHOWN_MODELS = 12


def models_dir() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or Path.home() / ".ollama" / "models").expanduser()


def is_ollama_name(name: str) -> bool:
    return name.strip().startswith(PREFIX)


def manifest_path(name: str) -> Path:
    """Where Ollama keeps the manifest of `ollama:<name>`, filled in as Ollama fills it in."""
    model, tag = _split(name)
    parts = model.split("/")
    if len(parts) == 1:
        parts = [DEFAULT_HOST, DEFAULT_NAMESPACE, *parts]
    elif len(parts) == 2:
        parts = [DEFAULT_HOST, *parts]
    return models_dir() / "manifests" / Path(*parts) / tag


def display_name(name: str) -> str:
    """The short name `ollama list` shows: llama3.2:1b, user/model:tag, hf.co/org/repo:Q4_K_M."""
    model, tag = _split(name)
    return f"{model}:{tag}"


def model_file(name: str) -> Path:
    """The GGUF blob of a pulled model, or a message naming the pulled ones and the fix."""
    manifest = manifest_path(name)
    shown = display_name(name)
    if not manifest.is_file():
        pulled = pulled_models()
        if pulled:
            more = f" and {len(pulled) - _SHOWN_MODELS} more" if len(pulled) > _SHOWN_MODELS else ""
            listing = f"; pulled here: {', '.join(pulled[:_SHOWN_MODELS])}{more}"
        else:
            listing = f"; no model is pulled in {models_dir()} (set OLLAMA_MODELS if Ollama keeps them elsewhere)"
        raise ModelNotFoundError(f"Ollama has no model '{shown}' on this machine: pull it with "
                                 f"`ollama pull {shown}`{listing}")
    try:
        layers = json.loads(manifest.read_text()).get("layers") or []
        digest = next(layer["digest"] for layer in layers if layer.get("mediaType") == MODEL_LAYER)
    except StopIteration:
        raise ModelNotFoundError(f"Ollama's model '{shown}' holds no GGUF weights (it may be an adapter or an "
                                 "imported safetensors model); pick a model pulled from the Ollama library") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ModelNotFoundError(f"Ollama's manifest of '{shown}' ({manifest}) cannot be read; "
                                 f"pull the model again with `ollama pull {shown}`") from None
    blob = models_dir() / "blobs" / str(digest).replace(":", "-")
    if not blob.is_file():
        raise ModelNotFoundError(f"the weights of Ollama's model '{shown}' are missing ({blob}); "
                                 f"pull it again with `ollama pull {shown}`")
    return blob


def pulled_models() -> list[str]:
    """Every model pulled here, named as `ollama list` names them."""
    root = models_dir() / "manifests"
    if not root.is_dir():
        return []
    names = []
    for manifest in root.rglob("*"):
        parts = manifest.relative_to(root).parts
        if not manifest.is_file() or len(parts) < 4:
            continue
        host, namespace, *model, tag = parts
        if host == DEFAULT_HOST and namespace == DEFAULT_NAMESPACE:
            prefix = ""
        elif host == DEFAULT_HOST:
            prefix = f"{namespace}/"
        else:
            prefix = f"{host}/{namespace}/"
        names.append(f"{prefix}{'/'.join(model)}:{tag}")
    return sorted(names)


def _split(name: str) -> tuple[str, str]:
    """('llama3.2', '1b') of ollama:llama3.2:1b; the tag is `latest` when none is given."""
    rest = name.strip().removeprefix(PREFIX).strip()
    if not rest:
        raise ModelNotFoundError("ollama: needs a model after it, as Ollama names it: ollama:llama3.2:1b "
                                 "(`ollama list` shows the pulled ones)")
    model, _, tag = rest.rpartition(":") if re.search(r":[\w.-]+$", rest) else (rest, "", DEFAULT_TAG)
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+){0,3}", model) or ".." in model.split("/"):
        raise ModelNotFoundError(f"'{rest}' is not an Ollama model name; write it as Ollama does, "
                                 "e.g. ollama:llama3.2:1b or ollama:hf.co/org/repo:Q4_K_M")
    return model, tag or DEFAULT_TAG
