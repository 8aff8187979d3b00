"""The mirror's rules: what is served from storage, what is asked of upstream, and what happens when upstream
is down.

- **Refs** (a branch or tag to a commit) are trusted for ``ttl`` seconds after upstream last confirmed them;
  then upstream is asked again. A commit id never needs asking: snapshots and blobs never expire.
- **A miss** is listed or fetched from upstream once (:mod:`.flight`), verified, then stored.
- **Upstream down or failing** (unreachable, 5xx): what is stored keeps being served, refs past their TTL
  included; the answer says so in ``X-Hub-Stale``. After a failure upstream is left alone for ``DOWN_PAUSE``
  seconds, so requests during an outage are not each held up by time-outs and retries. ``offline`` never asks
  upstream at all.
- **Team repos** (uploaded to this mirror, ``uploads.py``) are never asked of upstream: their refs in storage
  are the truth, read afresh on each request so replicas over one bucket agree at once.
- **Gated or private upstream repos** are served only to a client that authenticated to the mirror with a
  team token, whether the files are stored or not. The upstream token stays on the server.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from hub_client.fetch.digests import address_kind, bytes_address
from hub_client.fetch.hf_files import RepoFile, list_repo, read_small
from hub_client.fetch.http_layer import TIMED_OUT, thread_session
from hub_client.fetch.policy import Policy
from registry.errors import DownloadError, HubError, RepoAccessError, UnknownModelError, UnsafeURLError, UsageError
from registry.settings import Settings

from .flight import Flight, by_address, transfer
from .rules import MirrorRules, Refused, judge
from .storage import (
    LocalBlob,
    NotFound,
    RangeReader,
    Ref,
    ServeError,
    Snapshot,
    Storage,
    StoredFile,
    check_path,
    check_rev,
    is_commit,
)
from .tally import TRANSFERS, Tally

log = logging.getLogger("hub.serve")

#: Seconds upstream counts as down after it failed, so a request during an outage does not wait on it again.
DOWN_PAUSE = 30.0
#: Snapshots kept in memory (each a file list); past this many the memo starts again.
MEMO = 4096
#: Seconds one try of an upstream listing may wait (two tries stay under a client's 10 s read time-out).
LISTING_TIMEOUT = 4.0
#: The largest file a policy reads whole (a README, a signature, a small file a signature lists).
SMALL_READ = 16 << 20
#: Seconds a ref is trusted after upstream confirmed it (huggingface_hub's own cache trusts it until asked).
DEFAULT_TTL = 300.0


@dataclass(frozen=True)
class Resolved:
    snapshot: Snapshot
    #: Why the answer may be out of date (upstream unreachable and the ref past its TTL), or None.
    stale: str | None = None


class Mirror:
    """Storage plus an upstream Hugging Face hub (``upstream=None``, or ``offline``: storage alone)."""

    def __init__(self, storage: Storage, *, upstream: str | None = None, token: str | None = None,
                 ttl: float = DEFAULT_TTL, offline: bool = False, settings: Settings | None = None,
                 rules: MirrorRules | None = None) -> None:
        self.storage = storage
        self.upstream = upstream.rstrip("/") if upstream else None
        self.token = token
        self.ttl = ttl
        self.offline = offline or upstream is None
        self.settings = settings or Settings()
        #: A listing waits less than a client's read time-out (huggingface_hub's and ours are 10 s): at most two
        #: tries of ``LISTING_TIMEOUT`` each, so a stalled upstream is a 504 the client reads, not its own time-out.
        self.listing_settings = replace(self.settings, timeout=min(self.settings.timeout, LISTING_TIMEOUT),
                                        retries=min(self.settings.retries, 1))
        policy = Policy.of(self.settings)
        host = urlsplit(self.upstream).hostname if self.upstream else None
        if host:  # the operator named it: it may be a private address (a hub on the LAN)
            policy = Policy((*policy.hosts, host), policy.allow_http, (*policy.trusted, host))
        self.policy = policy
        self._flights: dict[tuple[str, str], Flight] = {}
        self._lock = threading.Lock()
        #: What storage said (or was told) lately, so a hot repo is answered without touching it: snapshots
        #: are immutable; a ref is as good here as in storage until its TTL runs out.
        self._snapshots: dict[tuple[str, str], Snapshot] = {}
        self._refs: dict[tuple[str, str], Ref] = {}
        #: Until when (monotonic) upstream counts as down after a failure: stored refs are served at once.
        self._down_until = 0.0
        #: The policy (``hub serve --policy``): what may be served; its verdict per snapshot, once judged.
        self.rules = rules
        self._verdicts: dict[tuple[str, str], Snapshot | Refused] = {}
        #: Hits, misses, upstream transfers and bytes, for ``/metrics``.
        self.tally = Tally(*TRANSFERS)

    def _remember(self, snap: Snapshot) -> Snapshot:
        if len(self._snapshots) >= MEMO:
            self._snapshots.clear()
        self._snapshots[(snap.repo, snap.sha)] = snap
        return snap

    def _snapshot(self, repo: str, sha: str) -> Snapshot | None:
        snap = self._snapshots.get((repo, sha))
        if snap is None and (snap := self.storage.snapshot(repo, sha)) is not None:
            self._remember(snap)
        return snap

    def stored(self, repo: str) -> Snapshot | None:
        """The repo as stored at its ``main`` ref, asking nothing upstream: what the catalogue page lists."""
        ref = self.storage.ref(repo, "main")
        return self._snapshot(repo, ref.sha) if ref is not None else None

    def cached(self, repo: str, revision: str | None, *, authed: bool) -> Resolved | None:
        """What :meth:`resolve` answers, when memory alone can say it (no storage or upstream call, so it may run
        on the event loop); None otherwise."""
        rev = revision or "main"
        if is_commit(rev):
            snap = self._snapshots.get((repo, rev))
        else:
            ref = self._refs.get((repo, rev))
            snap = self._snapshots.get((repo, ref.sha)) if ref is not None else None
            # A team ref is read from storage each time: another replica may have committed since.
            if snap is not None and ref is not None and (
                    snap.team or not (self.offline or time.time() - ref.at < self.ttl)):
                snap = None
        if snap is None or (self.rules is not None and (snap.repo, snap.sha) not in self._verdicts):
            return None  # a policy's first verdict on a snapshot may read files: not on the event loop
        return Resolved(self._gate(snap, authed))

    # Refs and snapshots.

    def resolve(self, repo: str, revision: str | None, *, authed: bool) -> Resolved:
        """The snapshot ``revision`` (default ``main``) names, from storage or upstream.

        Raises:
            NotFound: no such repo, revision (upstream says so, or offline and not stored).
            ServeError: 401/403 for a gated repo and a client without a team token, or upstream's refusal;
                502 when upstream cannot be asked and nothing is stored.
        """
        rev = check_rev(revision or "main")
        if is_commit(rev):
            snap = self._snapshot(repo, rev) or self._list(repo, rev)
            return Resolved(self._gate(snap, authed))
        ref = self.storage.ref(repo, rev)
        stored = self._snapshot(repo, ref.sha) if ref else None
        if ref and stored and (stored.team or self.offline or time.time() - ref.at < self.ttl):
            self._refs[(repo, rev)] = ref
            return Resolved(self._gate(stored, authed))
        if self.offline:
            known = repo in self.storage.repos()
            raise NotFound("RevisionNotFound" if known else "RepoNotFound",
                           f"Invalid rev id: {rev}" if known else f"Repository {repo} not found on this mirror")
        if ref and stored and time.monotonic() < self._down_until:  # failed a moment ago: do not wait on it again
            return self._stale(stored, ref, rev, authed)
        try:
            return Resolved(self._gate(self._list(repo, rev), authed))
        except ServeError as e:
            if e.status < 500:
                raise
            self._down_until = time.monotonic() + DOWN_PAUSE
            if ref is None or stored is None:
                raise
            log.warning("%s@%s: upstream failing (%s); serving the ref as stored", repo, rev, e)
            return self._stale(stored, ref, rev, authed)

    def record(self, snap: Snapshot, rev: str) -> None:
        """A commit made here (an upload): stored, then remembered, so the next request sees it."""
        self.storage.set_snapshot(snap)
        self.storage.set_ref(snap.repo, rev, snap.sha)
        self._remember(snap)
        self._refs[(snap.repo, rev)] = Ref(snap.sha, time.time())

    def _stale(self, stored: Snapshot, ref: Ref, rev: str, authed: bool) -> Resolved:
        when = dt.datetime.fromtimestamp(ref.at, dt.UTC).isoformat(timespec="seconds")
        return Resolved(self._gate(stored, authed), f"upstream unreachable; {rev} as stored at {when}")

    def _list(self, repo: str, rev: str) -> Snapshot:
        if self.offline or self.upstream is None:
            raise NotFound("RevisionNotFound", f"{repo}@{rev} is not stored on this mirror, which is offline")
        try:
            listing = list_repo(repo, rev, endpoint=self.upstream, token=self.token, policy=self.policy,
                                settings=self.listing_settings)
        except UnknownModelError:
            raise NotFound("RepoNotFound", f"Repository {repo} not found") from None
        except RepoAccessError as e:
            raise ServeError("GatedRepo" if e.reason == "gated" else "RepoNotFound",
                             f"upstream refuses {repo} to this mirror's token ({e.reason})",
                             403 if e.reason == "gated" else 401) from None
        except DownloadError as e:
            if e.status == 404:
                raise NotFound("RevisionNotFound", f"Invalid rev id: {rev}") from None
            if e.code == TIMED_OUT:
                raise ServeError(None, f"upstream {self.upstream} did not answer in time: {e}", 504) from None
            raise ServeError(None, f"upstream {self.upstream} failed: {e}", 502) from None
        except UnsafeURLError as e:  # upstream, or where it redirects, is refused by this server's URL policy
            raise ServeError(None, f"upstream {self.upstream}: {e}", 502) from None
        unsound = [f.path for f in listing.files if f.size is None or not _sound(f.path, f.etag, f.size)]
        if unsound or len(listing.files) < len(listing.names):  # never a snapshot with a file fewer than upstream's
            lacking = unsound + [n for n in listing.names if n not in {f.path for f in listing.files}]
            raise ServeError(None, f"upstream {self.upstream} gives {repo}@{rev} files this mirror cannot check "
                             f"(no content address or size): {', '.join(lacking[:5])}", 502)
        files = tuple(StoredFile(f.path, f.etag, f.size) for f in listing.files if f.size is not None)
        stamp = listing.last_modified or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        snap = self._remember(Snapshot(repo, listing.sha, stamp, files, gated=listing.gated))
        self.storage.set_snapshot(snap)
        if not is_commit(rev):
            self.storage.set_ref(repo, rev, listing.sha)
            self._refs[(repo, rev)] = Ref(listing.sha, time.time())
        return snap

    def _gate(self, snap: Snapshot, authed: bool) -> Snapshot:
        if snap.gated and not authed:
            raise ServeError("GatedRepo", f"{snap.repo} is gated or private upstream: this mirror serves it only "
                             "with a team token (HF_TOKEN=<team token>)", 401)
        if self.rules is None:
            return snap
        key = (snap.repo, snap.sha)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= MEMO:
                self._verdicts.clear()
            verdict = self._verdicts[key] = judge(self.rules, snap, lambda f: self.read_small(snap, f))
        if isinstance(verdict, Refused):
            raise verdict
        return verdict

    def read_small(self, snap: Snapshot, f: StoredFile) -> bytes:
        """A small file's bytes (a README, a signature), stored or asked of upstream, checked against its address.

        Raises:
            ServeError: too large to read whole, not stored and offline, or upstream failed or sent other bytes.
        """
        if f.size > SMALL_READ:
            raise ServeError(None, f"{f.path} ({f.size} bytes) is too large for the policy to read", 502)
        blob = self.storage.blob(snap.repo, f.etag)
        if isinstance(blob, LocalBlob):
            data = blob.path.read_bytes()
        elif blob is not None:
            data = b"".join(blob.read(0, f.size))
        elif self.offline or self.upstream is None:
            raise NotFound("EntryNotFound", f"{f.path} is not stored on this mirror, which is offline")
        else:  # as a client reads a small file, checked against its address there
            try:
                return read_small(snap.repo, snap.sha, RepoFile(f.path, f.etag, f.size, f.lfs), endpoint=self.upstream,
                                  token=self.token, policy=self.policy, settings=self.settings, limit=SMALL_READ)
            except HubError as e:
                raise ServeError(None, f"upstream failed for {f.path}: {e}", 502) from None
        if bytes_address(data, f.etag) != f.etag:
            raise ServeError(None, f"{f.path} does not hash to its address {f.etag}", 502)
        return data

    # Files.

    def open(self, snap: Snapshot, f: StoredFile) -> LocalBlob | RangeReader | Flight:
        """The stored file, or the flight bringing it (joined, or started); a flight comes attached, and the
        caller detaches it when done reading.

        Raises:
            NotFound: not stored, and offline.
        """
        blob = self.storage.blob(snap.repo, f.etag)
        if blob is not None:
            self.tally.add("hits")
            return blob
        self.tally.add("misses")
        if self.offline or self.upstream is None:
            raise NotFound("EntryNotFound", f"{f.path} is not stored on this mirror, which is offline")
        key = (snap.repo, f.etag)
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                blob = self.storage.blob(snap.repo, f.etag)  # a flight may have landed since the first look
                if blob is not None:
                    return blob
                scratch = self.storage.scratch(snap.repo) / f".hub-serve-{f.etag}.{uuid.uuid4().hex[:8]}.incoming"
                flight = self._flights[key] = Flight(scratch, f.size, etag=f.etag, file=f)
                self.tally.add("upstream_transfers")
                threading.Thread(target=self._fly, args=(flight, snap, key), daemon=True,
                                 name=f"hub-serve-{f.etag[:12]}").start()
            flight.attach()
        return flight

    def _fly(self, flight: Flight, snap: Snapshot, key: tuple[str, str]) -> None:
        f = flight.file
        assert f is not None
        url = f"{self.upstream}/{snap.repo}/resolve/{snap.sha}/{quote(f.path)}"
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            transfer(flight, url, session=thread_session(), policy=self.policy, settings=self.settings, headers=headers,
                     judge=by_address(f, url), store=lambda path, _digest: self.storage.put_blob(snap, f, path))
            self.tally.add("upstream_bytes", f.size)
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.retire()

    def upstream_transfers(self) -> int:
        """Files on their way in now."""
        with self._lock:
            return len(self._flights)


def _sound(path: str, etag: str, size: int) -> bool:
    """A listed file the mirror can keep: a path inside the repo, a content address for a name, a size."""
    try:
        check_path(path)
    except UsageError:
        return False
    return size >= 0 and address_kind(etag) is not None

