"""Files of a Hugging Face repo fetched with our own transfer, straight into huggingface_hub's cache layout.

huggingface_hub asks the Hub twice per file (a HEAD for the ETag and commit, then the GET) and checks only the
size. The repo listing with ``files_metadata`` already gives every file's content address (an LFS file's
sha256, a small file's git blob id), so one GET per file is enough: it streams through the same resumable
transfer as an asset, is hashed in the same pass, and only a file whose digest is its address is renamed into
``blobs/<etag>`` and linked from ``snapshots/<commit>/<path>``, exactly where huggingface_hub and transformers
look, offline too. huggingface_hub's own per-blob lock (``.locks/<repo folder>/<etag>.lock``) is taken, so a
concurrent ``hf_hub_download`` of the same file waits rather than writing beside us.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from filelock import FileLock

from registry.atomic import write_text
from registry.errors import (
    DownloadError,
    HubError,
    IntegrityError,
    RepoAccessError,
    UnknownModelError,
    UsageError,
)
from registry.record import ModelRecord
from registry.settings import Settings

from .cache import Cache, link
from .digests import Address, address_digest, address_kind, bytes_address, is_sha256
from .downloader import download
from .http_layer import thread_session
from .policy import Policy
from .transfer import Partial, ProgressSink

#: An ETag that can name a blob file (huggingface_hub names blobs by it): no separator, nothing hidden.
_BLOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
#: Files whose addresses one listing asks for at once when the revision API left them out.
_HEADS_AT_ONCE = 8


@dataclass(frozen=True)
class RepoFile:
    """One file of a repo at one commit, as the listing with ``files_metadata`` gives it."""

    path: str
    #: Its content address: the sha256 of an LFS file, the git blob id of a small one (huggingface_hub's ETag).
    #: A server that is not the Hub may answer another ETag: then it only names the blob, and checks nothing.
    etag: str
    size: int | None
    lfs: bool

    @property
    def address(self) -> Address | None:
        """What the etag says the bytes hash to: ``sha256``, ``git blob id``, or None (not a content address)."""
        return address_kind(self.etag)


@dataclass(frozen=True)
class RepoListing:
    """A repo at one commit, as the Hub's revision API tells it with ``?blobs=true``."""

    repo_id: str
    sha: str
    last_modified: str | None
    #: Every file's name.
    names: list[str]
    #: Every file with its address: from the listing, or from its ``/resolve/`` answer where the listing lacks it.
    files: list[RepoFile]
    #: The Hub keeps the repo private or gated: its files need a token with access.
    gated: bool = False


def _files(siblings: list[dict[str, Any]]) -> list[RepoFile]:
    """The siblings that come with a content address (``?blobs=true`` on the Hub)."""
    out = []
    for s in siblings:
        lfs = s.get("lfs") or None
        etag = (lfs or {}).get("sha256") or s.get("blobId")
        if isinstance(etag, str) and etag and isinstance(s.get("rfilename"), str):
            size = (lfs or {}).get("size", s.get("size"))
            out.append(RepoFile(s["rfilename"], etag, size if isinstance(size, int) else None, bool(lfs)))
    return out


def _normalize_etag(value: str | None) -> str | None:
    """An ETag header without its weak mark and quotes, as huggingface_hub names the blob."""
    if not value:
        return None
    return value.strip().removeprefix("W/").strip('"') or None


def file_metadata(url: str, name: str, *, headers: dict[str, str], policy: Policy, settings: Settings) -> RepoFile:
    """A file's address and size from its ``/resolve/`` answer to a HEAD, as ``hf_hub_download`` learns them:
    ``X-Linked-Etag`` and ``X-Linked-Size`` (an LFS file, whose answer may redirect to a CDN), else ``ETag`` and
    ``Content-Length``.

    Raises:
        DownloadError: the server refused the file, or answered with no usable ETag (not a Hugging Face hub).
    """
    from .queries import request_head

    found = request_head(url, session=thread_session(), policy=policy, settings=settings, headers=headers)
    linked = _normalize_etag(found.get("X-Linked-Etag"))
    etag = linked or _normalize_etag(found.get("ETag"))
    if etag is None or not _BLOB_NAME.fullmatch(etag):
        raise DownloadError(f"{url} answered with no usable ETag ({etag!r}), so {name} cannot be named or checked: "
                            "is the endpoint a Hugging Face hub?", url=url)
    size_text = found.get("X-Linked-Size") if linked else found.get("Content-Length")
    size = int(size_text) if size_text and size_text.isdigit() else None
    return RepoFile(name, etag, size, bool(linked) or is_sha256(etag))


