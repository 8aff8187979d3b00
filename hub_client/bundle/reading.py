"""A bundle read into a staging folder, every member checked as it streams: its name, its kind, its size and
digest against the manifest. Nothing here touches the cache; ``placing.py`` does, once everything holds."""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from registry.errors import ArchiveError

from .manifest import MANIFEST, MAX_CARD, MAX_MANIFEST, BundleManifest, member_kind

CHUNK = 1 << 20

Refuse = Callable[[str], ArchiveError]


@dataclass(frozen=True)
class Staged:
    """A bundle whose members all checked out: the manifest, the cards' text by member name, and each blob's
    staged file by sha256."""

    source: str
    manifest: BundleManifest
    cards: dict[str, str]
    blobs: dict[str, Path]

    def refuse(self, problem: str) -> ArchiveError:
        return ArchiveError(self.source, problem, kind="bundle")


def read_bundle(path: Path, staging: Path) -> Staged:
    """Stream the tar ``path`` into ``staging`` (a fresh folder on the cache's file system).

    Raises:
        ArchiveError: unreadable or truncated; a first member other than the manifest, or one that breaks its
            format; a member of any other name or kind (a link, a folder, ``..``); a blob whose bytes do not hash
            to its name or whose size is not the manifest's; a file of the manifest with no blob, a card missing.
    """
    source = str(path)

    def refuse(problem: str) -> ArchiveError:
        return ArchiveError(source, problem, kind="bundle")

    staging.mkdir(parents=True, exist_ok=True)
    manifest: BundleManifest | None = None
    sizes: dict[str, int] = {}
    cards: dict[str, str] = {}
    blobs: dict[str, Path] = {}
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                if manifest is None:
                    manifest = _manifest(tar, member, refuse)
                    sizes = {f.sha256: f.size for m in manifest.models for f in m.files}
                    continue
                kind = member_kind(member.name)
                if kind is None or not member.isfile():
                    raise refuse(f"it holds {member.name!r}, which is not a card or a blob of the bundle format")
                what, key = kind
                reader = tar.extractfile(member)
                assert reader is not None
                if what == "card":
                    if member.size > MAX_CARD:
                        raise refuse(f"{member.name} is {member.size} bytes, more than a card")
                    cards[member.name] = reader.read().decode("utf-8", "replace")
                    continue
                if key not in sizes:
                    raise refuse(f"{member.name} is in no model of its manifest")
                if member.size != sizes[key]:
                    raise refuse(f"{member.name} has {member.size} bytes, the manifest says {sizes[key]}")
                blobs[key] = _stage(reader, key, staging, refuse)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise refuse(f"it cannot be read whole ({type(e).__name__}: {e}); a truncated or damaged file") from None
    if manifest is None:
        raise refuse("it is empty")
    missing = sorted(f"{m.name}: {f.name}" for m in manifest.models for f in m.files if f.sha256 not in blobs)
    if missing:
        raise refuse(f"files of its manifest are not in it: {', '.join(missing[:5])}")
    lacking = [m.name for m in manifest.models if m.card is not None and m.card not in cards]
    if lacking:
        raise refuse(f"the cards of {', '.join(lacking)} are not in it")
    return Staged(source, manifest, cards, blobs)


def _manifest(tar: tarfile.TarFile, member: tarfile.TarInfo, refuse: Refuse) -> BundleManifest:
    if member.name != MANIFEST or not member.isfile():
        raise refuse(f"its first member is {member.name!r}, not {MANIFEST}: not a hub bundle")
    if member.size > MAX_MANIFEST:
        raise refuse(f"its manifest is {member.size} bytes, more than {MAX_MANIFEST}")
    reader = tar.extractfile(member)
    assert reader is not None
    try:
        return BundleManifest.model_validate_json(reader.read())
    except ValidationError as e:
        first = e.errors()[0]
        raise refuse(f"its manifest breaks the format at {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
                     ) from None


def _stage(reader: IO[bytes], digest: str, staging: Path, refuse: Refuse) -> Path:
    """A blob's bytes into ``staging``, hashed as they stream; refused unless they hash to its name."""
    out = staging / digest
    h = hashlib.sha256()
    with open(out, "wb") as f:
        while block := reader.read(CHUNK):
            h.update(block)
            f.write(block)
    if h.hexdigest() != digest:
        raise refuse(f"blobs/{digest} holds other bytes (sha256 {h.hexdigest()})")
    return out
