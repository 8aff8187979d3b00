"""One file over several ranged connections, verified in one pass: the downloader chosen in one place.

:func:`download` decides. A link that one stream fills (loopback, a LAN mirror) keeps the single stream of
``transfer.fetch``, hashed inline and written past the page cache. A link that caps each connection (a far
CDN, download-mindspore.osinfra.cn) gets pieces fetched side by side with ``Range``, as aria2c and hf_transfer
do:

- What is known before the first byte decides how a download starts: the file's size (a Hugging Face listing
  gives it), and what earlier downloads measured of the host (``hosts.py``, kept in the hub home). A big file
  from a host that caps each connection, or of known size from a host never seen, starts over several
  connections at once (as many as the host ran best with, else 16, as ``aria2c -x16``), after one one-byte
  request for its size and ETag, in pieces sized so each connection has two or more.
- Otherwise it starts as that single stream. Its answer says whether the server does ranges
  (``Accept-Ranges: bytes``), how big the file is and its ETag; after the first piece its speed says whether one
  stream fills the link. A small file, a server without ranges, or a fast stream: it carries on alone.
- Otherwise workers take pieces lowest first, each written in place with ``pwrite``. Connections are added
  while the total throughput grows (doubling, or quadrupling after a doubling that scaled in step, up to
  ``HUB_CONNECTIONS``), and taken away when the server answers 429 or 503. Every worker thread starts at the
  hand-over, while the GIL is idle, and waits for its turn: a thread started later, among busy ones, waits
  for the GIL many times before it runs.
- One thread hashes the contiguous prefix as it completes, reading back what the workers wrote (from the page
  cache), so the sha256 is still one pass over the bytes and the caller verifies it before any rename.
- The finished ranges are kept beside the partial file (``.part.seg.json``), so a killed download resumes with
  every finished block; at most the blocks in flight are fetched again.
- A server that answers a range with the whole file (200), or whose validator changes, ends the parallel
  attempt: the file is fetched again by one stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from registry.atomic import write_text
from registry.errors import DownloadError, HubError

from . import hosts
from .http_layer import NETWORK_ERRORS, open_range
from .parallel import BLOCK, PIECE, Run, Source, gaps, hash_prefix, worker
from .policy import Policy
from .transfer import (
    Handover,
    HandoverRule,
    NoProgress,
    Outcome,
    Partial,
    ProgressSink,
    Settings,
    fetch,
)

log = logging.getLogger("hub")

#: Files smaller than this never go parallel (the probe piece is most of them anyway).
MIN_PARALLEL = 3 * PIECE
#: A probe faster than this (bytes/s) means one stream fills the link: no more connections.
FAST_STREAM = 150e6
#: Seconds between two looks at the throughput, when deciding whether to add connections.
INTERVAL = 0.25
#: Connections right after the hand-over: one stream was already too slow, so several (aria2c -x16 opens 16).
START = 8
#: Connections a download of known size starts with from a host never measured (aria2c -x16 opens 16), and
#: one more for every ``BYTES_PER_CONNECTION`` of a bigger file, up to ``HUB_CONNECTIONS``.
FIRST_CONTACT = 16
BYTES_PER_CONNECTION = 16 << 20
#: The smallest piece: below it, a request's round trip is a large part of its time.
MIN_PIECE = 1 << 20
#: Bytes the single stream fetches before its speed decides (a block of its pipeline).
HANDOVER_AFTER = 4 << 20
#: Throughput must grow by this factor after connections were added for more to be added.
GROWTH = 1.15
#: Growth after a doubling that says the connections scale as well as they can (each adds its full share): the
#: next step then quadruples, so a link that caps each connection reaches its width in fewer looks.
LINEAR = 1.7


def download(url: str, part: Partial, *, session: requests.Session, policy: Policy, settings: Settings,
             progress: ProgressSink | None = None, name: str = "", headers: dict[str, str] | None = None,
             size: int | None = None, also: Sequence[str] = ()) -> Outcome:
    """Fetch ``url`` into ``part`` by the fastest way the link allows; return its sha256 and size.

    ``size``, when the caller knows it (a Hugging Face listing), keeps small files to one plain stream. ``also``
    names other URLs of the same file (mirrors, the origin): a parallel download takes pieces from each that
    agrees on the size, and the one sha256 decides whether they all served the same bytes.
    """
    connections = settings.connections
    seg = SegmentState(part.path)
    if connections > 1 and seg.load(url):
        return _parallel(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                         name=name, headers=headers or {}, connections=connections, also=also)
    # A small file of known size (most of a repo's) reads no host record and no partial state here.
    may = connections > 1 and (size is None or size >= MIN_PARALLEL)
    hint = hosts.known(settings.home, url) if may else None
    # A host that caps each connection, or a big file of known size from one never measured, gets many at once,
    # unless a single stream's prefix is there to carry on from.
    at_once = hint.per_connection < FAST_STREAM if hint is not None else size is not None
    if may and at_once and part.resumable(url)[0] == 0:
        start = min(connections, hint.connections) if hint is not None else first_count(size or 0, connections)
        began = time.monotonic()
        whole = _at_once(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                         name=name, headers=headers or {}, connections=connections, start=start, also=also)
        if whole is not None:
            _measured(settings, url, whole, time.monotonic() - began)
            return whole
    began = time.monotonic()
    outcome = _streamed(url, part, seg, size, session=session, policy=policy, settings=settings, progress=progress,
                        name=name, headers=headers, connections=connections, also=also)
    _measured(settings, url, outcome, time.monotonic() - began)
    return outcome


def first_count(total: int, connections: int) -> int:
    """Connections to start a file of ``total`` bytes with, on a link known to cap each one but not how wide it
    is: ``FIRST_CONTACT``, one more per ``BYTES_PER_CONNECTION`` beyond, at most ``connections``."""
    return min(connections, max(FIRST_CONTACT, total // BYTES_PER_CONNECTION))


def _measured(settings: Settings, url: str, outcome: Outcome, seconds: float) -> None:
    """Keep what this download measured of its host, when it was big enough to say (not a resumed rest, not a
    file a round trip dominates)."""
    if outcome.received >= MIN_PARALLEL and seconds > 0:
        per_connection = outcome.received / seconds / max(1, outcome.connections)
        hosts.remember(settings.home, url, per_connection, max(1, outcome.connections))


def _streamed(url: str, part: Partial, seg: SegmentState, size: int | None, *, session: requests.Session,
              policy: Policy, settings: Settings, progress: ProgressSink | None, name: str,
              headers: dict[str, str] | None, connections: int, also: Sequence[str]) -> Outcome:
    """One stream, which hands the rest over to parallel connections when it turns out slow on a big file."""
    rule = None
    why = ("HUB_CONNECTIONS=1" if connections <= 1 else
           f"{size / 1e6:.1f} MB is too small for parallel connections to pay off" if size is not None else "")
    if connections > 1 and (size is None or size >= MIN_PARALLEL):
        def then(h: Handover) -> Outcome:
            seg.url, seg.validator, seg.total, seg.done = url, h.validator, h.total, [[0, h.pos]]
            seg.save()
            part.meta_path.unlink(missing_ok=True)  # from now on the ranges file says what is there
            return _parallel(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                             name=name, headers=headers or {}, connections=connections, handed=h, also=also,
                             start=first_count(h.total, connections))

        rule = HandoverRule(after=HANDOVER_AFTER, below=FAST_STREAM, min_total=MIN_PARALLEL, then=then)
    return fetch(url, part, session=session, policy=policy, settings=settings, progress=progress, name=name,
                 headers=headers, handover=rule, why=why)


class SegmentState:
    """``NAME.part.seg.json``: the source, its validator and size, and the byte ranges already written."""

    def __init__(self, part: Path) -> None:
        self.path = part.with_name(part.name + ".seg.json")
        self.url = ""
        self.validator: str | None = None
        self.total = 0
        self.done: list[list[int]] = []

    def load(self, url: str) -> bool:
        """Whether a parallel download of ``url`` was under way (and its ranges were read)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        if data.get("url") != url or not data.get("validator") or not isinstance(data.get("total"), int):
            return False
        self.url, self.validator, self.total = url, data["validator"], data["total"]
        self.done = [[int(a), int(b)] for a, b in data.get("done", []) if 0 <= a < b <= self.total]
        return True

    def save(self) -> None:
        write_text(self.path, json.dumps({"url": self.url, "validator": self.validator, "total": self.total,
                                          "done": self.done}))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def covered(self) -> int:
        return sum(b - a for a, b in self.done)


