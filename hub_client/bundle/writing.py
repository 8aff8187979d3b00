"""``hub bundle export``: models as one tar that travels to an air-gapped machine, every file verified first.

Each model is pulled (so every file is in the cache and checked against its card, and a trust rule's
signature holds), then written once by digest beside its card and a manifest of digests. The tar is written to
a temporary file beside the target and renamed into place, so a failure leaves no half bundle.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from hub_client.fetch.cache import Cache
from hub_client.fetch.pull import pull_record
from hub_client.fetch.remote import keep_pulled, locate
from hub_client.fetch.signed import cached_files
from registry.errors import OutputWriteError, UsageError
from registry.record import Dialect, ModelRecord
from registry.settings import Settings

from .manifest import MANIFEST, BundleFile, BundleManifest, BundleModel, blob_member, card_member


@dataclass(frozen=True)
class Exported:
    path: Path
    manifest: BundleManifest
    bytes: int


def _model(record: ModelRecord, index: int, settings: Settings) -> tuple[BundleModel, dict[str, Path], str | None]:
    """The manifest entry of a pulled model, its files by digest, and its card's text (MindSpore Hub)."""
    cache = Cache(settings.home)
    files = cached_files(record, settings)
    entries, blobs = [], {}
    for name, path in sorted(files.items()):
        sha = cache.sha256_of(path)
        address = Path(os.path.realpath(path)).name if record.dialect is Dialect.HUGGINGFACE else None
        entries.append(BundleFile(name=name, sha256=sha, size=path.stat().st_size, address=address))
        blobs[sha] = path
    card = None
    revision = None
    if record.dialect is Dialect.MINDSPORE_HUB:
        if not record.card_path or not Path(record.card_path).is_file():
            raise UsageError(f"{record.name}: its card file is not on this machine, so it cannot travel with it")
        card = Path(record.card_path).read_text(encoding="utf-8")
    else:
        from hub_client.fetch.hf_files import snapshot

        snap = snapshot(record, settings=settings)
        revision = snap.name if snap is not None else record.revision
    entry = BundleModel(name=record.name, uid=record.uid or record.name, dialect=record.dialect.value,
                        card=card_member(index) if card is not None else None, revision=revision,
                        refs=[r for r in record.refs if r != "HEAD"] or ["main"], endpoint=settings.hf_endpoint,
                        files=entries)
    return entry, blobs, card


def export_bundle(names: list[str], out: Path, *, settings: Settings) -> Exported:
    """Pull ``names`` and write them, with their cards and digests, into the tar ``out``.

    Raises:
        UsageError: no names, or a card that is not on this machine.
        OutputWriteError: ``out`` cannot be written.
        and what a pull raises (the model unknown, a download or signature that fails).
    """
    if not names:
        raise UsageError("name at least one model to bundle")
    models, blobs, cards = [], {}, {}
    for i, name in enumerate(names):
        found = locate(name, settings=settings)
        paths = pull_record(found.record, listed=found.listed, settings=settings)
        keep_pulled(found, paths, settings=settings)
        entry, files, card = _model(found.record, i, settings)
        models.append(entry)
        blobs.update(files)
        if card is not None and entry.card is not None:
            cards[entry.card] = card.encode("utf-8")
    manifest = BundleManifest(format="hub-bundle/1", created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                              models=models)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, MANIFEST, manifest.model_dump_json(indent=1).encode())
            for member, data in cards.items():
                _add(tar, member, data)
            for sha, path in sorted(blobs.items()):
                info = tarfile.TarInfo(blob_member(sha))
                info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
                with open(path, "rb") as f:
                    tar.addfile(info, f)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputWriteError(out, e) from None
    return Exported(out, manifest, out.stat().st_size)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))
