"""What a mirror holds: Hugging Face repos in huggingface_hub's own cache layout, read safely.

The layout is the one ``hub pull hf:…`` (and huggingface_hub, and transformers) writes, so a mirror is filled by
pulling into its folder (``HF_HUB_CACHE=<storage>/hf hub pull hf:org/name``) and a node's cache can be served as
it is. Every name from a request is checked before it touches the file system: repo ids and revisions against
patterns, file paths for ``..``, absolute parts and control characters, and every resolved path must stay inside
the storage folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from registry.errors import UsageError

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class NotFound(LookupError):
    """What the Hub calls the error (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``) and the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredFile:
    """One file of a repo at a commit: its path in the repo, its blob and content address."""

    path: str
    blob: Path
    etag: str
    size: int

    @property
    def lfs(self) -> bool:
        """An LFS file is addressed by its sha256; a small one by its git blob id (40 hex)."""
        return bool(_SHA256.match(self.etag))


def check_repo(org: str, name: str) -> str:
    if not (_PART.match(org) and _PART.match(name)) or ".." in org or ".." in name:
        raise UsageError(f"{org}/{name!s} is not a repo id")
    return f"{org}/{name}"


def check_path(path: str) -> PurePosixPath:
    """A file path inside a repo: relative, no ``..``, no empty or hidden-control parts."""
    rel = PurePosixPath(path)
    if (not path or rel.is_absolute() or "\\" in path or any(ord(c) < 32 for c in path)
            or any(p in ("", ".", "..") for p in rel.parts) or len(path) > 1000):
        raise UsageError(f"{path!r} is not a file path in a repo")
    return rel


class HfStore:
    """Repos in huggingface_hub's cache layout under ``root``: refs, snapshots, blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _repo_dir(self, repo_id: str) -> Path:
        folder = self.root / f"models--{repo_id.replace('/', '--')}"
        if not folder.is_dir():
            raise NotFound("RepoNotFound", f"Repository {repo_id} not found")
        return folder

    def commit(self, repo_id: str, revision: str | None) -> str:
        """The commit ``revision`` (a branch, tag or commit; default ``main``) names in the stored repo."""
        rev = revision or "main"
        if not _REV.match(rev) or ".." in rev:
            raise NotFound("RevisionNotFound", f"Invalid rev id: {rev}")
        folder = self._repo_dir(repo_id)
        if _SHA.match(rev) and (folder / "snapshots" / rev).is_dir():
            return rev
        ref = folder / "refs" / rev
        if ref.is_file() and self._inside(ref):
            sha = ref.read_text().strip()
            if _SHA.match(sha) and (folder / "snapshots" / sha).is_dir():
                return sha
        raise NotFound("RevisionNotFound", f"Invalid rev id: {rev}")

    def files(self, repo_id: str, sha: str) -> list[StoredFile]:
        """Every complete file of the snapshot (a link whose blob is missing is left out), sorted by path."""
        snap = self._repo_dir(repo_id) / "snapshots" / sha
        out = []
        for path in sorted(snap.rglob("*")):
            if path.is_dir() or not path.exists():
                continue
            blob = Path(os.path.realpath(path))
            if not self._inside(blob):
                continue
            out.append(StoredFile(path.relative_to(snap).as_posix(), blob, blob.name, blob.stat().st_size))
        return out

    def file(self, repo_id: str, sha: str, path: str) -> StoredFile:
        rel = check_path(path)
        snap = self._repo_dir(repo_id) / "snapshots" / sha
        target = snap / Path(*rel.parts)
        blob = Path(os.path.realpath(target))
        if not target.exists() or not blob.is_file() or not self._inside(blob):
            raise NotFound("EntryNotFound", f"{path} does not exist on {sha}")
        return StoredFile(rel.as_posix(), blob, blob.name, blob.stat().st_size)

    def last_modified(self, repo_id: str, sha: str) -> str:
        snap = self._repo_dir(repo_id) / "snapshots" / sha
        stamp = dt.datetime.fromtimestamp(snap.stat().st_mtime, dt.UTC)
        return stamp.isoformat(timespec="seconds").replace("+00:00", ".000Z")

    def _inside(self, path: Path) -> bool:
        try:
            Path(os.path.realpath(path)).relative_to(self.root)
        except ValueError:
            return False
        return True
