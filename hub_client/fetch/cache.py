"""The local cache under the hub home (``Cache(settings.home)``): verified blobs by digest, readable
per-model paths, partials, locks.

Layout::

    blobs/sha256/<digest>                   verified bytes, named by their sha256
    models/<dialect>/<uid>/<file>           symlink to its blob: what people and loaders open
    incomplete/<key>.part (+ .part.json)    a transfer in progress (same file system: rename is atomic)
    locks/<key>.lock                        one downloader per asset across processes

Only a verified file is ever renamed into ``blobs/`` and linked from ``models/``;
every path component from a card is sanitised, so nothing lands outside the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from registry.atomic import write_text
from registry.errors import UsageError
from registry.record import AssetRecord, ModelRecord

from .digests import address_digest, address_kind, file_digest

_UNSAFE = re.compile(r"[^A-Za-z0-9._+@=-]")


def safe_component(text: str) -> str:
    """One path component: no separators, no '..', nothing hidden, nothing empty."""
    cleaned = _UNSAFE.sub("_", text.strip()).lstrip(".")
    if not cleaned or cleaned in (".", ".."):
        raise UsageError(f"{text!r} cannot be used as a file name in the cache")
    return cleaned[:200]


def asset_key(url: str, sha256: str | None) -> str:
    """Names the partial file and the lock of one asset (its origin URL and declared hash)."""
    return hashlib.sha256(f"{url}\n{sha256 or ''}".encode()).hexdigest()[:32]


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def forget(path: Path) -> None:
    """Remove a damaged cached file: the link people open and the blob behind it."""
    blob = Path(os.path.realpath(path))
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


def link(path: Path, blob: Path) -> Path:
    """Point ``path`` at ``blob`` with a relative symlink, replacing any old one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(os.path.relpath(blob, path.parent))
    except OSError:  # file systems without symlinks: a hard link, else a copy
        try:
            os.link(blob, tmp)
        except OSError:
            shutil.copyfile(blob, tmp)
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Entry:
    """One cached file as ``hub cache ls`` shows it."""

    model: str
    path: Path
    blob: Path | None
    size: int
    #: The file's name within the model (a Hugging Face file may sit in a sub-folder); its path's name if empty.
    file: str = ""

    @property
    def name(self) -> str:
        return self.file or self.path.name

    @property
    def ok(self) -> bool:
        return self.blob is not None and self.blob.is_file()


