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
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from filelock import FileLock

from registry.config import hf_cache_dir
from registry.errors import DownloadError, IntegrityError, RepoAccessError, UsageError

from .cache import is_trusted, mark_verified
from .digests import file_digest
from .policy import Policy
from .transfer import Partial, ProgressSink, Settings, fetch


@dataclass(frozen=True)
class RepoFile:
    """One file of a repo at one commit, as the listing with ``files_metadata`` gives it."""

    path: str
    #: Its content address: the sha256 of an LFS file, the git blob id of a small one (huggingface_hub's ETag).
    etag: str
    size: int | None
    lfs: bool


def listing(siblings: list[Any] | None) -> list[RepoFile]:
    """``RepoFile`` for each sibling of ``HfApi.model_info(..., files_metadata=True)``; files without a content
    address (an old server) are left out, and the caller falls back to huggingface_hub for them."""
    out = []
    for s in siblings or []:
        lfs = getattr(s, "lfs", None)
        etag = (lfs.sha256 if lfs else None) or getattr(s, "blob_id", None)
        if etag:
            out.append(RepoFile(s.rfilename, str(etag), lfs.size if lfs else getattr(s, "size", None), bool(lfs)))
    return out


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


def _link(pointer: Path, blob: Path) -> None:
    """``pointer`` → ``blob`` by a relative symlink as huggingface_hub makes it (a copy where links fail)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:
        shutil.copyfile(blob, tmp)
    os.replace(tmp, pointer)


def _digest_of(path: Path, f: RepoFile, sha256: str | None = None) -> tuple[str, str]:
    """(what, digest) of a file in the terms of its address: sha256 for LFS, git blob id otherwise."""
    if f.lfs:
        return "sha256", sha256 or file_digest(path)
    return "git blob id", file_digest(path, "git-blob")


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
                _link(pointer, blob)
                return pointer
            blob.unlink()  # damaged: fetch it again
        blob.parent.mkdir(parents=True, exist_ok=True)
        part = Partial(blob.with_name(f".hub-{f.etag}.part"))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            out = fetch(url, part, session=_session(), policy=policy, settings=settings, progress=progress,
                        name=f.path, headers=headers)
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
    _link(pointer, blob)
    return pointer
