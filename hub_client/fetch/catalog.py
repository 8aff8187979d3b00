"""``hub update``: the whole MindSpore Hub catalogue, from an archive of its card repository.

Upstream keeps every card under ``mshub_res/assets`` of mindspore-ai/hub. An archive of that repository
(``.tar.gz`` or ``.zip``, with a top folder such as ``hub-master/``), or of the assets tree alone, is fetched
with the resumable transfer (mirrors first), read member by member with every member checked (no absolute
path, no ``..``, no link or device, bounded count and size), its cards written to a new folder, and indexed in
the transaction that switches the catalogue to it. Until that commits, every command sees the previous
catalogue; a refused, failed or killed update changes nothing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from filelock import FileLock

from registry.card.cardfile import CARD_SUFFIXES, MAX_CARD_BYTES
from registry.config import DEFAULT_CATALOG_URL
from registry.errors import ArchiveError, OfflineError
from registry.settings import Settings
from registry.store.db import Registry
from registry.store.rows import SyncReport

from .policy import Policy

if TYPE_CHECKING:
    from .transfer import ProgressSink

#: More members than any card repository has; past it, the archive is refused.
MAX_MEMBERS = 200_000
#: The cards' bytes together (upstream's ~2,900 cards are a few MB).
MAX_CARDS_BYTES = 256 << 20
_DIGEST_NAME = re.compile(r"[0-9a-f]{16}")
#: Where upstream keeps the cards inside its repository.
ASSETS = ("mshub_res", "assets")


@dataclass(frozen=True)
class CatalogUpdate:
    """What ``update`` did: the archive it read, the cards it found, and the registry's sync report."""

    url: str
    sha256: str
    cards: int
    folder: Path
    report: SyncReport


