"""What a mirror holds of Hugging Face repos, and the checks every name from a request passes first.

A mirror keeps three kinds of things per repo, whatever the storage (a folder here, a bucket in ``s3.py``):

- **refs**: a branch or tag and the commit it named when it was last asked upstream, with that time, so a
  ref can be trusted for a while (its TTL) and kept when upstream is down;
- **snapshots**: a commit's file list with every file's size and content address (an LFS file's sha256, a
  small file's git blob id), and whether upstream gates the repo; immutable;
- **blobs**: the files, by content address; immutable, and only ever stored whole and verified.

:class:`LocalStorage` keeps them in huggingface_hub's own cache layout, so a mirror's folder can be filled by
pulling into it (``HF_HUB_CACHE=<storage>/hf hub pull hf:org/name``), and a node's cache can be served as it
is. Every name from a request is checked before it touches a file system or a bucket: repo ids and revisions
against patterns, file paths for ``..``, absolute parts and control characters, and every resolved path must
stay inside the storage folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from hub_client.fetch.digests import is_git_id, is_sha256
from registry.atomic import write_text
from registry.errors import UsageError

from .tally import EVICTIONS, Tally

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class ServeError(Exception):
    """An answer other than the file: the HTTP status, what the Hub calls the error (``X-Error-Code``, which
    huggingface_hub turns into its own exceptions) and the message."""

    status = 500

    def __init__(self, code: str | None, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        if status is not None:
            self.status = status


class NotFound(ServeError, LookupError):
    """404: ``RepoNotFound``, ``RevisionNotFound`` or ``EntryNotFound``."""

    status = 404

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class StoredFile:
    """One file of a repo at a commit: its path in the repo, size and content address."""

    path: str
    etag: str
    size: int

    @property
    def lfs(self) -> bool:
        """An LFS file is addressed by its sha256; a small one by its git blob id (40 hex)."""
        return is_sha256(self.etag)


@dataclass(frozen=True)
class Snapshot:
    """A repo at one commit, as upstream listed it (or as a pulled snapshot folder shows it)."""

    repo: str
    sha: str
    last_modified: str
    files: tuple[StoredFile, ...]
    #: Upstream gates the repo or keeps it private: only an authenticated client is served.
    gated: bool = False
    #: A team repo, written by uploads to this mirror: its refs are the truth here, never asked of upstream.
    team: bool = False
    by_path: dict[str, StoredFile] = field(default_factory=dict, compare=False, repr=False)
    #: Files the mirror's policy keeps out (``rules.py``), by path: asking for one raises its refusal.
    refused: Mapping[str, ServeError] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_path.update((f.path, f) for f in self.files)

    def file(self, path: str) -> StoredFile:
        key = check_path(path).as_posix()
        found = self.by_path.get(key)
        if found is None and key in self.refused:
            raise self.refused[key]
        if found is None:
            raise NotFound("EntryNotFound", f"{path} does not exist on {self.sha}")
        return found

    def to_json(self) -> str:
        return json.dumps({"repo": self.repo, "sha": self.sha, "last_modified": self.last_modified,
                           "gated": self.gated, "team": self.team, "files": [asdict(f) for f in self.files]})

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        d = json.loads(text)
        return cls(d["repo"], d["sha"], d["last_modified"], tuple(StoredFile(**f) for f in d["files"]),
                   bool(d.get("gated")), bool(d.get("team")))


@dataclass(frozen=True)
class Ref:
    """A branch or tag as stored: the commit it named, and when upstream said so (seconds since the epoch)."""

    sha: str
    at: float


@dataclass(frozen=True)
class LocalBlob:
    """A stored file on this machine's disk, sent with ``sendfile`` by the app."""

    path: Path
    size: int