def _complete(repo_id: str, sha: str, siblings: list[dict[str, Any]], *, endpoint: str, token: str | None,
              policy: Policy, settings: Settings) -> list[RepoFile]:
    """Every listed file with its address, in the listing's order: those the listing gave; else the tree API's
    (one request, as ``snapshot_download`` asks it); else each asked of ``/resolve/`` with a HEAD, as
    ``hf_hub_download`` asks it. A server that is not the Hub may list names alone and have no tree API: the
    tree is an optimisation, the HEADs are the rule, and a file whose address cannot be had fails the listing."""
    known = {f.path: f for f in _files(siblings)}
    names = [s["rfilename"] for s in siblings if isinstance(s.get("rfilename"), str)]
    lacking = [n for n in names if n not in known]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if lacking:
        tree = _tree(repo_id, sha, endpoint=endpoint, headers=headers, policy=policy, settings=settings)
        known.update((n, tree[n]) for n in lacking if n in tree)
        lacking = [n for n in lacking if n not in known]
    if lacking:
        from concurrent.futures import ThreadPoolExecutor

        def ask(name: str) -> RepoFile:
            # a name that could leave the cache is refused before it is asked
            snapshot_file(settings.hf_cache, repo_id, sha, name)
            url = f"{endpoint.rstrip('/')}/{repo_id}/resolve/{sha}/{quote(name)}"
            try:
                return file_metadata(url, name, headers=headers, policy=policy, settings=settings)
            except DownloadError as e:
                raise _refusal(e, repo_id, endpoint) from None

        with ThreadPoolExecutor(max_workers=min(_HEADS_AT_ONCE, len(lacking))) as pool:
            known.update((f.path, f) for f in pool.map(ask, lacking))
    return [known[n] for n in names if n in known]


#: Pages of a tree listing followed at most (the Hub pages it by about a thousand entries).
_TREE_PAGES = 100


def _tree(repo_id: str, sha: str, *, endpoint: str, headers: dict[str, str], policy: Policy,
          settings: Settings) -> dict[str, RepoFile]:
    """The files of ``/api/models/{repo}/tree/{sha}?recursive=true`` with their addresses, following the Hub's
    ``Link: rel="next"`` pages; empty when the server has no tree API (or answers it with an error)."""
    from .queries import request_json_page

    url: str | None = f"{endpoint.rstrip('/')}/api/models/{repo_id}/tree/{sha}?recursive=true&expand=false"
    found: dict[str, RepoFile] = {}
    for _ in range(_TREE_PAGES):
        if url is None:
            break
        try:
            entries, url = request_json_page(url, session=thread_session(), policy=policy, settings=settings,
                                             headers=headers)
        except DownloadError:
            return {}
        if not isinstance(entries, list):
            return {}
        for e in entries:
            if not isinstance(e, dict) or e.get("type") != "file" or not isinstance(e.get("path"), str):
                continue
            lfs = e.get("lfs") if isinstance(e.get("lfs"), dict) else None
            etag = (lfs or {}).get("oid") or e.get("oid")
            size = (lfs or {}).get("size", e.get("size"))
            if isinstance(etag, str) and etag:
                found[e["path"]] = RepoFile(e["path"], etag, size if isinstance(size, int) else None, bool(lfs))
    return found


def _refusal(e: DownloadError, repo_id: str, endpoint: str, *, revision: str | None = None,
             listing: bool = False) -> HubError:
    """The hub's answer as our error, told apart as huggingface_hub's ``hf_raise_for_status`` does (X-Error-Code
    first): one mapping for the listing and for each file. The Hub answers 401 for a private, gated or missing
    repo alike when no valid token is sent, so as not to tell which."""
    if e.code == "PolicyRefused":  # a hub serve mirror's policy: its message names the rule
        return RepoAccessError(repo_id, endpoint, "policy", e.detail)
    if e.code == "GatedRepo" or e.status == 403:
        return RepoAccessError(repo_id, endpoint, "gated")
    if e.status == 401:
        return RepoAccessError(repo_id, endpoint, "token")
    if listing and e.status == 404 and e.code == "RevisionNotFound":
        return DownloadError(f"{repo_id} has no revision {revision!r} at {endpoint}", url=e.url, status=404)
    if listing and e.status == 404:
        return UnknownModelError(f"hf:{repo_id}", where=f"in the registry or at {endpoint}")
    if listing and e.status is None:
        return DownloadError(f"{e}; set HF_ENDPOINT to a reachable hub or mirror, or HUB_OFFLINE=1 to use the "
                             "cache alone", url=e.url, code=e.code)
    return e


