"""Names the registry lacks, found on a hub: a Hugging Face repo by its id (``hf:org/name[@revision]``).

The repo's ``README.md`` at a known commit is the card. It is stored under ``HUB_HOME/remote`` with its origin
(repo, commit, refs, architecture from ``config.json``) and indexed like any card, so everything that works for
an indexed card works for it, offline too, and the commit pins every later download. A repo without a README
gets a card written from its config and file list, marked as generated.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from registry import config
from registry.errors import DownloadError, OfflineError, UnknownModelError
from registry.store.db import Registry
from registry.store.origin import Origin
from registry.store.resolve import Resolution, parse_spec

from .cache import safe_component
from .hf import hf_cache_dir, hub_errors, verify_hf_file
from .policy import Policy

#: What an unpinned Hugging Face id means: the repo's default branch, as git calls it.
DEFAULT_REF = "HEAD"
#: The card a repo without README.md gets: enough front matter for the record, and a body that says so.
_GENERATED = """---
tags:
- no-model-card
{library}---

# {repo}

This repository has no README.md. The hub wrote this card from its config.json ({model_type}) and its
{files} file(s); it states nothing the repository does not.
"""


def resolve(spec: str) -> Resolution:
    """The card ``spec`` names: from the registry, else, for ``hf:org/name``, from the Hugging Face Hub API.

    A Hugging Face id with no pin means the repo's default branch (``HEAD``): the card fetched for it is used
    while there is one, so it works offline; a pin (``@v1.0``, ``@<commit>``) names its own card.

    Raises:
        UnknownModelError: no card in the registry, and (for a Hugging Face id) no such repo at the endpoint.
        RepoAccessError: the repo is private or gated and no valid token was sent, or the account lacks access.
        OfflineError: the card is not in the registry and offline mode forbids asking the hub.
        DownloadError: the hub could not be reached, or the repo has no such revision.
        and what ``registry.store.db.Registry.resolve`` raises.
    """
    query = parse_spec(spec)
    with Registry() as reg:
        if query.kind != "hf":
            return reg.resolve(spec)
        if query.pin is None:
            try:
                return replace(reg.resolve(f"{spec}@{DEFAULT_REF}"), spec=spec)
            except UnknownModelError:
                pass
        try:
            res = reg.resolve(spec)
            if query.pin is not None or res.record.revision is None or config.offline():
                return res  # a pinned card, a card indexed from a folder, or all there is offline
        except UnknownModelError:
            if config.offline():
                raise OfflineError(f"hf:{query.text} (not in the registry)") from None
        fetch_hf_card(query.text, query.pin)
        reg.add_remote_source()
        reg.sync()
        return replace(reg.resolve(spec if query.pin else f"{spec}@{DEFAULT_REF}"), spec=spec)


def fetch_hf_card(repo_id: str, revision: str | None = None) -> Path:
    """Fetch a repo's card at ``revision`` (default: its default branch) and store it with its origin.

    Returns:
        The stored card file.
    """
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    endpoint = config.hf_endpoint()
    Policy.from_env().check(f"{endpoint}/{repo_id}")
    api = HfApi(endpoint=endpoint)
    with hub_errors(repo_id, endpoint, revision):
        info = api.model_info(repo_id, revision=revision)
        sha = str(info.sha)
        names = [s.rfilename for s in info.siblings or []]
        fetched: dict[str, Path] = {}
        for name in ("README.md", "config.json"):
            if name in names:
                try:  # into the HF cache at the commit: the pull that follows finds them there, verified
                    fetched[name] = Path(hf_hub_download(repo_id, name, revision=sha, endpoint=endpoint,
                                                         cache_dir=hf_cache_dir()))
                    verify_hf_file(fetched[name], url=f"{endpoint}/{repo_id}/{name}")
                except GatedRepoError:
                    if name == "README.md":
                        raise
                    # a gated repo shows its card to anyone, its other files only to whom it grants them
    readme = fetched.get("README.md")
    text = readme.read_text(encoding="utf-8", errors="replace") if readme else None
    cfg = _json(fetched.get("config.json"))
    model_type = str(cfg["model_type"]) if cfg.get("model_type") else None
    if text is None:
        library = "library_name: transformers\n" if model_type else ""
        text = _GENERATED.format(library=library, repo=repo_id, model_type=f"model_type {model_type}" if model_type
                                 else "no config.json", files=len(names))
    folder = _card_folder(endpoint, repo_id, sha)
    card = folder / "README.md"
    part = card.with_name(".README.md.tmp")
    part.write_text(text, encoding="utf-8")
    part.replace(card)
    refs = [DEFAULT_REF] if revision is None else [] if sha.startswith(revision.lower()) else [revision]
    last = info.last_modified.isoformat() if isinstance(info.last_modified, dt.datetime) else None
    Origin(uid=repo_id, revision=sha, endpoint=endpoint, refs=refs, fetched_at=_now(), last_modified=last,
           architecture=model_type, generated=readme is None).write(folder)
    return card


def _card_folder(endpoint: str, repo_id: str, sha: str) -> Path:
    """``remote/hf/<host>/<org>/<name>@<commit>``: one folder per commit, every part made safe for a path."""
    host = safe_component(urlsplit(endpoint).netloc or "hub")
    parts = [safe_component(p) for p in repo_id.split("/") if p]
    folder = config.remote_cards() / "hf" / host / Path(*parts[:-1]) / f"{parts[-1]}@{safe_component(sha)}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def search_hf(text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Repos the Hub's search API finds for ``text`` (at ``HF_ENDPOINT``), as plain dicts, best first.

    Raises:
        OfflineError: offline mode forbids asking the hub.
        DownloadError: the hub refused or could not be reached.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if config.offline():
        raise OfflineError(f"a search of {config.hf_endpoint()} for {text!r}")
    endpoint = config.hf_endpoint()
    Policy.from_env().check(f"{endpoint}/api/models")
    try:
        found = list(HfApi(endpoint=endpoint).list_models(search=text, limit=limit))
    except (HfHubHTTPError, OSError) as e:
        raise DownloadError(f"{endpoint} did not answer a search for {text!r}: {e}", url=endpoint) from None
    return [{"id": m.id, "task": m.pipeline_tag, "library": m.library_name, "downloads": m.downloads,
             "likes": m.likes, "updated": m.last_modified.isoformat() if m.last_modified else None,
             "gated": m.gated, "private": m.private} for m in found]
