"""One file over several ranged connections, verified in one pass: the downloader chosen in one place.

:func:`download` decides. A link that one stream fills (loopback, a LAN mirror) keeps the single stream of
``transfer.fetch``, hashed inline and written past the page cache. A link that caps each connection (a far
CDN, download-mindspore.osinfra.cn) gets pieces fetched side by side with ``Range``, as aria2c and hf_transfer
do:

- Every download starts as that single stream. Its answer says whether the server does ranges
  (``Accept-Ranges: bytes``), how big the file is and its ETag; after the first piece its speed says whether one
  stream fills the link. A small file, a server without ranges, or a fast stream: it carries on alone.
- Otherwise workers take pieces lowest first, each written in place with ``pwrite``. Connections are added
  while the total throughput grows (doubling, up to ``HUB_CONNECTIONS``), and taken away when the server
  answers 429 or 503.
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
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from registry import config
from registry.errors import DownloadError

from .policy import Policy
from .transfer import (
    _NETWORK_ERRORS,
    _RETRY_STATUS,
    MAX_BACKOFF,
    Handover,
    HandoverRule,
    NoProgress,
    Outcome,
    Partial,
    ProgressSink,
    Settings,
    _open,
    _Reader,
    _retry_after,
    fetch,
)

log = logging.getLogger("hub")

#: Bytes per piece: one ranged request. Big enough that a request's round trip is a small part of its time.
PIECE = 8 << 20
#: Bytes per read and write inside a piece; also how often a worker records its progress. Small blocks keep
#: sixteen threads from queueing on the GIL and the kernel (``python -m bench.parallel``: 256 KiB used a quarter
#: of the system time 1 MiB did, and went 1.3x faster).
BLOCK = 256 << 10
#: Files smaller than this never go parallel (the probe piece is most of them anyway).
MIN_PARALLEL = 3 * PIECE
#: A probe faster than this (bytes/s) means one stream fills the link: no more connections.
FAST_STREAM = 150e6
#: Seconds between two looks at the throughput, when deciding whether to add connections.
INTERVAL = 0.25
#: Connections right after the hand-over: one stream was already too slow, so more than two.
START = 4
#: Bytes the single stream fetches before its speed decides (a block of its pipeline).
HANDOVER_AFTER = 4 << 20
#: Throughput must grow by this factor after connections were added for more to be added.
GROWTH = 1.15


def download(url: str, part: Partial, *, session: requests.Session, policy: Policy, settings: Settings,
             progress: ProgressSink | None = None, name: str = "", headers: dict[str, str] | None = None,
             size: int | None = None) -> Outcome:
    """Fetch ``url`` into ``part`` by the fastest way the link allows; return its sha256 and size.

    ``size``, when the caller knows it (a Hugging Face listing), keeps small files to one plain stream.
    """
    connections = config.connections()
    seg = SegmentState(part.path)
    if connections > 1 and seg.load(url):
        return _parallel(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                         name=name, headers=headers or {}, connections=connections)
    rule = None
    if connections > 1 and (size is None or size >= MIN_PARALLEL):
        def then(h: Handover) -> Outcome:
            seg.url, seg.validator, seg.total, seg.done = url, h.validator, h.total, [[0, h.pos]]
            seg.save()
            part.meta_path.unlink(missing_ok=True)  # from now on the ranges file says what is there
            return _parallel(url, part, seg, session=session, policy=policy, settings=settings, progress=progress,
                             name=name, headers=headers or {}, connections=connections, handed=h)

        rule = HandoverRule(after=HANDOVER_AFTER, below=FAST_STREAM, min_total=MIN_PARALLEL, then=then)
    return fetch(url, part, session=session, policy=policy, settings=settings, progress=progress, name=name,
                 headers=headers, handover=rule)


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
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"url": self.url, "validator": self.validator, "total": self.total,
                                   "done": self.done}))
        os.replace(tmp, self.path)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def covered(self) -> int:
        return sum(b - a for a, b in self.done)


def _merge(ranges: list[list[int]], a: int, b: int) -> None:
    """Add [a, b) to a sorted list of disjoint ranges, joining neighbours."""
    ranges.append([a, b])
    ranges.sort()
    out: list[list[int]] = []
    for r in ranges:
        if out and r[0] <= out[-1][1]:
            out[-1][1] = max(out[-1][1], r[1])
        else:
            out.append(list(r))
    ranges[:] = out


def _gaps(done: list[list[int]], total: int) -> list[list[int]]:
    """What is missing from [0, total), in pieces of at most ``PIECE`` bytes, lowest first."""
    out, pos = [], 0
    for a, b in [*done, [total, total]]:
        while pos < a:
            out.append([pos, min(a, pos + PIECE)])
            pos = out[-1][1]
        pos = max(pos, b)
    return out


def _write_piece(resp: requests.Response, path: Path, start: int, end: int, sink: ProgressSink,
                 record: Callable[[int, int], None] | None = None, stop: Callable[[], bool] | None = None) -> int:
    """Copy the body into ``path`` at ``start`` up to ``end``; return the bytes written. ``record`` is told of
    every block written (for the resume state), ``stop`` ends the copy early."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    pos = start
    reader = _Reader(resp.raw)
    try:
        while pos < end and not (stop and stop()):
            want = min(BLOCK, end - pos)
            n = 0
            while n < want:
                got = reader.readinto(view[n:want])
                if not got:
                    break
                n += got
            if not n:
                break
            written = 0
            while written < n:
                written += os.pwrite(fd, view[written:n], pos + written)
            if record is not None:
                record(pos, pos + n)
            pos += n
            sink.advance(n)
            if n < want:
                break
    finally:
        os.close(fd)
    return pos - start


