"""One URL into one partial file: streamed, hashed as it arrives, resumable across runs, retried.

The caller decides what the bytes must be (``pull.py``); this module gets them
with as little waste as the server allows: an interrupted transfer continues
with ``Range`` + ``If-Range`` from where it stopped (the kept part is hashed once,
never the fresh bytes twice), and starts over when the server ignores the range
or the file changed in between.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from registry.atomic import write_text
from registry.errors import DownloadError, SizeLimitError
from registry.network import unreachable
from registry.settings import Settings

from .http_layer import NETWORK_ERRORS, Reader, announced_size, backoff, exhausted, open_range, strong_validator
from .pipeline import CHUNK, PartFile, Pipeline
from .policy import Policy

log = logging.getLogger("hub")

__all__ = ["CHUNK", "Outcome", "Partial", "Policy", "Settings", "announced_size", "fetch"]

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
        write_text(self.meta_path, json.dumps({"url": url, "validator": validator, "total": total}))

    def discard(self) -> None:
        """Forget the partial file and what is known of it (a parallel download's ranges too)."""
        for p in (self.path, self.meta_path, self.path.with_name(self.path.name + ".seg.json")):
            p.unlink(missing_ok=True)


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
                if exhausted(settings, attempt):
                    raise DownloadError(f"giving up on {url} after {attempt} attempt(s) without progress: {r.why}",
                                        url=url) from None
                settings.sleep(backoff(settings, attempt, r.wait))
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
    if st.offset and not st.validator:
        st.restart(out)  # no validator: kept bytes cannot be matched to the server's file
    try:
        answer = open_range(session, url, policy=policy, timeout=settings.timeout, start=st.offset,
                            validator=st.validator, headers=extra)
    except NETWORK_ERRORS as e:
        why = unreachable(e)
        if why is not None:  # no retry helps a name that does not resolve or a port nobody listens on
            host = urlsplit(url).hostname or url
            raise DownloadError(f"cannot reach {host}: {why} ({url}); if this machine is offline, set HUB_OFFLINE=1 "
                                "to use the cache alone, or name a reachable mirror in HUB_MIRRORS", url=url) from None
        raise _Retry(f"{type(e).__name__}: {e}") from None
    st.final_url = answer.url
    with answer:
        resp = answer.resp
        status = resp.status_code
        if answer.kind == "busy":
            raise _Retry(f"HTTP {status}", answer.wait)
        if answer.kind == "unsatisfiable" and st.offset and \
                resp.headers.get("Content-Range") == f"bytes */{st.offset}":
            return  # a previous run got every byte and died before the rename: nothing left to fetch
        if answer.kind == "unsatisfiable":
            st.restart(out)
            part.remember(url, None, None)
            raise _Retry("range not satisfiable; restarting from the first byte")
        if answer.kind == "refused":
            raise answer.refusal(url)
        if answer.kind == "whole" and st.offset:
            st.restart(out)  # the range was ignored, or the file changed (If-Range failed): start over
        if answer.kind == "other-range":
            st.restart(out)
            part.remember(url, None, None)
            raise _Retry("the server sent another range than asked for; restarting")
        total = announced_size(resp)
        if total is not None and total > settings.max_bytes:
            part.discard()
            raise SizeLimitError(url, total, settings.max_bytes, "announced size is over the limit")
        st.validator = strong_validator(resp)
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


def fetch_first(url: str, part: Partial, *, settings: Settings, policy: Policy, name: str,
                progress: ProgressSink | None = None) -> Outcome:
    """A small file (a catalogue, a signature) from the first of the mirrors, then its origin, that delivers it
    whole into ``part`` (the mirror's token to the mirrors only); the caller verifies it.

    Raises:
        DownloadError: no source delivered it, each one's failure listed.
    """
    from .http_layer import mirror_headers, mirror_urls

    errors = []
    with requests.Session() as session:
        for source in mirror_urls(url, settings.mirrors):
            try:
                policy.check(source)
                return fetch(source, part, session=session, policy=policy, settings=settings, progress=progress,
                             name=name, headers=mirror_headers(source, settings))
            except DownloadError as e:
                errors.append(f"{source}: {e}")
    raise DownloadError(f"could not get the {name} {url}", url=url, attempts=errors)

