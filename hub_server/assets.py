"""What a mirror holds of MindSpore Hub assets: a ``HUB_HOME`` (blobs, models, registry), served under the paths
the upstream hosts use, so that ``HUB_MIRRORS=<serve URL>`` works for ``hub pull``.

A request for ``/toolkits/…`` is looked up in the mirror's registry: the card whose asset URL has that path
names the cached file, whichever host the card points at. ``/blobs/sha256/<hex>`` serves a verified blob by its
digest. Only verified files are ever in the cache, and only files inside the mirror's folder are served.

With ``pull_through``, an asset the mirror lacks is fetched from the card's own host in a :class:`Flight`, as a
Hugging Face file is: one upstream transfer however many clients ask, streamed to each of them while it
arrives, hashed in the same pass and judged by the card's sha256 (a full digest, or the 8-hex prefix MindCV
cards give) before its last byte goes out. It is then stored as ``hub pull`` stores it (the blob by its sha256,
the model's link, the verified mark), under the asset's own lock, so a ``hub pull`` into the same folder waits
for it rather than fetching it again. A ``HEAD`` starts nothing: the card's size, or upstream's answer to a
one-byte range, says it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from hub_client.fetch.cache import Cache, asset_key, link, safe_component
from hub_client.fetch.digests import is_sha256
from registry.errors import HubError, SignatureError
from registry.record import AssetRecord, ModelRecord
from registry.settings import Settings
from registry.store.db import Registry

from .flight import Flight, Judge, transfer
from .rules import MirrorRules, Refused
from .storage import LocalBlob, NotFound, ServeError, check_path, sweep_scratch
from .tally import TRANSFERS, Tally

#: Called with the stored blob and its sha256 once an asset is verified and stored (a bucket mirror uploads it).
OnStored = Callable[[Path, str], None]


@dataclass(frozen=True)
class Remote:
    """An asset the mirror does not hold yet, as upstream has it (what a ``HEAD`` is answered with)."""

    size: int
    #: Its sha256 when the card gives all of it: what the file will be stored as.
    etag: str | None


class AssetStore:
    """The MindSpore Hub side of a mirror: ``home`` as a hub home (``HUB_HOME=DIR hub pull NAME`` fills it).

    ``settings`` give the time-outs, retries and URL policy of what it fetches (default: ``Settings()``); its
    home is ``home``, its registry ``registry`` (else the settings'), and it asks ``upstreams`` or the cards' own
    hosts, never the settings' mirrors (which may well name this very server).
    """

    def __init__(self, home: Path, *, pull_through: bool = False,
                 after_store: Callable[[Path], None] | None = None, registry: Path | None = None,
                 upstreams: Sequence[str] = (), token: str | None = None, settings: Settings | None = None,
                 rules: MirrorRules | None = None) -> None:
        self.home = home.resolve()
        #: Where assets are fetched from, in order (``hub serve --upstream-ms``: another mirror, so mirrors chain);
        #: none: each card's own host. ``token`` goes to these hosts only, never to a card's own host.
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.token = token
        given = settings or Settings()
        #: The user's registry (the one ``hub list`` shows) says which card an asset path belongs to.
        self.settings = given.but(home=self.home, mirrors=tuple(self.upstreams), registry_file=registry or
                                  given.registry, mirror_token=token, offline=given.offline or not pull_through)
        self.cache = Cache(self.home)
        self.pull_through = pull_through
        #: Told of each blob pulled through and stored (the size cap's eviction, ``LocalStorage.added``).
        self.after_store = after_store
        self._flights: dict[str, Flight] = {}
        self._lock = threading.Lock()
        #: Hits, misses, upstream transfers and bytes, for ``/metrics``.
        self.tally = Tally(*TRANSFERS)
        #: The mirror's policy: which cards' assets may be served.
        self.rules = rules

    def in_flight(self) -> int:
        """Assets on their way in now."""
        with self._lock:
            return len(self._flights)

    def registry_db(self) -> Path:
        """The registry that says which card a path belongs to: the user's (given, else the configured one);
        the mirror's own ``registry.db`` (``HUB_HOME=DIR hub pull NAME`` leaves one) when that is all there is."""
        found = self.registry_dbs()
        return found[0] if found else self.settings.registry

    def registry_dbs(self) -> list[Path]:
        """Every registry an asset path is looked up in, in order: the user's, then the mirror's own."""
        dbs = [self.settings.registry, self.home / "registry.db"]
        return [db for i, db in enumerate(dbs) if db.is_file() and db not in dbs[:i]]

    def sources(self, url: str) -> list[str]:
        """The URLs an asset is fetched from: under each upstream mirror, else the card's own."""
        if not self.upstreams:
            return [url]
        parts = urlsplit(url)
        tail = parts.path + (f"?{parts.query}" if parts.query else "")
        return [u + tail for u in self.upstreams]

    def upstream_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.upstreams and self.token else {}

    def blob(self, digest: str) -> LocalBlob:
        if not is_sha256(digest):
            raise NotFound("EntryNotFound", f"{digest} is not a sha256")
        path = self.home / "blobs" / "sha256" / digest
        if not path.is_file():
            raise NotFound("EntryNotFound", f"no blob {digest}")
        return LocalBlob(path, path.stat().st_size)

    def sweep(self, older_than: float = 3600.0) -> list[Path]:
        """Remove what a killed server was fetching (it is fetched again when asked)."""
        return sweep_scratch((self.home / "incomplete").glob(".hub-serve-*.incoming"), older_than)

    def at(self, url_path: str, *, fetch: bool = True, on_stored: OnStored | None = None
           ) -> LocalBlob | Flight | Remote:
        """The asset whose URL has ``url_path`` (``/toolkits/mindcv/…``): its cached file; else, pulling through,
        the flight bringing it (joined or started, attached: the caller detaches it), or with ``fetch=False``
        what upstream has, starting nothing.

        Raises:
            NotFound: no card names the path, or it is not stored and this mirror does not pull through.
            ServeError: 502, upstream could not say what it has (``fetch=False``).
        """
        check_path(url_path.lstrip("/"))
        found = []
        for db in self.registry_dbs():
            with Registry(db, auto_sync=False, settings=self.settings) as reg:
                found = reg.assets_at(url_path)
            if found:
                break
        if self.rules is not None and found:
            judged = [(self._admit(r, i), i) for r, i in found]
            admitted = [(r, i) for r, i in judged if isinstance(r, ModelRecord)]
            if not admitted:
                first = judged[0][0]
                assert isinstance(first, Refused)
                raise first
            found = admitted
        for record, idx in found:
            stored = self._stored(record, record.assets[idx])
            if stored is not None:
                if fetch:
                    self.tally.add("hits")
                return stored
        usable = [(r, i) for r, i in found if r.assets[i].url and r.assets[i].sha256 and
                  r.assets[i].sha256_kind != "none"]
        if not (self.pull_through and usable):
            raise NotFound("EntryNotFound", f"{url_path} is not stored here")
        record, idx = usable[0]
        asset = record.assets[idx]
        if not fetch:
            return self._remote(asset)
        self.tally.add("misses")
        return self._flight(record, asset, on_stored)

    def _admit(self, record: ModelRecord, idx: int) -> ModelRecord | Refused:
        """The card as the policy lets its asset ``idx`` be served (a signed asset's sha256 made the signature's
        full digest, which a transfer is then checked against), or why it keeps it out."""
        from hub_client.fetch.policy import Policy
        from hub_client.fetch.signed import signed_assets
        from hub_client.provenance import names_of

        assert self.rules is not None
        names = names_of(record)
        asset = record.assets[idx]
        try:
            self.rules.check_model(names, record.license)
            if self.rules.signatures.rule_for(record) is not None:
                [asset] = signed_assets(record, [asset], settings=self.settings, policy=Policy.of(self.settings),
                                        trust=self.rules.signatures)
        except Refused as e:
            return e
        except SignatureError as e:
            return self.rules.refuse(f"signatures {e.rule.rsplit('#', 1)[-1] if e.rule else ''}", e.problem)
        refused = self.rules.refused_format(names, asset.filename)
        if refused is not None:
            return refused
        return record.model_copy(update={"assets": [*record.assets[:idx], asset, *record.assets[idx + 1:]]})

    def _stored(self, record: ModelRecord, asset: AssetRecord) -> LocalBlob | None:
        blob = Path(os.path.realpath(self.cache.asset_path(record, asset)))
        if blob.is_file() and blob.parent == self.home / "blobs" / "sha256":
            try:
                os.utime(blob)  # a read counts as a use for the size cap (least recently used first)
            except OSError:
                pass  # a blob someone else owns: served all the same
            return LocalBlob(blob, blob.stat().st_size)
        return None

    def stored_assets(self, files: Iterable[tuple[str, str, str, str]]) -> dict[str, int | None]:
        """Which of ``files`` (URL path, dialect, uid, file name) are stored here, by URL path, with their sizes;
        looked up without counting as a use (what a page shows)."""
        out: dict[str, int | None] = {}
        blobs = self.home / "blobs" / "sha256"
        for url_path, dialect, uid, filename in files:
            blob = Path(os.path.realpath(self.cache.folder(dialect, uid) / safe_component(filename)))
            if blob.parent == blobs:
                with contextlib.suppress(OSError):
                    out[url_path] = blob.stat().st_size
        return out

    def _remote(self, asset: AssetRecord) -> Remote:
        etag = asset.sha256 if asset.sha256_kind == "full" else None
        with self._lock:
            flight = self._flights.get(asset_key(asset.url or "", asset.sha256))
        if flight is not None and flight.size is not None:
            return Remote(flight.size, etag)
        if asset.size is not None:
            return Remote(asset.size, etag)
        return Remote(_upstream_size(self.sources(asset.url or ""), self.upstream_headers(), self.settings), etag)

    def _flight(self, record: ModelRecord, asset: AssetRecord, on_stored: OnStored | None
                ) -> LocalBlob | Flight:
        assert asset.url is not None
        key = asset_key(asset.url, asset.sha256)
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                lock = FileLock(self.cache.lock_path(key), thread_local=False)
                if _took(lock):
                    stored = self._stored(record, asset)  # it may have landed since the first look
                    if stored is not None:
                        lock.release()
                        return stored
                    scratch = self.home / "incomplete" / f".hub-serve-{key}.{uuid.uuid4().hex[:8]}.incoming"
                    scratch.parent.mkdir(parents=True, exist_ok=True)
                    flight = self._flights[key] = Flight(
                        scratch, asset.size, etag=asset.sha256 if asset.sha256_kind == "full" else None)
                    self.tally.add("upstream_transfers")
                    threading.Thread(target=self._fly, args=(flight, record, asset, key, lock, on_stored),
                                     daemon=True, name=f"hub-serve-{key[:12]}").start()
            if flight is not None:
                flight.attach()
                return flight
        # Another process (a hub pull into this folder) holds the asset's lock: wait for its download.
        return self._pulled(record, asset)

    def _pulled(self, record: ModelRecord, asset: AssetRecord) -> LocalBlob:
        from hub_client.fetch.policy import Policy
        from hub_client.fetch.pull import pull_asset

        path = Path(os.path.realpath(pull_asset(record, asset, settings=self.settings,
                                                policy=Policy.of(self.settings))))
        if path.is_file() and path.parent == self.home / "blobs" / "sha256":
            return LocalBlob(path, path.stat().st_size)
        raise NotFound("EntryNotFound", f"{asset.filename} is not stored here")

    def _fly(self, flight: Flight, record: ModelRecord, asset: AssetRecord, key: str, lock: FileLock,
             on_stored: OnStored | None) -> None:
        import hashlib

        from hub_client.fetch.http_layer import thread_session
        from hub_client.fetch.policy import Policy
        from hub_client.fetch.pull import check_digest

        url = asset.url or ""
        urls = self.sources(url)

        def store(scratch: Path, digest: str) -> None:
            blob = self.cache.store_blob(scratch, digest)
            self.cache.mark_verified(blob, "sha256", digest)
            link(self.cache.asset_path(record, asset), blob)
            if on_stored is not None:
                on_stored(blob, digest)
            elif self.after_store is not None:
                self.after_store(blob)

        def check(digest: str) -> None:
            check_digest(digest, asset, url)

        try:
            transfer(flight, urls, session=thread_session(), policy=Policy.of(self.settings), settings=self.settings,
                     headers=self.upstream_headers(), judge=Judge(hashlib.sha256(), check), store=store)
            self.tally.add("upstream_bytes", flight.size or 0)
        finally:
            with self._lock:
                self._flights.pop(key, None)
            lock.release()
            flight.retire()


def _took(lock: FileLock) -> bool:
    """Whether ``lock`` was free and is now held (by this process, whichever thread releases it)."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True


def _upstream_size(urls: list[str], headers: dict[str, str], settings: Settings) -> int:
    """The size of the file, from the first host's answer to a one-byte range (every hop policy-checked)."""
    import requests

    from hub_client.fetch.http_layer import announced_size, open_range, thread_session
    from hub_client.fetch.policy import Policy

    why = ""
    for url in urls:
        try:
            answer = open_range(thread_session(), url, policy=Policy.of(settings), timeout=settings.timeout, end=1,
                                headers=headers)
        except (requests.RequestException, OSError, HubError) as e:
            why = f"the asset's host could not be asked its size: {e}"
            continue
        with answer:
            resp = answer.resp
            size = announced_size(resp)
        if size is not None:
            return size
        why = f"the asset's host answered HTTP {resp.status_code} without a size"
    raise ServeError(None, why, 502)