@dataclass
class _Run:
    """What the workers, the hasher and the controller share, under one lock."""

    seg: SegmentState
    todo: list[list[int]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)
    target: int = 1
    active: int = 0
    peak: int = 0
    received: int = 0
    unsaved: int = 0
    error: BaseException | None = None
    abandon: str | None = None  # why the parallel attempt ends (the caller then uses one stream)
    attempts: int = 0
    final_url: str = ""

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def take(self) -> list[int] | None:
        with self.lock:
            if self.error is not None or self.abandon is not None or self.active > self.target or not self.todo:
                return None
            return self.todo.pop(0)

    def give_back(self, piece: list[int]) -> None:
        with self.lock:
            if piece[0] < piece[1]:
                self.todo.insert(0, piece)
                self.todo.sort()

    def record(self, a: int, b: int) -> None:
        with self.changed:
            _merge(self.seg.done, a, b)
            self.received += b - a
            self.unsaved += b - a
            if self.unsaved >= BLOCK * max(2, self.active):
                self.unsaved = 0
                self.seg.save()
            self.changed.notify_all()


def _parallel(url: str, part: Partial, seg: SegmentState, *, session: requests.Session, policy: Policy,
              settings: Settings, progress: ProgressSink | None, name: str, headers: dict[str, str],
              connections: int, handed: Handover | None = None) -> Outcome:
    """The missing pieces over up to ``connections`` connections, hashed as the prefix completes. ``handed`` is
    the single stream that came first (its hasher has hashed its bytes); without it, a resumed run, the bytes
    already there are hashed anew, once."""
    sink = progress or NoProgress()
    kept = 0 if handed else seg.covered()
    if handed is None:
        sink.start(name, seg.total, kept)
    run = _Run(seg, _gaps(seg.done, seg.total), target=min(START, connections),
               final_url=handed.final_url if handed else url)
    run.received = handed.received if handed else 0
    hashed = [handed.pos if handed else 0]
    hasher = handed.hasher if handed else hashlib.sha256()
    hash_thread = threading.Thread(target=_hash_prefix, args=(run, part.path, hasher, hashed), daemon=True)
    hash_thread.start()
    workers: list[threading.Thread] = []

    def spawn() -> None:
        with run.lock:
            run.active += 1
            run.peak = max(run.peak, run.active)
        t = threading.Thread(target=_worker, args=(run, url, part.path, policy, settings, headers, sink),
                             daemon=True)
        t.start()
        workers.append(t)

    for _ in range(run.target):
        spawn()
    growing, last_rate, last_bytes, last_time, misses = True, 0.0, run.received, time.monotonic(), 0
    while any(t.is_alive() for t in workers):
        time.sleep(INTERVAL)
        now = time.monotonic()
        rate = (run.received - last_bytes) / (now - last_time)
        last_bytes, last_time = run.received, now
        with run.lock:
            busy = run.active
            more = growing and run.todo and run.target < connections and run.error is None and run.abandon is None
        if more and busy >= run.target:
            if last_rate == 0.0 or rate >= last_rate * GROWTH:
                misses = 0
                add = min(run.target, connections - run.target)
                with run.lock:
                    run.target += add
                for _ in range(add):
                    spawn()
                log.info("%s: %d connections (%.0f MB/s with %d)", name or url, run.target, rate / 1e6,
                         run.target - add)
                last_rate = rate
            elif (misses := misses + 1) >= 2:  # one slow look may be noise; two are not
                growing = False  # more connections did not make it faster: stay at this many
                log.info("%s: staying at %d connections (%.0f MB/s, %.0f MB/s before the last added)", name or url,
                         run.target, rate / 1e6, last_rate / 1e6)
        with run.lock:  # a worker that died of a network error leaves its piece: another takes it
            if run.todo and run.active < min(run.target, len(run.todo)) and run.error is None and not run.abandon:
                spawn_needed = True
            else:
                spawn_needed = False
        if spawn_needed:
            spawn()
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
    return Outcome(hasher.hexdigest(), seg.total, run.final_url, kept, run.received, run.attempts, run.peak)