def update(url: str | None = None, *, settings: Settings, progress: ProgressSink | None = None) -> CatalogUpdate:
    """Fetch the catalogue archive, check it, and make its cards the registry's catalogue.

    Args:
        url: the archive (``.tar.gz``, ``.tgz``, ``.zip``); default ``HUB_CATALOG_URL``, else upstream's.
        settings: the home the catalogue goes to, the mirrors, time-outs and policy.
        progress: a progress sink for the download (the CLI's bar).

    Returns:
        A :class:`CatalogUpdate`.

    Raises:
        ArchiveError: the archive is unreadable, truncated, or has a member that is refused.
        OfflineError: offline mode forbids the download.
        UnsafeURLError, DownloadError: the URL is refused, or no source (mirror or origin) delivered it.
    """
    from .transfer import Partial, fetch_first

    url = url or settings.catalog_url
    if settings.offline:
        raise OfflineError(f"the catalogue archive {url}")
    policy = _policy(url, settings)
    root = settings.catalog_dir
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / ".update.lock", timeout=3600):
        for stale in root.glob(".staging-*"):  # left by an update that was killed
            shutil.rmtree(stale, ignore_errors=True)
        part = Partial(root / ".incomplete" / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.part")
        outcome = fetch_first(url, part, settings=settings, policy=policy, progress=progress,
                              name="catalogue archive")
        folder = root / outcome.digest[:16]
        try:
            if not (folder / "assets").is_dir():
                staging = root / f".staging-{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                try:
                    extract_cards(part.path, staging, source=url)
                    shutil.rmtree(folder, ignore_errors=True)
                    os.replace(staging, folder)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
            cards = sum(1 for p in (folder / "assets").rglob("*") if p.suffix.lower() in CARD_SUFFIXES)
            about = {"url": url, "sha256": outcome.digest, "cards": cards,
                     "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            with Registry(settings=settings) as reg:
                report = reg.set_catalog(folder / "assets", about)
        finally:
            part.discard()
        for old in root.iterdir():  # earlier catalogues, now that nothing points at them
            if old.is_dir() and old != folder and _DIGEST_NAME.fullmatch(old.name):
                shutil.rmtree(old, ignore_errors=True)
    return CatalogUpdate(url, outcome.digest, cards, folder, report)


def _policy(url: str, settings: Settings) -> Policy:
    """The download policy with the catalogue's host allowed; a host the user named may be a LAN one."""
    policy = Policy.of(settings)
    host = (urlsplit(url).hostname or "").lower()
    extra = [host] + (["codeload.github.com"] if url == DEFAULT_CATALOG_URL else [])
    named = url != DEFAULT_CATALOG_URL
    hosts = policy.hosts + tuple(h for h in extra if h and h not in policy.hosts)
    trusted = policy.trusted + ((host,) if named and host and host not in policy.trusted else ())
    return replace(policy, hosts=hosts, trusted=trusted)


def extract_cards(archive: Path, dest: Path, *, source: str = "") -> int:
    """Write the card files of the archive's assets tree under ``dest/assets``; return how many.

    Every member is checked before anything is kept: a refused one is an ``ArchiveError`` and ``dest`` is
    left for the caller to delete. The assets tree is ``…/mshub_res/assets/`` when the archive is the whole
    repository, else the archive itself (or its ``assets/`` folder).
    """
    source = source or str(archive)
    raw = dest / "raw"
    names: list[PurePosixPath] = []
    total = 0
    try:
        for name, size, read in _members(archive, source):
            names.append(name)
            if name.suffix.lower() not in CARD_SUFFIXES:
                continue
            if size > MAX_CARD_BYTES:
                raise ArchiveError(source, f"{name} is {size} bytes, more than a card can be")
            total += size
            if total > MAX_CARDS_BYTES:
                raise ArchiveError(source, f"its cards exceed {MAX_CARDS_BYTES} bytes")
            data = read(MAX_CARD_BYTES + 1)
            if len(data) != size:
                raise ArchiveError(source, f"{name} holds {len(data)} bytes, not the {size} it declares")
            target = raw.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    except _BROKEN as e:
        raise ArchiveError(source, f"it is not a readable .tar.gz or .zip archive ({type(e).__name__}: {e})"
                           ) from None
    prefix = _assets_prefix(names)
    tree = raw.joinpath(*prefix.parts)
    assets = dest / "assets"
    if tree.is_dir():
        os.replace(tree, assets)
    else:
        assets.mkdir(parents=True)
    shutil.rmtree(raw, ignore_errors=True)
    cards = sum(1 for p in assets.rglob("*") if p.is_file())
    if cards == 0:
        raise ArchiveError(source, "it holds no card (no .md file under mshub_res/assets, or at all)")
    return cards


def _assets_prefix(names: list[PurePosixPath]) -> PurePosixPath:
    for name in names:
        parts = name.parts
        for i in range(len(parts) - 1):
            if parts[i : i + 2] == ASSETS:
                return PurePosixPath(*parts[: i + 2])
    cards = [n for n in names if n.suffix.lower() in CARD_SUFFIXES]
    if cards and all(n.parts[0] == "assets" and len(n.parts) > 1 for n in cards):
        return PurePosixPath("assets")
    return PurePosixPath()


Member = tuple[PurePosixPath, int, "Reader"]
#: What a damaged archive raises while it is read (a truncated gzip, a bad CRC, a broken header).
_BROKEN = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


class Reader:
    """Reads one member's bytes, at most ``limit``."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.stream = stream

    def __call__(self, limit: int) -> bytes:
        if self.stream is None:
            return b""
        with self.stream as f:
            return f.read(limit)


def _members(archive: Path, source: str) -> Iterator[Member]:
    """Each regular file of a tar (any compression) or zip archive, after the checks every member passes."""
    if zipfile.is_zipfile(archive):
        yield from _zip_members(archive, source)
    else:
        yield from _tar_members(archive, source)


def _checked(raw: str, source: str, count: int) -> PurePosixPath:
    if count > MAX_MEMBERS:
        raise ArchiveError(source, f"it has more than {MAX_MEMBERS} members")
    if "\x00" in raw or "\\" in raw:
        raise ArchiveError(source, f"member {raw!r} has a character no path may have")
    name = PurePosixPath(raw)
    if name.is_absolute() or ".." in name.parts:
        raise ArchiveError(source, f"member {raw!r} would land outside the folder it is unpacked into")
    return name


def _tar_members(archive: Path, source: str) -> Iterator[Member]:
    with tarfile.open(archive, mode="r:*") as tar:
        for count, m in enumerate(tar, 1):
            name = _checked(m.name, source, count)
            if m.issym() or m.islnk():
                raise ArchiveError(source, f"member {m.name!r} is a link; a catalogue has only files and folders")
            if m.isdir() or m.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                continue
            if not m.isfile():
                raise ArchiveError(source, f"member {m.name!r} is a device or pipe, not a file")
            yield name, m.size, Reader(tar.extractfile(m))


def _zip_members(archive: Path, source: str) -> Iterator[Member]:
    with zipfile.ZipFile(archive) as zf:
        for count, info in enumerate(zf.infolist(), 1):
            name = _checked(info.filename, source, count)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(source, f"member {info.filename!r} is a link; a catalogue has only files and "
                                   "folders")
            if info.is_dir():
                continue
            yield name, info.file_size, Reader(zf.open(info))