class RangeReader(Protocol):
    """A stored file elsewhere (an object in a bucket), read range by range."""

    size: int

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive), in blocks."""
        ...


class Storage(Protocol):
    """Where a mirror keeps refs, snapshots and blobs: :class:`LocalStorage` or ``s3.S3Storage``."""

    def ref(self, repo: str, rev: str) -> Ref | None: ...
    def set_ref(self, repo: str, rev: str, sha: str) -> None: ...
    def snapshot(self, repo: str, sha: str) -> Snapshot | None: ...
    def set_snapshot(self, snap: Snapshot) -> None: ...
    def blob(self, repo: str, etag: str) -> LocalBlob | RangeReader | None: ...
    def put_blob(self, snap: Snapshot, f: StoredFile, verified: Path) -> None:
        """Store ``verified`` (a whole file whose digest is ``f.etag``) so that no half of it is ever visible;
        the file is moved or removed."""
        ...
    def add_blob(self, repo: str, etag: str, verified: Path) -> None:
        """Store an uploaded file of a team repo (before any commit names it); never evicted."""
        ...
    def scratch(self, repo: str) -> Path:
        """A folder for files on their way in (on the same file system as the blobs where that matters)."""
        ...
    def repos(self) -> list[str]: ...
    def has_blob(self, repo: str, etag: str) -> bool:
        """Whether the file is stored, asked without counting as a use (what a page shows)."""
        ...


#: In a repo folder: the repo is a team repo (uploaded here), whose blobs the size cap never removes.
TEAM_MARK = ".hub-team"


def check_repo(org: str, name: str) -> str:
    if not (_PART.match(org) and _PART.match(name)) or ".." in org or ".." in name:
        raise UsageError(f"{org}/{name!s} is not a repo id")
    return f"{org}/{name}"


def check_rev(rev: str) -> str:
    if not _REV.match(rev) or ".." in rev or "//" in rev or rev.endswith("/"):
        raise NotFound("RevisionNotFound", f"Invalid rev id: {rev}")
    return rev


def is_commit(rev: str) -> bool:
    return is_git_id(rev)


def check_path(path: str) -> PurePosixPath:
    """A file path inside a repo: relative, no ``..``, no empty or hidden-control parts."""
    rel = PurePosixPath(path)
    if (not path or rel.is_absolute() or "\\" in path or any(ord(c) < 32 for c in path)
            or any(p in ("", ".", "..") for p in rel.parts) or len(path) > 1000):
        raise UsageError(f"{path!r} is not a file path in a repo")
    return rel


def repo_folder_name(repo: str) -> str:
    return f"models--{repo.replace('/', '--')}"


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds").replace("+00:00", ".000Z")


class LocalStorage:
    """Repos in huggingface_hub's cache layout under ``root`` (refs, snapshots, blobs); the upstream listing of
    each commit beside them as ``.hub-snapshots/<sha>.json``, which huggingface_hub ignores."""

    def __init__(self, root: Path, *, max_bytes: int | None = None, asset_blobs: Path | None = None) -> None:
        self.root = root.resolve()
        #: The most bytes of blobs kept; past it, the least recently used go (a read counts as a use).
        self.max_bytes = max_bytes
        #: The mirror's MindSpore Hub assets (``assets.py``), counted in the cap and evicted with the rest.
        self.asset_blobs = asset_blobs.resolve() if asset_blobs else None
        #: Evictions and the bytes they freed, for ``/metrics``.
        self.tally = Tally(*EVICTIONS)

    def _folder(self, repo: str) -> Path:
        return self.root / repo_folder_name(repo)

    def ref(self, repo: str, rev: str) -> Ref | None:
        path = self._folder(repo) / "refs" / Path(*PurePosixPath(check_rev(rev)).parts)
        try:
            sha = path.read_text().strip()
            at = path.stat().st_mtime
        except (OSError, UnicodeError):
            return None
        return Ref(sha, at) if is_git_id(sha) and self._inside(path) else None

    def set_ref(self, repo: str, rev: str, sha: str) -> None:
        path = self._folder(repo) / "refs" / Path(*PurePosixPath(check_rev(rev)).parts)
        write_text(path, sha)  # the mtime says when upstream last confirmed it

    def snapshot(self, repo: str, sha: str) -> Snapshot | None:
        folder = self._folder(repo)
        try:
            return Snapshot.from_json((folder / ".hub-snapshots" / f"{sha}.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            pass
        snap = folder / "snapshots" / sha
        if not snap.is_dir():
            return None
        files = []  # a snapshot pulled into the folder: its complete files are the listing
        for path in sorted(snap.rglob("*")):
            if path.is_dir() or not path.exists():
                continue
            blob = Path(os.path.realpath(path))
            if self._inside(blob):
                files.append(StoredFile(path.relative_to(snap).as_posix(), blob.name, blob.stat().st_size))
        return Snapshot(repo, sha, _stamp(snap.stat().st_mtime), tuple(files))

    def set_snapshot(self, snap: Snapshot) -> None:
        from hub_client.fetch.cache import link

        folder = self._folder(snap.repo)
        path = folder / ".hub-snapshots" / f"{snap.sha}.json"
        write_text(path, snap.to_json())
        (folder / "snapshots" / snap.sha).mkdir(parents=True, exist_ok=True)  # as HF's scan wants
        for f in snap.files:  # the files already stored (a team commit's, or ones an earlier commit shares)
            if (folder / "blobs" / f.etag).is_file():
                link(folder / "snapshots" / snap.sha / Path(*check_path(f.path).parts), folder / "blobs" / f.etag)

    def blob(self, repo: str, etag: str) -> LocalBlob | None:
        path = self._folder(repo) / "blobs" / etag
        try:
            size = path.stat().st_size
        except OSError:
            return None
        if not path.is_file() or not self._inside(path):
            return None
        try:
            os.utime(path)  # a read counts as a use for the size cap's eviction (least recently used first)
        except OSError:
            pass  # a blob someone else owns: served all the same
        return LocalBlob(path, size)

    def has_blob(self, repo: str, etag: str) -> bool:
        path = self._folder(repo) / "blobs" / etag
        return path.is_file() and self._inside(path)

    def add_blob(self, repo: str, etag: str, verified: Path) -> None:
        folder = self._folder(repo)
        (folder / "blobs").mkdir(parents=True, exist_ok=True)
        (folder / TEAM_MARK).touch()
        os.replace(verified, folder / "blobs" / etag)

    def put_blob(self, snap: Snapshot, f: StoredFile, verified: Path) -> None:
        from hub_client.fetch.cache import link

        blob = self._folder(snap.repo) / "blobs" / f.etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.replace(verified, blob)
        link(self._folder(snap.repo) / "snapshots" / snap.sha / Path(*check_path(f.path).parts), blob)
        self.added(blob)

    def added(self, blob: Path) -> None:
        """A blob was stored (a Hugging Face file, or an asset): past the cap, the least recently used go."""
        if self.max_bytes is not None:
            self.evict(self.max_bytes, keep=blob)

    def evict(self, max_bytes: int, *, keep: Path | None = None) -> list[Path]:
        """Remove the least recently used blobs until the rest fit in ``max_bytes``; what was removed.

        A snapshot's link to a removed blob dangles, which huggingface_hub and this mirror read as "not stored":
        the file is fetched again when next asked (an asset's link likewise). ``keep`` (the blob just stored) is
        never removed.
        """
        blobs = []
        folders = [*self.root.glob("models--*--*/blobs"), *([self.asset_blobs] if self.asset_blobs else [])]
        for folder in folders:
            if not folder.is_dir() or (folder.parent / TEAM_MARK).exists():  # a team repo's files are only here
                continue
            with os.scandir(folder) as entries:
                for e in entries:
                    if e.is_file(follow_symlinks=False) and not e.name.startswith("."):
                        st = e.stat(follow_symlinks=False)
                        blobs.append((st.st_mtime, st.st_size, Path(e.path)))
        total = sum(size for _, size, _ in blobs)
        removed = []
        for _, size, path in sorted(blobs):
            if total <= max_bytes:
                break
            if keep is not None and path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            removed.append(path)
            self.tally.add("evictions")
            self.tally.add("evicted_bytes", size)
        return removed

    def scratch(self, repo: str) -> Path:
        folder = self._folder(repo) / "blobs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def sweep(self, older_than: float = 3600.0) -> list[Path]:
        """Remove scratch files a killed server left; what was removed."""
        return sweep_scratch(self.root.glob("models--*--*/blobs/.hub-serve-*.incoming"), older_than)

    def repos(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[len("models--"):].replace("--", "/", 1) for p in self.root.glob("models--*--*")
                      if p.is_dir())

    def _inside(self, path: Path) -> bool:
        try:
            Path(os.path.realpath(path)).relative_to(self.root)
        except ValueError:
            return False
        return True


def sweep_scratch(paths: Iterable[Path], older_than: float = 3600.0) -> list[Path]:
    """Remove the scratch files among ``paths`` untouched for ``older_than`` seconds (a live transfer writes to
    its file all the time, so these are what a killed server left); what was removed."""
    import time

    removed = []
    for path in paths:
        try:
            if time.time() - path.stat().st_mtime > older_than:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
