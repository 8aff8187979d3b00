"""One upstream transfer of a file the mirror lacks, streamed to every client that asks while it arrives.

The first request for a missing blob starts a :class:`Flight`; later requests for the same blob join it, so
16 clients asking for one cold file make one upstream transfer. The bytes go to a scratch file as they come
and are hashed in the same pass; each client reads that file up to what has been written.

- **The last byte waits for the verdict.** A client is sent every byte but the file's last until the digest
  matches the file's content address and the file is stored; then the last byte goes out, so a client that
  has the whole file can count on the mirror (and every replica over its bucket) having it. When the digest
  does not match, nothing is stored and every client's connection is cut short of its ``Content-Length``, so
  no client can take the bytes for the file.
- **A cut upstream connection is resumed** with ``Range``/``If-Range``, and a 429 or 5xx is retried, with
  backoff; a server that answers with the whole file again has the bytes already written skipped, so what
  clients read never changes under them.
- The scratch file is read through a descriptor opened when the flight starts, so it can be renamed into the
  store (or removed after an upload) while clients still read it.
- **What the bytes must hash to** is the flight's :class:`Judge`: a Hugging Face file's content address
  (:func:`by_address`), or a MindSpore Hub card's sha256, which may be a prefix (``assets.py``). A card may give
  no size: the first upstream answer tells it, and clients wait for it (``sized``) before their headers go.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from hub_client.fetch.http_layer import (
    NETWORK_ERRORS,
    Reader,
    announced_size,
    backoff,
    exhausted,
    open_range,
    strong_etag,
)
from hub_client.fetch.policy import Policy
from registry.errors import DownloadError, IntegrityError
from registry.network import unreachable
from registry.settings import Settings

from .storage import StoredFile

log = logging.getLogger("hub.serve")

#: Bytes per read from upstream and per send to a client.
BLOCK = 1 << 20
#: Seconds a client waits between two looks at a flight that has nothing new for it.
POLL = 0.002


class FlightFailed(Exception):
    """The transfer failed (upstream error, or a digest that is not the file's address): nothing was stored."""


@dataclass(frozen=True)
class Judge:
    """How a flight's bytes are verified: ``hasher`` is fed every byte in the one pass, and ``check`` gets its
    hex digest and raises :class:`~registry.errors.IntegrityError` unless it is what the file must be."""

    hasher: Any
    check: Callable[[str], None]


def by_address(f: StoredFile, url: str) -> Judge:
    """A Hugging Face file's judge: the one digest it is addressed by (sha256 for an LFS file, else the git blob
    id)."""
    hasher = hashlib.sha256() if f.lfs else hashlib.sha1(b"blob %d\0" % f.size, usedforsecurity=False)

    def check(got: str) -> None:
        if got != f.etag:
            raise IntegrityError(url=url, expected=f.etag, actual=got, what="sha256" if f.lfs else "git blob id")

    return Judge(hasher, check)


class Flight:
    """A file on its way in: ``written`` bytes of ``size`` are in ``scratch``; ``verified`` once its digest
    passed its judge (``digest`` is then the sha256 or blob id it hashed to); ``error`` when it failed.

    ``size`` is None until upstream tells it when the file's listing (or card) did not; ``sized`` is set once it
    is known or the flight failed. ``etag`` is what clients may be told the file is (its address), when known
    before the bytes are."""

    def __init__(self, scratch: Path, size: int | None, *, etag: str | None = None,
                 file: StoredFile | None = None) -> None:
        self.scratch = scratch
        self.file = file
        self.size = size
        self.etag = etag
        self.written = 0
        self.verified = False
        self.digest: str | None = None
        self.error: str | None = None
        self.finished = threading.Event()
        self.sized = threading.Event()
        if size is not None:
            self.sized.set()
        fd = os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
        self._fd = fd
        self._readers = 0
        self._retired = False
        self._lock = threading.Lock()

    # The transfer side (one thread).

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, self.written)
            view = view[n:]
            self.written += n  # only after the bytes are in the file: readers never see a hole

    def fail(self, why: str) -> None:
        self.error = why
        self.finished.set()
        self.sized.set()

    def learn_size(self, size: int) -> None:
        self.size = size
        self.sized.set()

    # The client side (the event loop).

    def attach(self) -> None:
        with self._lock:
            self._readers += 1

    def detach(self) -> None:
        with self._lock:
            self._readers -= 1
            self._close_if_unused()

    def retire(self) -> None:
        """No new reader will come (the blob is stored, or the flight failed): close once the last one leaves."""
        with self._lock:
            self._retired = True
            self._close_if_unused()

    def _close_if_unused(self) -> None:
        if self._retired and self._readers == 0 and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    async def chunks(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive) as they arrive; the file's last byte only once verified. The
        caller attached to the flight (``Mirror.open`` does); this detaches when done.

        Raises:
            FlightFailed: the transfer failed; the response is cut short.
        """
        pos = start
        try:
            while pos < end:
                if self.error is not None:
                    raise FlightFailed(self.error)
                if self.size is None:
                    raise FlightFailed("read before its size was known")  # callers wait for ``sized``
                limit = min(end, self.written if self.verified else min(self.written, self.size - 1))
                if limit <= pos:
                    await asyncio.sleep(POLL)
                    continue
                data = await asyncio.to_thread(os.pread, self._fd, min(limit - pos, BLOCK), pos)
                if not data:
                    raise FlightFailed("the scratch file is shorter than written")
                pos += len(data)
                yield data
        finally:
            self.detach()


def transfer(flight: Flight, url: str | Sequence[str], *, session: requests.Session, policy: Policy,
             settings: Settings, headers: dict[str, str], judge: Judge, store: Callable[[Path, str], None]) -> None:
    """Fetch ``url`` into ``flight``, verify it with ``judge``, and hand it to ``store`` (the scratch file and
    the digest it hashed to). Several URLs (upstream mirrors of one file) are tried in order while none has sent
    a byte.

    Runs on its own thread; every outcome is recorded on the flight (``verified``, or ``error``)."""
    urls = [url] if isinstance(url, str) else list(url)
    url = urls[0]
    try:
        for i, url in enumerate(urls):
            try:
                _receive(flight, url, session, policy, settings, headers, judge.hasher)
                break
            except DownloadError as e:
                if flight.written or i == len(urls) - 1:
                    raise
                log.info("%s: %s; trying %s", url, e, urls[i + 1])
        if flight.size is None:  # upstream never said: what came before it closed is the file, if the hash agrees
            flight.learn_size(flight.written)
        if flight.written != flight.size:
            raise IntegrityError(url=url, expected=f"{flight.size} bytes", actual=f"{flight.written} bytes",
                                 what="size")
        got = judge.hasher.hexdigest()
        judge.check(got)
    except Exception as e:  # noqa: BLE001 - every failure ends the flight and reaches its clients
        log.warning("%s: not stored: %s", url, e)
        flight.scratch.unlink(missing_ok=True)
        flight.fail(str(e))
        return
    try:
        store(flight.scratch, got)  # before the last byte goes out: a client that has the file finds it stored
    except Exception as e:  # noqa: BLE001 - the clients get whole verified bytes; the next asker fetches again
        log.warning("%s: verified but could not be stored: %s", url, e)
        flight.scratch.unlink(missing_ok=True)
    flight.digest = got
    flight.verified = True
    flight.finished.set()


def _receive(flight: Flight, url: str, session: requests.Session, policy: Policy, settings: Settings,
             headers: dict[str, str], hasher: Any) -> None:
    validator: str | None = None
    failures = 0
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    while True:
        before = flight.written
        try:
            with open_range(session, url, policy=policy, timeout=settings.timeout, start=flight.written,
                            validator=validator, headers=headers, agent="hub-serve") as answer:
                resp = answer.resp
                if answer.kind == "busy":  # 429, 5xx: upstream busy or failing for a moment
                    raise _Busy(f"upstream answered HTTP {resp.status_code}", answer.wait)
                if answer.kind == "other-range":
                    raise ConnectionError("upstream answered another range than asked for")
                if answer.kind not in ("range", "whole"):
                    raise answer.refusal(url, "upstream")
                validator = validator or strong_etag(resp)
                if flight.size is None:
                    _learn_size(flight, resp, url)
                skip = flight.written if answer.kind == "whole" else 0  # the whole file again: what we have
                reader = Reader(resp.raw)
                while n := reader.readinto(view):
                    block = view[:n]
                    if skip:
                        cut = min(skip, n)
                        block, skip = block[cut:], skip - cut
                    if not block:
                        continue
                    if flight.size is not None and flight.written + len(block) > flight.size:
                        raise DownloadError(f"upstream sent more than the {flight.size} bytes listed", url=url)
                    hasher.update(block)
                    flight.append(bytes(block))
                if flight.size is None or flight.written >= flight.size:
                    return
                raise ConnectionError(f"connection closed after {flight.written} of {flight.size} bytes")
        except (*NETWORK_ERRORS, _Busy) as e:
            why = unreachable(e) if not isinstance(e, _Busy) else None
            if why is not None:  # a name that does not resolve, a refused connection: asking again will not help
                raise DownloadError(f"upstream {urlsplit(url).netloc}: {why}", url=url) from None
            failures = 1 if flight.written > before else failures + 1  # progress: a flaky link, not a dead one
            if exhausted(settings, failures):
                raise DownloadError(f"upstream failed {failures} times in a row: {e}", url=url) from None
            settings.sleep(backoff(settings, failures, e.wait if isinstance(e, _Busy) else None))


class _Busy(Exception):
    """Upstream answered "not now" (429, 5xx), maybe with the wait it asks for."""

    def __init__(self, why: str, wait: float | None) -> None:
        super().__init__(why)
        self.wait = wait


def _learn_size(flight: Flight, resp: requests.Response, url: str) -> None:
    """The whole file's size from upstream's answer; left unknown when it does not say (chunked), and then the
    end of the stream ends the file."""
    given = announced_size(resp)
    if given is None:
        return
    if given < flight.written:
        raise DownloadError(f"upstream now says the file has {given} bytes, fewer than received", url=url)
    flight.learn_size(given)
