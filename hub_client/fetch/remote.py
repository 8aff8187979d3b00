"""Names the registry lacks, found on a hub: a Hugging Face repo by its id (``hf:org/name[@revision]``).

The repo's ``README.md`` at a known commit is the card. It is stored under ``HUB_HOME/remote`` with its origin
(repo, commit, refs, architecture from ``config.json``) and indexed like any card, so everything that works for
an indexed card works for it, offline too, and the commit pins every later download. A repo without a README
gets a card written from its config and file list, marked as generated.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from registry.atomic import write_text
from registry.errors import DownloadError, InvalidCardError, OfflineError, RepoAccessError, UnknownModelError
from registry.record import Dialect, ModelRecord
from registry.settings import Settings
from registry.store.db import Registry
from registry.store.origin import Origin
from registry.store.resolve import Resolution, parse_spec

from .cache import safe_component
from .policy import Policy

if TYPE_CHECKING:  # the transfer engine (requests) loads only when something is fetched
    from .hf_files import RepoFile

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


@dataclass(frozen=True)
class Located:
    """A card for a pull: from the registry, or, for a repo no one indexed, a record straight from the Hub API
    whose card is kept once the pull has brought its README (``pending``)."""

    record: ModelRecord
    reason: str | None = None
    pending: _Repo | None = None

    @property
    def listed(self) -> tuple[list[RepoFile], str] | None:
        """The repo's files and commit as the hub listed them, for the pull (which then lists nothing again)."""
        return (self.pending.files, self.pending.sha) if self.pending else None


@dataclass(frozen=True)
class _Repo:
    """What the Hub API said of a repo at one revision."""

    repo_id: str
    sha: str
    endpoint: str
    refs: list[str]
    names: list[str]
    last_modified: str | None
    #: Every file with its content address (the listing asked with ``files_metadata``).
    files: list[RepoFile]


def resolve(spec: str, *, settings: Settings) -> Resolution:
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
    with Registry(settings=settings) as reg:
        found = _from_registry(reg, spec, settings)
        if found is not None:
            return found
        card = fetch_hf_card(query.text, query.pin, settings=settings)
        if reg.read_only:  # a shared, read-only home: the card is read as the registry would index it
            return _unindexed(spec, card)
        reg.add_remote_source()
        reg.sync()
        return replace(reg.resolve(spec if query.pin else f"{spec}@{DEFAULT_REF}"), spec=spec)


def _unindexed(spec: str, card: Path) -> Resolution:
    """The resolution of a fetched card that a read-only registry cannot index: analysed here, in memory."""
    from registry.card.analyze import analyze_file
    from registry.store.origin import with_origin
    from registry.store.resolve import Candidate

    result = with_origin(analyze_file(card), True)
    diagnostics = [d.as_dict() for d in result.diagnostics]
    if result.record is None:
        raise InvalidCardError(spec, str(card), [str(d["message"]) for d in diagnostics if d["severity"] == "error"],
                               diagnostics)
    rec = result.record
    status = result.status
    chosen = Candidate(0, rec.name, rec.uid, rec.dialect.value, rec.mindspore_version, rec.version,
                       rec.updated.isoformat() if rec.updated else None, "remote", "remote", rec.revision,
                       tuple(rec.refs))
    return Resolution(spec, rec, chosen, status, diagnostics, [chosen])


def locate(spec: str, *, settings: Settings, revision: str | None = None) -> Located:
    """What a pull needs: the registry's card, else a Hugging Face repo's id and commit from one API call.

    A pull needs no more than the repo and the commit, so a repo no one indexed is not parsed first: the pull
    brings its README like any file, :func:`keep_pulled` stores it as the card, and the registry's next read
    indexes it. ``revision`` (``hub pull --revision``) pins a Hugging Face id as ``@REV`` does. Raises what
    :func:`resolve` raises.
    """
    query = parse_spec(spec)
    if revision and query.kind == "hf" and query.pin is None:
        spec = f"{spec}@{revision}"
        query = parse_spec(spec)
    with Registry(settings=settings) as reg:
        found = _from_registry(reg, spec, settings)
    if found is not None:
        return Located(found.record, found.reason)
    repo = _repo_info(query.text, query.pin, settings)
    record = ModelRecord(name=repo.repo_id.split("/")[-1], uid=repo.repo_id, dialect=Dialect.HUGGINGFACE,
                         revision=repo.sha, refs=repo.refs)
    return Located(record, None, repo)


