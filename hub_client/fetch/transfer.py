"""One URL into one partial file: streamed, hashed as it arrives, resumable across runs, retried.

The caller decides what the bytes must be (``pull.py``); this module gets them
with as little waste as the server allows: an interrupted transfer continues
with ``Range`` + ``If-Range`` from where it stopped (the kept part is hashed once,
never the fresh bytes twice), and starts over when the server ignores the range
or the file changed in between.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from registry.errors import DownloadError, SizeLimitError
from registry.network import unreachable
from registry.settings import Settings

from .pipeline import CHUNK, PartFile, Pipeline
from .policy import Policy

log = logging.getLogger("hub")

__all__ = ["CHUNK", "Outcome", "Partial", "Settings", "fetch"]

MAX_REDIRECTS = 10
#: The longest Retry-After we honour; a server asking for more is treated as down.
MAX_RETRY_AFTER = 120.0
#: The longest pause between two attempts, however many failed.
MAX_BACKOFF = 30.0
#: ``DownloadError.code`` of a request that got no answer in time (a gateway answers it 504, not 502).
TIMED_OUT = "Timeout"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                   urllib3.exceptions.HTTPError, http.client.HTTPException, ConnectionError, TimeoutError)


class ProgressSink(Protocol):
    """What a transfer reports; the CLI draws it, library callers may ignore it."""

    def start(self, name: str, total: int | None, done: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, name: str, total: int | None, done: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class Outcome:
    digest: str
    size: int
    #: The URL the bytes finally came from, after redirects.
    url: str
    #: Bytes kept from an earlier run and not fetched again.
    resumed_from: int
    #: Bytes that came over the wire in this call (all attempts).
    received: int
    attempts: int
    #: The most connections the file came over at once (1: a single stream).
    connections: int = 1


@dataclass(frozen=True)
class Handover:
    """Where a single stream stopped when it handed the rest of the file to parallel connections."""

    url: str
    final_url: str
    validator: str
    total: int
    #: Bytes written (and hashed by ``hasher``) from the first byte on.
    pos: int
    hasher: Any
    received: int


@dataclass(frozen=True)
class HandoverRule:
    """When a fresh single stream hands over: after ``after`` bytes, if it ran slower than ``below`` bytes/s, the
    file has at least ``min_total`` bytes and the server does ranges (``Accept-Ranges: bytes`` or a 206) with a
    strong validator. ``then`` takes the rest from there."""

    after: int
    below: float
    min_total: int
    then: Callable[[Handover], Outcome]


class _HandingOver(Exception):
    def __init__(self, state: Handover) -> None:
        super().__init__("handing over to parallel connections")
        self.state = state


class _Retry(Exception):
    def __init__(self, why: str, wait: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.wait = wait




_local = threading.local()


def thread_session() -> requests.Session:
    """One keep-alive session per thread (requests sessions are not meant to be shared across threads)."""
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class Partial:
    """``NAME.part`` plus ``NAME.part.json``: the bytes so far and what they are a prefix of."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta_path = path.with_name(path.name + ".json")

    def resumable(self, url: str) -> tuple[int, str | None]:
        """Bytes kept and their validator, when a previous run left a usable part of this URL."""
        try:
            meta = json.loads(self.meta_path.read_text())
            size = self.path.stat().st_size
        except (OSError, ValueError):
            return 0, None
        if meta.get("url") != url or not meta.get("validator"):
            return 0, None
        return size, meta["validator"]

    def remember(self, url: str, validator: str | None, total: int | None) -> None:
        tmp = self.meta_path.with_name(self.meta_path.name + ".tmp")
        tmp.write_text(json.dumps({"url": url, "validator": validator, "total": total}))
        os.replace(tmp, self.meta_path)

    def discard(self) -> None:
        """Forget the partial file and what is known of it (a parallel download's ranges too)."""
        for p in (self.path, self.meta_path, self.path.with_name(self.path.name + ".seg.json")):
            p.unlink(missing_ok=True)


def _validator(resp: requests.Response) -> str | None:
    etag = resp.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag  # If-Range needs a strong validator
    return resp.headers.get("Last-Modified")