def list_repo(repo_id: str, revision: str | None, *, endpoint: str, token: str | None, policy: Policy,
              settings: Settings) -> RepoListing:
    """One GET of ``/api/models/{repo}/revision/{rev}?blobs=true``: the commit and every file's address.

    This is ``HfApi.model_info(..., files_metadata=True)``'s request, made with the session the files then
    come over, because importing ``huggingface_hub.hf_api`` costs more than a small repo's whole transfer
    (``python -m bench.open_world``). The Hub's answers map to errors as huggingface_hub maps them. A server
    that lists names without addresses (``snapshot_download`` needs no more) is asked each such file's address
    with a HEAD of its ``/resolve/`` URL, as ``hf_hub_download`` asks it.

    Raises:
        UnknownModelError: no such repo (404 ``RepoNotFound``).
        RepoAccessError: 401 (private, gated or missing, and no valid token) or 403 (gated).
        DownloadError: no such revision, the hub unreachable, an answer with no commit or no file list, a file
            whose address cannot be had, or another error after retries.
    """
    from .queries import request_json

    rev = quote(revision or "main", safe="")
    url = f"{endpoint.rstrip('/')}/api/models/{repo_id}/revision/{rev}?blobs=true"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        data = request_json(url, session=thread_session(), policy=policy, settings=settings, headers=headers)
    except DownloadError as e:
        raise _refusal(e, repo_id, endpoint, revision=revision, listing=True) from None
    if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
        raise DownloadError(f"{endpoint} answered the listing of {repo_id} with no commit: not a Hugging Face hub?",
                            url=url)
    if not isinstance(data.get("siblings"), list):
        raise DownloadError(f"{endpoint} answered the listing of {repo_id} with no file list (siblings): not a "
                            "Hugging Face hub?", url=url)
    siblings = [s for s in data["siblings"] if isinstance(s, dict)]
    files = _complete(repo_id, data["sha"], siblings, endpoint=endpoint, token=token, policy=policy,
                      settings=settings)
    last = data.get("lastModified")
    return RepoListing(repo_id, data["sha"], last if isinstance(last, str) else None,
                       [s["rfilename"] for s in siblings if isinstance(s.get("rfilename"), str)], files,
                       bool(data.get("private")) or bool(data.get("gated")))


def repo_folder(hf_cache: Path, repo_id: str) -> Path:
    """``models--org--name`` in the HF cache, as huggingface_hub names it."""
    return hf_cache / f"models--{repo_id.replace('/', '--')}"


def snapshot(record: ModelRecord, revision: str | None = None, *, settings: Settings) -> Path | None:
    """The folder of the HF cache that holds the repo's files at the record's commit (or ``main``)."""
    folder = settings.hf_cache / f"models--{(record.uid or '').replace('/', '--')}"
    ref = revision or record.revision or "main"
    ref_file = folder / "refs" / ref
    commit = ref_file.read_text().strip() if ref_file.is_file() else ref
    snap = folder / "snapshots" / commit
    return snap if snap.is_dir() else None


def write_ref(hf_cache: Path, repo_id: str, ref: str, sha: str) -> None:
    """``refs/<ref>`` = commit, so huggingface_hub resolves the branch or tag offline as it would itself."""
    rel = PurePosixPath(ref)
    if not ref or sha.startswith(ref.lower()) or rel.is_absolute() or ".." in rel.parts:
        return  # a commit names itself; a name that could leave the folder is not written
    path = repo_folder(hf_cache, repo_id) / "refs" / Path(*rel.parts)
    try:
        if path.read_text().strip() == sha:
            return  # as it is: a read-only cache is left untouched
    except OSError:
        pass
    write_text(path, sha)


def snapshot_file(hf_cache: Path, repo_id: str, sha: str, name: str) -> Path:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UsageError(f"{repo_id} lists a file named {name!r}, which could leave the cache: refused")
    return repo_folder(hf_cache, repo_id) / "snapshots" / sha / Path(*rel.parts)


def _digest_of(path: Path, f: RepoFile, sha256: str | None = None) -> tuple[str, str]:
    """(what, digest) of a file in the terms of its address: sha256 for LFS, git blob id otherwise; a file
    whose ETag is no content address is taken as named (``what`` is empty), as huggingface_hub takes it."""
    kind = f.address
    if kind is None:
        return "", f.etag
    return kind, sha256 if sha256 and kind == "sha256" else address_digest(path, kind)