_CONTENT_RANGE = re.compile(r"bytes 0-0/(\d+)")


def _at_once(url: str, part: Partial, seg: SegmentState, *, session: requests.Session, policy: Policy,
             settings: Settings, progress: ProgressSink | None, name: str, headers: dict[str, str],
             connections: int, start: int, also: Sequence[str]) -> Outcome | None:
    """The whole file over ``start`` connections from its first byte, once a one-byte range has given its size
    and a strong ETag; None when it did not (no ranges, a small file, an error: one stream then decides)."""
    try:
        answer = open_range(session, url, policy=policy, timeout=settings.timeout, end=1, headers=headers)
    except NETWORK_ERRORS:
        return None
    with answer:
        resp, final = answer.resp, answer.url
        etag = resp.headers.get("ETag", "")
        m = _CONTENT_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
        if answer.kind != "range" or m is None or not etag or etag.startswith("W/"):
            return None
    total = int(m[1])
    if total < MIN_PARALLEL or total > settings.max_bytes:
        return None
    part.discard()  # whatever an earlier run left that cannot be resumed: the pieces are written in place
    seg.url, seg.validator, seg.total, seg.done = url, etag, total, []
    seg.save()
    log.info("%s: %.1f MB, %d connections from the first byte", name or url, total / 1e6, start)
    return _parallel(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                     name=name, headers=headers, connections=connections, also=also, start=start, final_url=final)


