"""What a mirror holds of MindSpore Hub assets: a ``HUB_HOME`` (blobs, models, registry), served under the paths
the upstream hosts use, so that ``HUB_MIRRORS=<serve URL>`` works for ``hub pull``.

A request for ``/toolkits/…`` is looked up in the mirror's registry: the card whose asset URL has that path
names the cached file, whichever host the card points at. ``/blobs/sha256/<hex>`` serves a verified blob by its
digest. Only verified files are ever in the cache, and only files inside the mirror's folder are served.

With ``pull_through``, an asset the mirror lacks is fetched from the card's own host by ``hub pull``'s own
machinery (verified, resumable, one transfer per asset under its lock, so concurrent askers wait for the one
download), then served. The mirror's folder must then be this process's ``HUB_HOME`` (``hub serve`` sees to
it). Unlike a Hugging Face file, such an asset is sent once it is whole, not while it arrives.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hub_client.fetch.cache import asset_path
from registry.store.db import Registry

from .store import LocalBlob, NotFound, check_path

_HEX = re.compile(r"^[0-9a-f]{64}$")


class AssetStore:
    """The MindSpore Hub side of a mirror: ``home`` as a ``HUB_HOME`` (``HUB_HOME=DIR hub pull NAME`` fills it)."""

    def __init__(self, home: Path, *, pull_through: bool = False) -> None:
        self.home = home.resolve()
        self.pull_through = pull_through

    def registry_db(self) -> Path:
        """The mirror's own registry (``registry.db`` in its folder), else the configured one."""
        from registry import config

        own = self.home / "registry.db"
        return own if own.is_file() else config.registry_path()

    def blob(self, digest: str) -> LocalBlob:
        if not _HEX.match(digest):
            raise NotFound("EntryNotFound", f"{digest} is not a sha256")
        path = self.home / "blobs" / "sha256" / digest
        if not path.is_file():
            raise NotFound("EntryNotFound", f"no blob {digest}")
        return LocalBlob(path, path.stat().st_size)

    def at(self, url_path: str) -> LocalBlob:
        """The cached file of the asset whose URL has ``url_path`` (``/toolkits/mindcv/…``)."""
        check_path(url_path.lstrip("/"))
        from registry import config

        db = self.registry_db()
        if not db.is_file():
            raise NotFound("EntryNotFound", f"{url_path} is not stored here")
        with Registry(db, auto_sync=False) as reg:
            found = reg.assets_at(url_path)
        for record, idx in found:
            link = asset_path(record, record.assets[idx], self.home)
            blob = Path(os.path.realpath(link))
            if blob.is_file() and blob.parent == self.home / "blobs" / "sha256":
                return LocalBlob(blob, blob.stat().st_size)
        if self.pull_through and found and config.hub_home().resolve() == self.home:
            from hub_client.fetch.policy import Policy
            from hub_client.fetch.pull import pull_asset

            record, idx = found[0]
            path = Path(os.path.realpath(pull_asset(record, record.assets[idx], policy=Policy.from_env())))
            if path.is_file() and path.parent == self.home / "blobs" / "sha256":
                return LocalBlob(path, path.stat().st_size)
        raise NotFound("EntryNotFound", f"{url_path} is not stored here")