def read_small(repo_id: str, sha: str, f: RepoFile, *, endpoint: str, token: str | None, policy: Policy,
               settings: Settings, limit: int = 1 << 20) -> bytes:
    """The bytes of a small file of ``repo_id`` at ``sha`` (a signature, a README), held in memory and checked
    against its address; nothing is stored.

    Raises:
        DownloadError: larger than ``limit``, refused, unreachable, or other bytes than its address names.
    """
    from .http_layer import NETWORK_ERRORS, open_range

    url = f"{endpoint.rstrip('/')}/{repo_id}/resolve/{sha}/{quote(f.path)}"
    if (f.size or 0) > limit:
        raise DownloadError(f"{f.path} of {repo_id} is {f.size} bytes, more than the {limit} read whole", url=url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with open_range(thread_session(), url, policy=policy, timeout=settings.timeout, headers=headers) as answer:
            if answer.kind != "whole":
                raise _refusal(answer.refusal(url), repo_id, endpoint)
            data = answer.resp.raw.read(limit + 1, decode_content=False)
    except NETWORK_ERRORS as e:
        raise DownloadError(f"cannot get {f.path} of {repo_id}: {e}", url=url) from None
    if len(data) > limit or bytes_address(data, f.etag) != f.etag:
        raise IntegrityError(url=url, expected=f.etag, actual=bytes_address(data, f.etag) or "?",
                             what=f.address or "address")
    return data


def fetch_file(repo_id: str, sha: str, f: RepoFile, *, endpoint: str, token: str | None, policy: Policy,
               settings: Settings, progress: ProgressSink | None = None,
               check: Callable[[Path], None] | None = None) -> Path:
    """The file ``f`` of ``repo_id`` at commit ``sha`` in the HF cache, verified against its address; fetched
    only when the cache lacks it (or holds it damaged). Returns the snapshot path. ``check`` (a signature's
    demand) sees the bytes, cached or just come, before they are kept or linked; what it raises goes through.

    Raises:
        IntegrityError: the bytes that came do not hash to the file's address (nothing is kept).
        RepoAccessError: the hub refused the file (401: no valid token; 403: gated, conditions not accepted).
        DownloadError: the hub could not be reached or answered an error, after retries.
    """
    pointer = snapshot_file(settings.hf_cache, repo_id, sha, f.path)
    cache = Cache(settings.home)
    if not _BLOB_NAME.fullmatch(f.etag):
        raise DownloadError(f"{endpoint} gave {f.path} of {repo_id} the address {f.etag[:80]!r}, which cannot name a "
                            "file in the cache: refused", url=endpoint)
    folder = repo_folder(settings.hf_cache, repo_id)
    blob = folder / "blobs" / f.etag
    linked = pointer.exists() and os.path.realpath(pointer) == os.path.realpath(blob)
    if linked and cache.is_trusted(blob, "hf", f.etag):
        if check is not None:
            check(blob)
        return pointer
    url = f"{endpoint.rstrip('/')}/{repo_id}/resolve/{sha}/{quote(f.path)}"
    lock = settings.hf_cache / ".locks" / folder.name / f"{f.etag}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock):
        if blob.is_file():  # another process brought it, or it was cached before: check it once
            what, got = _digest_of(blob, f)
            if got == f.etag:
                if check is not None:
                    check(blob)
                cache.mark_verified(blob, "hf", f.etag)
                link(pointer, blob)
                return pointer
            blob.unlink()  # damaged: fetch it again
        blob.parent.mkdir(parents=True, exist_ok=True)
        part = Partial(blob.with_name(f".hub-{f.etag}.part"))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            out = download(url, part, session=thread_session(), policy=policy, settings=settings, progress=progress,
                           name=f.path, headers=headers, size=f.size)
        except DownloadError as e:
            raise _refusal(e, repo_id, endpoint) from None
        what, got = _digest_of(part.path, f, out.digest)
        if got != f.etag:
            part.discard()
            raise IntegrityError(url=out.url, expected=f.etag, actual=got, what=what)
        if check is not None:
            try:
                check(part.path)
            except BaseException:
                part.discard()
                raise
        os.replace(part.path, blob)
        part.discard()
    cache.mark_verified(blob, "hf", f.etag)
    link(pointer, blob)
    return pointer
