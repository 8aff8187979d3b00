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
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from filelock import FileLock

from registry.config import hf_cache_dir
from registry.errors import DownloadError, IntegrityError, RepoAccessError, UnknownModelError, UsageError

from .cache import is_trusted, link, mark_verified
from .digests import file_digest
from .policy import Policy
from .segments import download
from .transfer import Partial, ProgressSink, Settings


@dataclass(frozen=True)
class RepoFile:
    """One file of a repo at one commit, as the listing with ``files_metadata`` gives it."""

    path: str
    #: Its content address: the sha256 of an LFS file, the git blob id of a small one (huggingface_hub's ETag).
    etag: str
    size: int | None
    lfs: bool


@dataclass(frozen=True)
class RepoListing:
    """A repo at one commit, as the Hub's revision API tells it with ``?blobs=true``."""

    repo_id: str
    sha: str
    last_modified: str | None
    #: Every file's name, and those that come with a content address (all, from a current hub).
    names: list[str]
    files: list[RepoFile]
    #: The Hub keeps the repo private or gated: its files need a token with access.
    gated: bool = False


def _files(siblings: list[dict[str, Any]]) -> list[RepoFile]:
    out = []
    for s in siblings:
        lfs = s.get("lfs") or None
        etag = (lfs or {}).get("sha256") or s.get("blobId")
        if isinstance(etag, str) and etag and isinstance(s.get("rfilename"), str):
            size = (lfs or {}).get("size", s.get("size"))
            out.append(RepoFile(s["rfilename"], etag, size if isinstance(size, int) else None, bool(lfs)))
    return out


def list_repo(repo_id: str, revision: str | None, *, endpoint: str, token: str | None, policy: Policy,
              settings: Settings) -> RepoListing:
    """One GET of ``/api/models/{repo}/revision/{rev}?blobs=true``: the commit and every file's address.

    This is ``HfApi.model_info(..., files_metadata=True)``'s request, made with the session the files then
    come over, because importing ``huggingface_hub.hf_api`` costs more than a small repo's whole transfer
    (``python -m bench.open_world``). The Hub's answers map to errors as huggingface_hub maps them.

    Raises:
        UnknownModelError: no such repo (404 ``RepoNotFound``).
        RepoAccessError: 401 (private, gated or missing, and no valid token) or 403 (gated).
        DownloadError: no such revision, the hub unreachable, or another error after retries.
    """
    from .transfer import request_json

    rev = quote(revision or "main", safe="")
    url = f"{endpoint.rstrip('/')}/api/models/{repo_id}/revision/{rev}?blobs=true"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        data = request_json(url, session=_session(), policy=policy, settings=settings, headers=headers)
    except DownloadError as e:  # as huggingface_hub's hf_raise_for_status tells them apart
        if e.code == "GatedRepo" or e.status == 403:
            raise RepoAccessError(repo_id, endpoint, "gated") from None
        if e.status == 401:  # private, gated or missing: the Hub does not say which without a valid token
            raise RepoAccessError(repo_id, endpoint, "token") from None
        if e.status == 404 and e.code == "RevisionNotFound":
            raise DownloadError(f"{repo_id} has no revision {revision!r} at {endpoint}", url=url,
                                status=404) from None
        if e.status == 404:
            raise UnknownModelError(f"hf:{repo_id}", where=f"in the registry or at {endpoint}") from None
        if e.status is None:
            raise DownloadError(f"{e}; set HF_ENDPOINT to a reachable hub or mirror, or HUB_OFFLINE=1 to use the "
                                "cache alone", url=e.url) from None
        raise
    if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
        raise DownloadError(f"{endpoint} answered the listing of {repo_id} with no commit: not a Hugging Face hub?",
                            url=url)
    siblings = [s for s in data.get("siblings") or [] if isinstance(s, dict)]
    last = data.get("lastModified")
    return RepoListing(repo_id, data["sha"], last if isinstance(last, str) else None,
                       [s["rfilename"] for s in siblings if isinstance(s.get("rfilename"), str)], _files(siblings),
                       bool(data.get("private")) or bool(data.get("gated")))


def repo_folder(repo_id: str) -> Path:
    """``models--org--name`` in the HF cache, as huggingface_hub names it."""
    return hf_cache_dir() / f"models--{repo_id.replace('/', '--')}"