@dataclass(frozen=True)
class Cache:
    """The cache rooted at ``root`` (a hub home): every path of the layout above, and what is done with them."""

    root: Path

    def model_dir(self, record: ModelRecord) -> Path:
        """``models/<dialect>/<uid>``: where a model's files are linked."""
        return self.folder(record.dialect.value, record.uid or record.name)

    def folder(self, dialect: str, uid: str) -> Path:
        """:meth:`model_dir` from the two facts it needs (what a registry row holds, without its record)."""
        parts = [safe_component(p) for p in uid.split("/") if p.strip()]
        return self.root / "models" / safe_component(dialect) / Path(*parts)

    def asset_path(self, record: ModelRecord, asset: AssetRecord) -> Path:
        return self.model_dir(record) / safe_component(asset.filename)

    def is_cached(self, record: ModelRecord, asset: AssetRecord) -> bool:
        return self.asset_path(record, asset).is_file()  # follows the link: a dangling one is not cached

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest

    def partial_path(self, key: str) -> Path:
        return self.root / "incomplete" / f"{key}.part"

    def lock_path(self, key: str) -> Path:
        path = self.root / "locks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _mark(self, kind: str, digest: str) -> Path:
        return self.root / "verified" / kind / digest

    def mark_verified(self, path: Path, kind: str, digest: str) -> None:
        """Remember that the file behind ``path`` hashed to ``digest``, as it is now (its size and mtime)."""
        with contextlib.suppress(OSError):  # a read-only home (a shared model cache): verified all the same
            write_text(self._mark(kind, digest), _stat_key(Path(os.path.realpath(path))))

    def is_trusted(self, path: Path, kind: str, digest: str) -> bool:
        """Whether the file was verified and has not changed since (same size and mtime): only then is it used
        without hashing it again. A file that was rewritten, truncated or touched is hashed anew."""
        try:
            return self._mark(kind, digest).read_text() == _stat_key(Path(os.path.realpath(path)))
        except OSError:
            return False

    def damage(self, path: Path) -> tuple[str, str, str] | None:
        """(what, expected, actual) when a cached file no longer hashes to the address it is stored under (a blob of
        ours named by its sha256, or a Hugging Face blob named by its sha256 or git blob id); None when it is intact or
        is not content-addressed. A damaged file loses its verified mark, so the next pull hashes it and fetches it
        again instead of trusting its unchanged size and mtime."""
        blob = Path(os.path.realpath(path))
        name = blob.name
        what = address_kind(name)
        if what is None:
            return None
        actual = address_digest(blob, what)
        if actual == name:
            return None
        for kind in ("sha256", "hf"):
            self._mark(kind, name).unlink(missing_ok=True)
        return what, name, actual

    def sha256_of(self, path: Path) -> str:
        """A cached file's sha256, read off its blob's name when it was verified under that name and has not
        changed since (ours, or an LFS file of the HF cache); hashed otherwise (a small file's blob is named by
        its git id)."""
        named = Path(os.path.realpath(path)).name
        if len(named) == 64 and (self.is_trusted(path, "sha256", named) or self.is_trusted(path, "hf", named)):
            return named
        return file_digest(path)

    def blob_digest(self, path: Path) -> str | None:
        """The sha256 a cached file's blob is named by; None for a copy (a file system without links)."""
        blob = Path(os.path.realpath(path))
        return blob.name if blob.parent == self.root.resolve() / "blobs" / "sha256" else None

    def store_blob(self, part: Path, digest: str) -> Path:
        """Move a verified partial file into the blob store (atomic rename on the same file system)."""
        blob = self.blob_path(digest)
        blob.parent.mkdir(parents=True, exist_ok=True)
        if blob.exists():
            part.unlink(missing_ok=True)  # same bytes already stored by another model
        else:
            os.chmod(part, 0o444)
            os.replace(part, blob)
        return blob

    def entries(self) -> Iterator[Entry]:
        base = self.root / "models"
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_dir() or path.name.startswith("."):
                continue
            rel = path.relative_to(base)
            blob = path.resolve() if path.is_symlink() else None
            exists = path.exists()
            yield Entry("/".join(rel.parts[:-1]), path, blob if exists else None, path.stat().st_size if exists else 0)

    def verify_entry(self, entry: Entry) -> bool:
        """Re-hash a cached file and compare with the digest its blob is named by."""
        if not entry.ok or entry.blob is None:
            return False
        if file_digest(entry.blob) != entry.blob.name:
            return False
        self.mark_verified(entry.blob, "sha256", entry.blob.name)
        return True

    def remove_model(self, record: ModelRecord) -> tuple[list[Path], int]:
        """Remove a model's files and the blobs behind them that no other model links to; return the files removed
        and the bytes freed (a blob another model shares stays, and frees nothing)."""
        d = self.model_dir(record)
        removed = [p for p in d.rglob("*") if not p.is_dir()] if d.is_dir() else []
        blobs = {Path(os.path.realpath(p)) for p in removed}
        for p in removed:
            p.unlink()
        if d.is_dir():
            shutil.rmtree(d)
        still = {e.blob for e in self.entries() if e.blob is not None}
        store = (self.root / "blobs" / "sha256").resolve()
        freed = 0
        for blob in blobs - still:
            if blob.parent == store and blob.is_file():
                freed += blob.stat().st_size
                blob.unlink()
        return removed, freed

    def prune(self) -> tuple[list[Path], int]:
        """Delete blobs no model links to, and leftover partial files; return them and the bytes freed."""
        linked = {e.blob for e in self.entries() if e.blob is not None}
        freed = 0
        gone: list[Path] = []
        blobs = self.root / "blobs" / "sha256"
        for blob in sorted(blobs.iterdir()) if blobs.is_dir() else []:
            if blob.resolve() not in linked:
                freed += blob.stat().st_size
                blob.unlink()
                gone.append(blob)
        incomplete = self.root / "incomplete"
        for part in sorted(incomplete.iterdir()) if incomplete.is_dir() else []:
            key = part.name.split(".", 1)[0]
            try:  # a partial file whose lock is held belongs to a download in progress: leave it
                with FileLock(self.lock_path(key), timeout=0):
                    if part.exists():
                        freed += part.stat().st_size
                        part.unlink()
                        gone.append(part)
            except Timeout:
                continue
        return gone, freed