def keep_pulled(located: Located, paths: list[Path], *, settings: Settings) -> None:
    """After a pull of a repo no one indexed: its README (and config) as the stored card, for the registry."""
    repo = located.pending
    if repo is None:
        return
    by_name = {p.name: p for p in paths}
    _keep_card(repo, by_name.get("README.md"), by_name.get("config.json"), settings)
    with Registry(settings=settings) as reg:
        reg.add_remote_source()


def keep_card(repo_id: str, sha: str, *, refs: list[str], names: list[str], readme: Path | None,
              config: Path | None, endpoint: str, settings: Settings) -> Path:
    """Store a repo's card as a pull keeps it (its README, else one written from its config), with its origin,
    and make the kept cards a source of the registry: what ``hub bundle import`` does for a repo it places."""
    card = _keep_card(_Repo(repo_id, sha, endpoint, refs, names, None, []), readme, config, settings)
    with Registry(settings=settings) as reg:
        reg.add_remote_source()
    return card


def _from_registry(reg: Registry, spec: str, settings: Settings) -> Resolution | None:
    """The registry's answer; None when a Hugging Face id should be asked of the hub instead."""
    query = parse_spec(spec)
    if query.kind != "hf":
        return reg.resolve(spec)
    if query.pin is None:
        try:
            return replace(reg.resolve(f"{spec}@{DEFAULT_REF}"), spec=spec)
        except UnknownModelError:
            pass
    try:
        res = reg.resolve(spec)
        if query.pin is not None or res.record.revision is None or settings.offline:
            return res  # a pinned card, a card indexed from a folder, or all there is offline
    except UnknownModelError:
        kept = _kept_card(query.text, query.pin, settings) if reg.read_only else None
        if kept is not None:  # fetched before, never indexed: a read-only registry reads it as it is
            return _unindexed(spec, kept)
        if settings.offline:
            raise OfflineError(f"hf:{query.text} (not in the registry)") from None
    return None


def _kept_card(repo_id: str, pin: str | None, settings: Settings) -> Path | None:
    """A card fetched for ``repo_id`` at ``pin`` (a ref or commit; none: the default branch) and kept under
    ``HUB_HOME/remote``, from any endpoint; the newest when several are."""
    parts = [safe_component(p) for p in repo_id.split("/") if p]
    if not parts:
        return None
    found = []
    for folder in (settings.remote_cards / "hf").glob(f"*/{'/'.join(parts[:-1])}/{parts[-1]}@*"):
        origin = Origin.read(folder)
        if origin is None or origin.uid != repo_id or not (folder / "README.md").is_file():
            continue
        want = pin or DEFAULT_REF
        if want in origin.refs or (pin is not None and origin.revision.startswith(pin.lower())):
            found.append((origin.fetched_at, folder / "README.md"))
    return max(found)[1] if found else None


def fetch_hf_card(repo_id: str, revision: str | None = None, *, settings: Settings) -> Path:
    """Fetch a repo's card at ``revision`` (default: its default branch) and store it with its origin.

    Returns:
        The stored card file.
    """
    from .hf_files import fetch_file

    repo = _repo_info(repo_id, revision, settings)
    fetched: dict[str, Path] = {}
    policy, token = Policy.of(settings), settings.hf_token
    by_name = {f.path: f for f in repo.files}
    for name in ("README.md", "config.json"):
        if name in by_name:
            try:  # into the HF cache at the commit: the pull that follows finds them there, verified
                fetched[name] = fetch_file(repo_id, repo.sha, by_name[name], endpoint=repo.endpoint, token=token,
                                           policy=policy, settings=settings)
            except RepoAccessError as e:
                if name == "README.md" or e.reason != "gated":
                    raise
                # a gated repo shows its card to anyone, its other files only to whom it grants them
    return _keep_card(repo, fetched.get("README.md"), fetched.get("config.json"), settings)