def _hash_prefix(run: _Run, path: Path, hasher: Any, hashed: list[int]) -> None:
    """Hash the file's contiguous prefix as the pieces complete, reading back what the workers wrote."""
    buf = bytearray(PIECE)
    view = memoryview(buf)
    fd = -1
    try:
        while True:
            with run.changed:
                while True:
                    first = run.seg.done[0] if run.seg.done else None
                    ready = first[1] if first and first[0] == 0 else 0
                    if ready > hashed[0]:
                        break
                    finished = run.active == 0 and (not run.todo or run.error is not None or run.abandon)
                    if hashed[0] >= run.seg.total or finished:
                        return
                    run.changed.wait(0.2)
            if fd < 0:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            while hashed[0] < ready:
                n = os.preadv(fd, [view[: min(PIECE, ready - hashed[0])]], hashed[0])
                if not n:
                    raise DownloadError(f"{path} is shorter than the ranges written to it")
                hasher.update(view[:n])
                hashed[0] += n
    except BaseException as e:
        with run.lock:
            run.error = run.error or e
    finally:
        if fd >= 0:
            os.close(fd)


_local = threading.local()


def _worker(run: _Run, url: str, path: Path, policy: Policy, settings: Settings, headers: dict[str, str],
            sink: ProgressSink) -> None:
    """Take pieces and fetch them until none is left, the run ends, or there are more workers than wanted."""
    session = requests.Session()
    failures = 0
    try:
        while (piece := run.take()) is not None:
            a, b = piece
            with run.lock:
                run.attempts += 1
            hdrs = {**headers, "Range": f"bytes={a}-{b - 1}", "If-Range": run.seg.validator or "",
                    "Accept-Encoding": "identity", "User-Agent": "hub-client"}
            try:
                resp, _ = _open(session, run.final_url, hdrs, policy, settings.timeout)
            except _NETWORK_ERRORS:
                run.give_back(piece)
                failures += 1
                if failures > settings.retries:
                    raise DownloadError(f"giving up on {url} after {failures} failed connections", url=url) from None
                settings.sleep(min(MAX_BACKOFF, settings.backoff * 2 ** (failures - 1)))
                continue
            with resp:
                status = resp.status_code
                if status in _RETRY_STATUS:  # too many connections, or busy: one fewer, and wait
                    run.give_back(piece)
                    wait = _retry_after(resp.headers.get("Retry-After"))
                    with run.lock:
                        run.target = max(1, run.target - 1)
                    failures += 1
                    if failures > settings.retries:
                        raise DownloadError(f"{url} answered HTTP {status} {failures} times", url=url, status=status)
                    settings.sleep(min(MAX_BACKOFF, wait if wait is not None else settings.backoff * 2 ** failures))
                    continue
                if status == 200 or (status == 206 and not resp.headers.get("Content-Range", "").startswith(
                        f"bytes {a}-")):
                    run.give_back(piece)
                    with run.lock:  # ranges ignored, or the file changed (If-Range failed)
                        run.abandon = f"HTTP {status} to a range request"
                    return
                if status != 206:
                    run.give_back(piece)
                    raise DownloadError(f"{url} answered HTTP {status} {resp.reason}", url=url, status=status,
                                        code=resp.headers.get("X-Error-Code"))
                try:
                    got = _write_piece(resp, path, a, b, sink, record=run.record,
                                       stop=lambda: run.error is not None or run.abandon is not None)
                except _NETWORK_ERRORS:
                    got = -1
                if got < 0 or a + got < b:  # cut mid-piece: what arrived is recorded, the rest goes back
                    done_to = a + max(got, 0)
                    with run.lock:
                        have = next((r[1] for r in run.seg.done if r[0] <= a < r[1]), a)
                    run.give_back([max(done_to, have), b])
                    failures += 1
                    if failures > settings.retries:
                        raise DownloadError(f"giving up on {url}: the connection broke {failures} times", url=url)
                    settings.sleep(min(MAX_BACKOFF, settings.backoff * 2 ** (failures - 1)))
                    continue
                failures = 0
    except BaseException as e:
        with run.lock:
            run.error = run.error or e
    finally:
        session.close()
        with run.changed:
            run.active -= 1
            run.changed.notify_all()
