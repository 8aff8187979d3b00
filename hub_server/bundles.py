"""A bundle imported into a mirror's storage (``hub bundle import FILE --into DIR|s3://...``): checked whole as a
client checks it, then its Hugging Face repos written through the storage (a folder or a bucket) as the mirror
stores what it pulls, and its MindSpore Hub assets as the mirror keeps its own: in a folder as a HUB_HOME (cards
indexed in its registry), in a bucket under the path of each asset's URL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub_client.bundle import Checked, Staged, check_models, place, read_bundle, staging_folder
from hub_client.bundle.placing import place_models
from registry.settings import Settings

from .storage import LocalStorage, Snapshot, Storage, StoredFile, check_path


def import_into(path: Path, into: str, *, settings: Settings, s3: Any = None) -> list[Checked]:
    """Import the bundle ``path`` into the mirror storage ``into`` (a folder, or ``s3://bucket/prefix``).

    Raises:
        ArchiveError: a check fails; nothing was changed.
    """
    storage: Storage
    bucket = None
    if into.startswith("s3://"):
        from .s3 import BucketAssets, S3Storage

        home = settings
        storage = S3Storage(into, settings.home / "serve-scratch", s3=s3, settings=settings)
        bucket = BucketAssets(storage, None)
    else:
        root = Path(into).expanduser().resolve()
        home = settings.but(home=root, registry_file=root / "registry.db")
        storage = LocalStorage(root / "hf", asset_blobs=root / "blobs" / "sha256")
    staging = staging_folder(home)
    try:
        staged = read_bundle(path, staging)
        checked = check_models(staged, home)
        for c in checked:
            if c.card_path is None:
                _store_repo(c, staged, storage, staging, staged.manifest.created)
            elif bucket is not None:  # an asset in a bucket is found by its URL's path, as the mirror stores it
                for asset in c.record.assets:
                    digest = next(f.sha256 for f in c.entry.files if f.name == asset.filename)
                    copy = staging / f".{digest}.put"
                    place(staged.blobs[digest], copy)
                    bucket.put(check_path(urlsplit(asset.url or "").path.lstrip("/")).as_posix(), copy, digest)
        if bucket is None:
            place_models(checked, staged, home, repos=False)
        return checked
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _store_repo(c: Checked, staged: Staged, storage: Storage, staging: Path, when: str) -> None:
    """A repo as the mirror stores what it pulls: each blob (a copy: storing moves it) with its place in the
    snapshot, the snapshot, its refs. Storing again what is stored writes the same bytes under the same names."""
    m = c.entry
    sha = m.revision or ""
    files = tuple(StoredFile(f.name, f.address or f.sha256, f.size) for f in m.files)
    snap = Snapshot(m.uid, sha, when, files)
    for f, stored in zip(m.files, files, strict=True):
        copy = staging / f".{stored.etag}.put"
        place(staged.blobs[f.sha256], copy)
        storage.put_blob(snap, stored, copy)
    storage.set_snapshot(snap)
    for ref in m.refs or ["main"]:
        storage.set_ref(m.uid, ref, sha)