def piece_size(total: int, connections: int) -> int:
    """Pieces small enough that each of ``connections`` has two or more, within [``MIN_PIECE``, ``PIECE``], in
    whole blocks."""
    fit = total // max(1, 2 * connections)
    return max(MIN_PIECE, min(PIECE, fit - fit % BLOCK))


def _parallel(url: str, part: Partial, seg: SegmentState, *, session: requests.Session, policy: Policy,
              settings: Settings, progress: ProgressSink | None, name: str, headers: dict[str, str],
              connections: int, handed: Handover | None = None, also: Sequence[str] = (), start: int = START,
              final_url: str | None = None) -> Outcome:
    """The missing pieces over up to ``connections`` connections (``start`` at first), hashed as the prefix
    completes. ``handed`` is the single stream that came first (its hasher has hashed its bytes); without it, a
    resumed run or one from the first byte, the bytes already there are hashed anew, once."""
    sink = progress or NoProgress()
    kept = 0 if handed else seg.covered()
    if handed is None:
        sink.start(name, seg.total, kept)
    assert seg.validator is not None
    first = Source(handed.final_url if handed else final_url or url, seg.validator, primary=True)
    sources = [first, *(src for other in also if (src := _agreeing(session, other, seg.total, policy, settings,
                                                                    headers)) is not None)]
    if len(sources) > 1:
        log.info("%s: pieces from %d sources", name or url, len(sources))
    begin = min(start, connections)
    run = Run(seg.done, seg.total, gaps(seg.done, seg.total, piece_size(seg.total, begin)), sources, seg.save,
              target=begin)
    run.received = handed.received if handed else 0
    hashed = [handed.pos if handed else 0]
    hasher = handed.hasher if handed else hashlib.sha256()
    hash_thread = threading.Thread(target=hash_prefix, args=(run, part.path, hasher, hashed), daemon=True)
    hash_thread.start()
    workers: list[threading.Thread] = []

    def spawn(slot: int) -> None:
        with run.lock:
            run.active += 1
        t = threading.Thread(target=worker, args=(run, slot, part.path, policy, settings, headers, sink),
                             daemon=True)
        t.start()
        workers.append(t)

    # Every worker starts now, while the GIL is idle; past ``target`` fetching, they wait for their turn.
    for slot in range(min(connections, len(run.todo))):
        spawn(slot)
    growing, last_rate, last_bytes, last_time, misses = True, 0.0, run.received, time.monotonic(), 0
    while any(t.is_alive() for t in workers):
        time.sleep(INTERVAL)
        now = time.monotonic()
        rate = (run.received - last_bytes) / (now - last_time)
        last_bytes, last_time = run.received, now
        with run.lock:
            busy = run.fetching
            more = growing and run.todo and run.target < connections and run.error is None and run.abandon is None
        if more and busy >= run.target:
            if last_rate == 0.0 or rate >= last_rate * GROWTH:
                misses = 0
                factor = 3 if last_rate and rate >= last_rate * LINEAR else 1
                add = min(run.target * factor, connections - run.target)
                run.grow(add)
                log.info("%s: %d connections (%.0f MB/s with %d)", name or url, run.target, rate / 1e6,
                         run.target - add)
                last_rate = rate
            elif (misses := misses + 1) >= 2:  # one slow look may be noise; two are not
                growing = False  # more connections did not make it faster: stay at this many
                log.info("%s: staying at %d connections (%.0f MB/s, %.0f MB/s before the last added)", name or url,
                         run.target, rate / 1e6, last_rate / 1e6)
        with run.lock:  # a worker that died of a network error leaves its piece: another takes it
            respawn = (run.todo and run.active < min(run.target, len(run.todo)) and run.error is None
                       and not run.abandon)
        if respawn:
            spawn(len(workers))
    with run.changed:
        run.changed.notify_all()
    hash_thread.join()
    if run.abandon is not None:  # the server cannot do this in parallel after all: one stream, from scratch
        seg.discard()
        part.discard()
        return fetch(url, part, session=session, policy=policy, settings=settings, progress=progress, name=name,
                     headers=headers)
    if run.error is not None:
        seg.save()
        raise run.error
    if hashed[0] != seg.total:
        seg.save()
        raise DownloadError(f"{url}: {seg.total - hashed[0]} bytes could not be fetched", url=url)
    seg.discard()
    sink.finish()
    log.info("%s: %.1f MB over at most %d connections", name or url, run.received / 1e6, run.peak)
    return Outcome(hasher.hexdigest(), seg.total, first.url, kept, run.received, run.attempts, run.peak)


def _agreeing(session: requests.Session, url: str, total: int, policy: Policy, settings: Settings,
              headers: dict[str, str]) -> Source | None:
    """Another URL as a source of pieces, when it serves ranges of a file of the same size with a strong ETag
    (one byte asked: ``Range: bytes=0-0``); None, and a line in the log, when it does not."""
    sent = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    try:
        answer = open_range(session, url, policy=policy, timeout=settings.timeout, end=1, headers=sent)
    except (*NETWORK_ERRORS, HubError) as e:
        log.info("not a source: %s (%s)", url, e)
        return None
    with answer:
        resp, final = answer.resp, answer.url
        etag = resp.headers.get("ETag", "")
        got = resp.headers.get("Content-Range", "")
        if answer.kind != "range" or got != f"bytes 0-0/{total}" or not etag or etag.startswith("W/"):
            log.info("not a source: %s (HTTP %d, %s, ETag %r)", url, resp.status_code, got or "no range", etag)
            return None
    return Source(final, etag)
