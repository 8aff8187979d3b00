"""``build_mirror``: a team mirror assembled from one settings object, as ``hub serve`` and the tests run it.

The storage (a folder or a bucket), its MindSpore Hub side and the Hugging Face side are put together here
once, with the file that counts fetches for the catalogue page. The server's own settings are the user's with
its storage folder as the home: what it pulls through goes there, from ``--upstream-ms`` or the cards' own
hosts, never from the user's ``HUB_MIRRORS`` (which may well name this very server). Nothing is read from or
written to the process's environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.settings import Settings

from .assets import AssetStore
from .fetches import Fetches
from .mirror import Mirror
from .rules import MirrorRules
from .s3 import BucketAssets
from .storage import LocalStorage, Storage


@dataclass(frozen=True)
class Built:
    """A mirror ready to run: the ASGI ``app``, and ``where`` it keeps what it serves (a folder or an s3 URL)."""

    app: Any
    where: str
    mirror: Mirror
    assets: AssetStore | BucketAssets


def build_mirror(settings: Settings, *, storage: str | None = None, upstream: str | None = None,
                 upstreams_ms: tuple[str, ...] = (), offline: bool = False, max_bytes: int | None = None,
                 s3: Any = None, audit_log: Path | None = None, rules: MirrorRules | None = None) -> Built:
    """The mirror ``hub serve`` runs: storage (a folder, default ``home/serve``, or ``s3://bucket/prefix``), the
    MindSpore Hub assets it holds or pulls through, and the Hugging Face repos of ``upstream`` (default
    ``settings.hf_endpoint``), guarded by ``settings.serve_tokens`` and taking uploads with
    ``settings.serve_write_tokens``. ``s3`` is a boto3 client to use instead of one made from the settings.
    ``audit_log`` is a file each request is appended to, as a JSON line; ``rules`` the policy of what may be
    served (``rules.py``).

    Raises:
        OSError: the storage folder cannot be made.
    """
    from .routes import create_app

    upstream = (upstream or settings.hf_endpoint).rstrip("/")
    registry = settings.registry.resolve()
    token = settings.upstream_token
    store: Storage
    assets: AssetStore | BucketAssets
    if storage and storage.startswith("s3://"):
        from .s3 import S3Storage

        scratch = (settings.home / "serve-scratch").resolve()
        bucket = S3Storage(storage, scratch, s3=s3, settings=settings)
        # MindSpore Hub assets it lacks are pulled into a scratch home, then uploaded to the bucket.
        local = AssetStore(scratch / "assets", pull_through=not offline, registry=registry, upstreams=upstreams_ms,
                           token=token, settings=settings, rules=rules)
        store, assets, where = bucket, BucketAssets(bucket, local), storage
        counts = scratch / "fetches.sqlite"
    else:
        root = (Path(storage) if storage else settings.home / "serve").expanduser().resolve()
        (root / "hf").mkdir(parents=True, exist_ok=True)
        folder = LocalStorage(root / "hf", max_bytes=max_bytes, asset_blobs=root / "blobs" / "sha256")
        folder.sweep()  # what a killed server was fetching is fetched again when asked
        in_folder = AssetStore(root, pull_through=not offline, registry=registry, upstreams=upstreams_ms, token=token,
                               after_store=folder.added, settings=settings, rules=rules)
        in_folder.sweep()
        store, assets, where = folder, in_folder, str(root)
        counts = root / "fetches.sqlite"
    mirror = Mirror(store, upstream=upstream, token=token, ttl=settings.serve_ttl, offline=offline,
                    settings=settings, rules=rules)
    app = create_app(mirror, tokens=settings.serve_tokens, assets=assets, write_tokens=settings.serve_write_tokens,
                     audit_log=audit_log, fetches=Fetches(counts))
    return Built(app, where, mirror, assets)