def write_ref(repo_id: str, ref: str, sha: str) -> None:
    """``refs/<ref>`` = commit, so huggingface_hub resolves the branch or tag offline as it would itself."""
    rel = PurePosixPath(ref)
    if not ref or sha.startswith(ref.lower()) or rel.is_absolute() or ".." in rel.parts:
        return  # a commit names itself; a name that could leave the folder is not written
    path = repo_folder(repo_id) / "refs" / Path(*rel.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(sha)
    tmp.replace(path)


def _pointer(repo_id: str, sha: str, name: str) -> Path:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UsageError(f"{repo_id} lists a file named {name!r}, which could leave the cache: refused")
    return repo_folder(repo_id) / "snapshots" / sha / Path(*rel.parts)


def _digest_of(path: Path, f: RepoFile, sha256: str | None = None) -> tuple[str, str]:
    """(what, digest) of a file in the terms of its address: sha256 for LFS, git blob id otherwise."""
    if f.lfs:
        return "sha256", sha256 or file_digest(path)
    return "git blob id", file_digest(path, "git-blob")


def hf_token() -> str | None:
    """The token huggingface_hub would send, without importing it when there plainly is none.

    ``HF_OIDC_RESOURCE``, a login file or Google Colab mean huggingface_hub's own ``get_token`` decides (OIDC
    exchange, OAuth refresh, the Colab vault); otherwise the answer is ``HF_TOKEN`` (or the older
    ``HUGGING_FACE_HUB_TOKEN``) or nothing, as ``get_token`` would give, at a fraction of its import.
    """
    env = os.environ
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    login = Path(os.path.expandvars(env.get("HF_TOKEN_PATH") or os.path.join(home, "token"))).expanduser()
    if env.get("HF_OIDC_RESOURCE") or login.exists() or _in_colab():
        from huggingface_hub import get_token

        return get_token()
    token = (env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or "").replace("\r", "").replace("\n", "")
    return token.strip() or None


def _in_colab() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


_local = threading.local()


def _session() -> Any:
    """One keep-alive session per thread (requests sessions are not meant to be shared across threads)."""
    import requests

    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
    return _local.session


def fetch_file(repo_id: str, sha: str, f: RepoFile, *, endpoint: str, token: str | None, policy: Policy,
               settings: Settings, progress: ProgressSink | None = None) -> Path:
    """The file ``f`` of ``repo_id`` at commit ``sha`` in the HF cache, verified against its address; fetched
    only when the cache lacks it (or holds it damaged). Returns the snapshot path.

    Raises:
        IntegrityError: the bytes that came do not hash to the file's address (nothing is kept).
        RepoAccessError: the hub refused the file (401: no valid token; 403: gated, conditions not accepted).
        DownloadError: the hub could not be reached or answered an error, after retries.
    """
    pointer = _pointer(repo_id, sha, f.path)
    folder = repo_folder(repo_id)
    blob = folder / "blobs" / f.etag
    if pointer.exists() and os.path.realpath(pointer) == os.path.realpath(blob) and is_trusted(blob, "hf", f.etag):
        return pointer
    url = f"{endpoint.rstrip('/')}/{repo_id}/resolve/{sha}/{quote(f.path)}"
    lock = hf_cache_dir() / ".locks" / folder.name / f"{f.etag}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock):
        if blob.is_file():  # another process brought it, or it was cached before: check it once
            what, got = _digest_of(blob, f)
            if got == f.etag:
                mark_verified(blob, "hf", f.etag)
                link(pointer, blob)
                return pointer
            blob.unlink()  # damaged: fetch it again
        blob.parent.mkdir(parents=True, exist_ok=True)
        part = Partial(blob.with_name(f".hub-{f.etag}.part"))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            out = download(url, part, session=_session(), policy=policy, settings=settings, progress=progress,
                           name=f.path, headers=headers, size=f.size)
        except DownloadError as e:  # the Hub's answers, told apart as huggingface_hub does (X-Error-Code first)
            if e.code == "GatedRepo" or e.status == 403:
                raise RepoAccessError(repo_id, endpoint, "gated") from None
            if e.status == 401:
                raise RepoAccessError(repo_id, endpoint, "token") from None
            raise
        what, got = _digest_of(part.path, f, out.digest)
        if got != f.etag:
            part.discard()
            raise IntegrityError(url=out.url, expected=f.etag, actual=got, what=what)
        os.replace(part.path, blob)
        part.discard()
    mark_verified(blob, "hf", f.etag)
    link(pointer, blob)
    return pointer
