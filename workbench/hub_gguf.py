"""GGUF files on the Hugging Face Hub, as llama.cpp, Ollama and LM Studio users name them.

Most GGUF repositories (bartowski/…-GGUF, Qwen/…-GGUF) hold no config.json, only one file per
quantization, so `from_pretrained(repo)` cannot read them. These names pick one file:

  org/repo/file.gguf                      a file (also under a subfolder: org/repo/dir/file.gguf)
  hub:org/repo/file.gguf                  the same, explicitly on the Hub
  https://huggingface.co/org/repo/blob/main/file.gguf   its address, copied from the browser
                                          (…/resolve/<revision>/… too)
  org/repo:Q4_K_M, hf.co/org/repo:Q4_K_M  the file whose name holds the tag (Ollama's form)
  org/repo                                a repository holding a single GGUF file

The file is fetched through huggingface_hub's own cache (hf_hub_download), so a file downloaded
once, by us or by any other Hugging Face tool, is found again offline; the catalog then converts
it once, like a local GGUF file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ModelNotFoundError

_REPO = r"[A-Za-z0-9][\w.-]*/[\w.-]+"
# transformers reads a GGUF model from one file; llama.cpp's gguf-split writes parts named so.
_SPLIT_PART = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_SHOWN_FILES = 12


@dataclass(frozen=True)
class HubGGUF:
    repo_id: str
    filename: str | None = None  # None: the repository's only GGUF file, or the one `tag` picks
    tag: str | None = None  # Ollama's quantization tag, e.g. Q4_K_M
    revision: str | None = None

    def named(self, filename: str) -> str:
        """How a user names one file of this repository (what the run's config and messages say)."""
        at = f"@{self.revision}" if self.revision and self.revision != "main" else ""
        return f"{self.repo_id}/{filename}{at}"


def parse(name: str) -> HubGGUF | None:
    """The Hub GGUF file a model name means, or None when it names no GGUF file on the Hub.
    A local path that exists is never passed here (the catalog tries it first)."""
    name = name.strip().removeprefix("hub:")
    address = re.fullmatch(rf"https?://(?:www\.)?(?:huggingface\.co|hf\.co)/({_REPO})/(?:blob|resolve)/"
                           r"([^/]+)/(.+\.gguf)(?:\?.*)?", name, re.IGNORECASE)
    if address:
        repo_id, revision, filename = address.groups()
        return HubGGUF(repo_id, filename, revision=revision)
    name = re.sub(r"^(?:https?://)?(?:www\.)?(?:huggingface\.co|hf\.co)/", "", name, flags=re.IGNORECASE)
    file_in_repo = re.fullmatch(rf"({_REPO})/((?:[\w.-]+/)*[\w.-]+\.gguf)(?:@([\w.-]+))?", name, re.IGNORECASE)
    if file_in_repo:
        repo_id, filename, revision = file_in_repo.groups()
        return HubGGUF(repo_id, filename, revision=revision)
    tagged = re.fullmatch(rf"({_REPO}):([\w.-]+)", name)
    if tagged:
        return HubGGUF(tagged.group(1), tag=tagged.group(2))
    return None


def cached_file(ref: HubGGUF) -> Path | None:
    """The file in the local Hugging Face cache, without any network request; None if not there."""
    try:
        return download(ref, local_files_only=True)
    except ModelNotFoundError:
        return None


def complete(ref: HubGGUF, local_files_only: bool = False) -> HubGGUF:
    """The same reference with its file named: a repository's only GGUF file, or the one its tag
    picks; a message listing the files when that is not one."""
    if ref.filename:
        return ref
    return HubGGUF(ref.repo_id, _pick_file(ref, local_files_only), revision=ref.revision)


def download(ref: HubGGUF, local_files_only: bool = False) -> Path:
    """The GGUF file as a local path: from the Hugging Face cache, else downloaded into it."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hub_errors

    ref = complete(ref, local_files_only)
    filename = ref.filename
    split = _SPLIT_PART.search(filename)
    if split:
        raise ModelNotFoundError(
            f"'{ref.named(filename)}' is one part of a GGUF file split in {int(split.group(2))}; transformers "
            "reads a GGUF model from one file: merge the parts with llama.cpp's `llama-gguf-split --merge` "
            "and give the merged file's path, or pick a file that is not split")
    try:
        return Path(hf_hub_download(ref.repo_id, filename, revision=ref.revision, local_files_only=local_files_only))
    except (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled):
        raise _offline(ref.named(filename)) from None
    except hub_errors.GatedRepoError:
        raise _gated(ref.repo_id) from None
    except hub_errors.RepositoryNotFoundError:
        raise _no_repository(ref.repo_id) from None
    except hub_errors.RevisionNotFoundError:
        raise ModelNotFoundError(f"Hub repository '{ref.repo_id}' has no revision '{ref.revision}'; "
                                 "give a branch, tag or commit it has, or leave @revision out for main") from None
    except hub_errors.EntryNotFoundError:
        files = gguf_files(ref.repo_id, ref.revision)
        raise ModelNotFoundError(f"Hub repository '{ref.repo_id}' has no file '{filename}'; "
                                 + (_listing(ref, files) if files else "it holds no GGUF file")) from None
    except hub_errors.HfHubHTTPError as err:
        raise ModelNotFoundError(f"could not download '{ref.named(filename)}' from the Hub: "
                                 f"{str(err).splitlines()[0]}; try again, or download the file and give its path") from None


def gguf_files(repo_id: str, revision: str | None = None, local_files_only: bool = False) -> list[str]:
    """The GGUF files of a Hub repository: listed by the Hub, or offline from the local cache
    (only the files downloaded before). Raises ModelNotFoundError when the Hub says the
    repository does not exist or is gated."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub import errors as hub_errors

    if not _offline_now(local_files_only):
        try:
            files = HfApi().list_repo_files(repo_id, revision=revision)
            return sorted(f for f in files if f.lower().endswith(".gguf"))
        except hub_errors.GatedRepoError:
            raise _gated(repo_id) from None
        except hub_errors.RepositoryNotFoundError:
            raise _no_repository(repo_id) from None
        except (hub_errors.HfHubHTTPError, OSError):
            pass  # unreachable after all: what the cache holds is the best answer here
    return _cached_gguf_files(Path(constants.HF_HUB_CACHE), repo_id, revision or "main")


def _cached_gguf_files(cache: Path, repo_id: str, revision: str) -> list[str]:
    """The GGUF files of the cache's snapshot of `revision` (the layout hf_hub_download writes:
    models--org--name/refs/<revision> holds the commit, snapshots/<commit>/ the files)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    ref = repo / "refs" / revision
    commit = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir():
        return []
    return sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.suffix.lower() == ".gguf")


def _pick_file(ref: HubGGUF, local_files_only: bool) -> str:
    """The one file a repository name (or its quantization tag) means, or a message listing them."""
    files = gguf_files(ref.repo_id, ref.revision, local_files_only)
    if not files and _offline_now(local_files_only):
        raise _offline(f"{ref.repo_id}:{ref.tag}" if ref.tag else ref.repo_id)
    if not files:
        raise ModelNotFoundError(f"Hub repository '{ref.repo_id}' holds " + (
            "no GGUF file" if ref.tag else "neither config.json nor a GGUF file, so it is not a model "
            "transformers can read") + "; check the id on huggingface.co")
    whole = [f for f in files if not _later_part(f)]  # a split file is named by its first part
    if ref.tag:
        picked = [f for f in whole if _has_tag(f, ref.tag)]
        if len(picked) == 1:
            return picked[0]
        what = "no GGUF file" if not picked else f"{len(picked)} GGUF files"
        raise ModelNotFoundError(f"Hub repository '{ref.repo_id}' has {what} tagged '{ref.tag}'; "
                                 + _listing(ref, picked or whole))
    if len(whole) == 1:
        return whole[0]
    raise ModelNotFoundError(f"Hub repository '{ref.repo_id}' holds {len(whole)} GGUF files; " + _listing(ref, whole))


def _later_part(filename: str) -> bool:
    split = _SPLIT_PART.search(filename)
    return split is not None and split.group(1) != "00001"


def _has_tag(filename: str, tag: str) -> bool:
    """Whether a file name holds the tag as a whole part: Q4_K_M matches model-Q4_K_M.gguf,
    not model-Q4_K_M_L.gguf; Q8_0 matches model.Q8_0.gguf."""
    stem = Path(filename).name[: -len(".gguf")]
    return re.search(rf"(?:^|[-_.]){re.escape(tag)}(?:$|[-.])", stem, re.IGNORECASE) is not None


def _listing(ref: HubGGUF, files: list[str]) -> str:
    shown = ", ".join(ref.named(f) for f in files[:_SHOWN_FILES])
    more = f" and {len(files) - _SHOWN_FILES} more" if len(files) > _SHOWN_FILES else ""
    return f"name one of them as the model: {shown}{more}"


def _offline_now(local_files_only: bool) -> bool:
    from huggingface_hub import constants

    return local_files_only or constants.HF_HUB_OFFLINE


def _offline(what: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"the GGUF file '{what}' is not in the local Hugging Face cache and the Hub cannot be reached "
        "(offline). Fix: connect once so it downloads, or download the .gguf file on another machine "
        "and give its path")


def _gated(repo_id: str) -> ModelNotFoundError:
    return ModelNotFoundError(f"Hub repository '{repo_id}' is gated: accept its terms on huggingface.co/{repo_id} "
                              "and log in here with `hf auth login`")


def _no_repository(repo_id: str) -> ModelNotFoundError:
    return ModelNotFoundError(f"Hub repository '{repo_id}' does not exist, or is private (log in with "
                              "`hf auth login`); check the id on huggingface.co")