def _repo_info(repo_id: str, revision: str | None, settings: Settings) -> _Repo:
    from .hf_files import list_repo

    endpoint = settings.hf_endpoint
    policy = Policy.of(settings)
    policy.check(f"{endpoint}/{repo_id}")
    found = list_repo(repo_id, revision, endpoint=endpoint, token=settings.hf_token, policy=policy,
                      settings=settings)
    sha = found.sha
    refs = [DEFAULT_REF] if revision is None else [] if sha.startswith(revision.lower()) else [revision]
    return _Repo(repo_id, sha, endpoint, refs, found.names, found.last_modified, found.files)


def _keep_card(repo: _Repo, readme: Path | None, cfg_path: Path | None, settings: Settings) -> Path:
    """The repo's card (its README, else one written from its config and file list) and origin, stored."""
    cfg = _json(cfg_path)
    model_type = str(cfg["model_type"]) if cfg.get("model_type") else None
    text = readme.read_text(encoding="utf-8", errors="replace") if readme else None
    if text is None:
        library = "library_name: transformers\n" if model_type else ""
        text = _GENERATED.format(library=library, repo=repo.repo_id, model_type=f"model_type {model_type}"
                                 if model_type else "no config.json", files=len(repo.names))
    folder = _card_folder(settings.remote_cards, repo.endpoint, repo.repo_id, repo.sha)
    card = folder / "README.md"
    origin = Origin(uid=repo.repo_id, revision=repo.sha, endpoint=repo.endpoint, refs=repo.refs, fetched_at=_now(),
                    last_modified=repo.last_modified, architecture=model_type, generated=readme is None)
    kept = Origin.read(folder)
    try:
        if kept is not None and replace(kept, fetched_at=origin.fetched_at) == origin and \
                card.read_text(encoding="utf-8") == text:
            return card  # kept before, the same at this commit: nothing to write (a read-only home stays as it is)
    except (OSError, ValueError):
        pass
    write_text(card, text)
    origin.write(folder)
    return card


def _card_folder(remote: Path, endpoint: str, repo_id: str, sha: str) -> Path:
    """``remote/hf/<host>/<org>/<name>@<commit>``: one folder per commit, every part made safe for a path."""
    host = safe_component(urlsplit(endpoint).netloc or "hub")
    parts = [safe_component(p) for p in repo_id.split("/") if p]
    folder = remote / "hf" / host / Path(*parts[:-1]) / f"{parts[-1]}@{safe_component(sha)}"
    if not folder.is_dir():
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


def search_hf(text: str, *, settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """Repos the Hub's search API finds for ``text`` (at ``HF_ENDPOINT``), as plain dicts, best first.

    ``GET /api/models?search=...`` is ``HfApi.list_models``'s request, made with the transfer's rules, so it
    waits no longer than ``HUB_TIMEOUT`` per try and ``HUB_RETRIES`` tries (huggingface_hub's own client has no
    such bound on a host that accepts connections and never answers).

    Raises:
        OfflineError: offline mode forbids asking the hub.
        DownloadError: the hub refused, could not be reached, or did not answer a list.
    """
    from urllib.parse import urlencode

    from .http_layer import thread_session
    from .queries import request_json

    endpoint = settings.hf_endpoint
    if settings.offline:
        raise OfflineError(f"a search of {endpoint} for {text!r}")
    policy = Policy.of(settings)
    url = f"{endpoint.rstrip('/')}/api/models?{urlencode({'search': text, 'limit': max(1, limit)})}"
    policy.check(url)
    token = settings.hf_token
    try:
        found = request_json(url, session=thread_session(), policy=policy, settings=settings,
                             headers={"Authorization": f"Bearer {token}"} if token else {})
    except DownloadError as e:
        raise DownloadError(f"{endpoint} did not answer a search for {text!r}: {e}", url=endpoint,
                            status=e.status) from None
    if not isinstance(found, list):
        raise DownloadError(f"{endpoint} answered a search for {text!r} with no list: not a Hugging Face hub?",
                            url=url)
    rows = [m for m in found if isinstance(m, dict) and isinstance(m.get("id") or m.get("modelId"), str)]
    return [{"id": m.get("id") or m.get("modelId"), "task": m.get("pipeline_tag"), "library": m.get("library_name"),
             "downloads": m.get("downloads"), "likes": m.get("likes"), "updated": m.get("lastModified"),
             "gated": m.get("gated"), "private": m.get("private")} for m in rows[:limit]]