def open_checked(session: requests.Session, url: str, headers: dict[str, str], policy: Policy,
          timeout: float) -> tuple[requests.Response, str]:
    """GET with redirects followed by hand, so every hop is checked against the policy; credentials go to the
    first host only (a hub's CDN gets a signed URL, never the user's token)."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        policy.check(current)
        resp = session.get(current, headers=headers, stream=True, allow_redirects=False, timeout=(timeout, timeout))
        if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
            resp.close()
            nxt = urljoin(current, resp.headers["Location"])
            if urlsplit(nxt).netloc != urlsplit(current).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            current = nxt
            continue
        return resp, current
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects", url=url)


class Reader:
    """``readinto`` straight from the socket, returning what has arrived rather than waiting for the whole buffer.

    A read that waits for 4 MiB (http.client's ``readinto``) leaves a slow link's progress frozen for seconds, and
    an interrupt in the middle of it loses the bytes it had already copied. So a body of known length is read with
    the socket file's ``readinto1`` (one ``recv`` into the caller's buffer: no copy), keeping http.client's count
    of what is left; a chunked body with ``read1``.
    """

    #: The most a chunked body's ``read1`` asks for at once (a copy: kept below the allocator's mmap threshold).
    CHUNKED_READ = 128 << 10

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.fp = getattr(raw, "_fp", None)  # http.client.HTTPResponse
        sock = getattr(self.fp, "fp", None)
        known = self.fp is not None and not getattr(self.fp, "chunked", True) and \
            isinstance(getattr(self.fp, "length", None), int)
        self.sock = sock if known and hasattr(sock, "readinto1") else None

    def readinto(self, view: memoryview) -> int:
        if self.sock is not None and self.fp is not None:
            left = int(self.fp.length or 0)
            n = int(self.sock.readinto1(view[:left] if len(view) > left else view) or 0) if left else 0
            self.fp.length = left - n
            if n == 0 or self.fp.length == 0:
                self.fp.readinto(bytearray(0))  # http.client's own bookkeeping: the body is done, release it
            return n
        if self.fp is not None and hasattr(self.fp, "read1"):
            block = self.fp.read1(min(len(view), self.CHUNKED_READ))
        else:
            block = self.raw.read(len(view), decode_content=False)
        view[: len(block)] = block
        return len(block)


@dataclass
class _State:
    offset: int
    validator: str | None
    hasher: Any
    received: int = 0
    final_url: str = ""
    #: Why the file comes over this one connection, for ``-v``.
    why: str = ""

    def advance(self, pos: int) -> None:
        self.received += pos - self.offset
        self.offset = pos

    def restart(self, out: PartFile) -> None:
        out.truncate(0)
        self.hasher = hashlib.sha256()
        self.offset = 0


def fetch(url: str, part: Partial, *, session: requests.Session, policy: Policy, settings: Settings,
          progress: ProgressSink | None = None, name: str = "", headers: dict[str, str] | None = None,
          handover: HandoverRule | None = None, why: str = "") -> Outcome:
    """Download ``url`` into ``part.path`` and return its sha256; the caller verifies and moves it.

    ``headers`` go with the request (an ``Authorization`` only to ``url``'s own host, never after a redirect to
    another). ``handover`` lets a fresh stream that turns out slow give the rest of the file to parallel
    connections (``segments.download`` sets it)."""
    sink = progress or NoProgress()
    part.path.parent.mkdir(parents=True, exist_ok=True)
    offset, validator = part.resumable(url)
    if offset == 0:
        part.discard()
    state = _State(offset, validator, hashlib.sha256(), final_url=url, why=why or "a resumed file" if offset else why)
    began = time.monotonic()
    if offset:
        with open(part.path, "rb") as kept:  # the kept bytes, hashed once
            while block := kept.read(CHUNK):
                state.hasher.update(block)
    attempt = 0  # failed attempts in a row without a byte of progress
    total_attempts = 0
    handed: Handover | None = None
    with PartFile(part.path, direct=settings.direct_io) as out:
        while True:
            attempt += 1
            total_attempts += 1
            received = state.received
            try:
                _attempt(url, part, out, state, session, policy, settings, sink, name, headers or {},
                         handover if total_attempts == 1 and offset == 0 else None)
                break
            except _HandingOver as h:
                handed = h.state
                break
            except _Retry as r:
                if state.received > received:
                    attempt = 1  # it moved forward: a flaky link, not a dead one; back off from the start
                if attempt > settings.retries:
                    raise DownloadError(f"giving up on {url} after {attempt} attempt(s) without progress: {r.why}",
                                        url=url) from None
                delay = r.wait if r.wait is not None else min(
                    MAX_BACKOFF, settings.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.25))
                settings.sleep(delay)
        if settings.fsync and handed is None:
            out.sync()
    if handed is not None and handover is not None:
        return handover.then(handed)
    took = max(time.monotonic() - began, 1e-6)
    log.info("%s: %.1f MB over one connection in %.1f s (%.0f MB/s): %s", name or url, state.received / 1e6, took,
             state.received / took / 1e6, state.why or "the server's answer allows no more")
    sink.finish()
    return Outcome(state.hasher.hexdigest(), state.offset, state.final_url, offset, state.received, total_attempts)


def _attempt(url: str, part: Partial, out: PartFile, st: _State, session: requests.Session, policy: Policy,
             settings: Settings, sink: ProgressSink, name: str, extra: dict[str, str],
             handover: HandoverRule | None = None) -> None:
    headers = {**extra, "Accept-Encoding": "identity", "User-Agent": "hub-client"}
    if st.offset and st.validator:
        headers["Range"] = f"bytes={st.offset}-"
        headers["If-Range"] = st.validator
    elif st.offset:
        st.restart(out)  # no validator: kept bytes cannot be matched to the server's file
    try:
        resp, st.final_url = open_checked(session, url, headers, policy, settings.timeout)
    except NETWORK_ERRORS as e:
        why = unreachable(e)
        if why is not None:  # no retry helps a name that does not resolve or a port nobody listens on
            host = urlsplit(url).hostname or url
            raise DownloadError(f"cannot reach {host}: {why} ({url}); if this machine is offline, set HUB_OFFLINE=1 "
                                "to use the cache alone, or name a reachable mirror in HUB_MIRRORS", url=url) from None
        raise _Retry(f"{type(e).__name__}: {e}") from None
    with resp:
        status = resp.status_code
        if status in RETRY_STATUS:
            wait = retry_after(resp.headers.get("Retry-After"))
            if wait is not None and wait > MAX_RETRY_AFTER:
                raise DownloadError(f"{url} asks to retry after {wait:.0f} s", url=url, status=status)
            raise _Retry(f"HTTP {status}", wait)
        if status == 416 and st.offset and resp.headers.get("Content-Range") == f"bytes */{st.offset}":
            return  # a previous run got every byte and died before the rename: nothing left to fetch
        if status == 416:
            st.restart(out)
            part.remember(url, None, None)
            raise _Retry("range not satisfiable; restarting from the first byte")
        if status not in (200, 206):
            raise DownloadError(f"{url} answered HTTP {status} {resp.reason}", url=url, status=status,
                                code=resp.headers.get("X-Error-Code"))
        if status == 200 and st.offset:
            st.restart(out)  # the range was ignored, or the file changed (If-Range failed): start over
        if status == 206 and not resp.headers.get("Content-Range", "").startswith(f"bytes {st.offset}-"):
            st.restart(out)
            part.remember(url, None, None)
            raise _Retry("the server sent another range than asked for; restarting")
        total = announced_size(resp)
        if total is not None and total > settings.max_bytes:
            part.discard()
            raise SizeLimitError(url, total, settings.max_bytes, "announced size is over the limit")
        st.validator = _validator(resp)
        part.remember(url, st.validator, total)
        sink.start(name, total, st.offset)
        reader = Reader(resp.raw)
        pipe = Pipeline(st.hasher, out, st.offset, progress=sink.advance)
        # Never read past what may be stored: the cap, and one byte beyond the announced size (to notice more).
        cap = min(settings.max_bytes, total) if total is not None else settings.max_bytes
        ranged = status == 206 or resp.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        if handover and not (ranged and total is not None and total >= handover.min_total and st.validator
                             and not st.validator.startswith("W/") and resp.headers.get("ETag") == st.validator):
            small = total is not None and total < handover.min_total
            handover = None  # no parallel without ranges, a size, and a strong ETag to keep every piece the same
            st.why = ("too small for parallel connections to pay off" if small else "the server offers no byte "
                      "ranges, size or strong ETag, which parallel connections need")
        started = time.monotonic()
        try:
            while pipe.read_from(reader, cap + 1 - st.offset):
                st.advance(pipe.pos)
                if handover is not None and st.offset >= handover.after:
                    rate = st.offset / max(time.monotonic() - started, 1e-6)
                    if rate < handover.below and total is not None and st.validator:
                        pipe.close()
                        raise _HandingOver(Handover(url, st.final_url, st.validator, total, st.offset, st.hasher,
                                                    st.received))
                    handover = None  # fast enough alone
                    st.why = f"{rate / 1e6:.0f} MB/s alone, as fast as parallel connections go here"
                if st.offset > cap:
                    pipe.close()
                    part.discard()
                    why = "the body is longer than announced" if total is not None else "the body is over the limit"
                    raise SizeLimitError(url, st.offset, cap, why)
        except NETWORK_ERRORS as e:
            pipe.close()
            st.advance(pipe.pos)  # what arrived before the cut is kept
            raise _Retry(f"connection lost after {st.offset} bytes ({type(e).__name__})") from None
        except BaseException:
            pipe.close()
            raise
        pipe.close()  # every block hashed and written before the offset is trusted
        if total is not None and st.offset < total:
            raise _Retry(f"connection closed after {st.offset} of {total} bytes")


def announced_size(resp: requests.Response) -> int | None:
    """The whole file's size as an answer states it: a 206's ``Content-Range`` total (its ``Content-Length`` is
    only the range's), a 200's ``Content-Length``; None when it does not say (``bytes 0-9/*``, chunked)."""
    if resp.status_code == 206:
        tail = resp.headers.get("Content-Range", "").rpartition("/")[2]
        return int(tail) if tail.isdigit() else None
    length = resp.headers.get("Content-Length", "")
    return int(length) if resp.status_code == 200 and length.isdigit() else None
