"""The mechanics of a parallel download: the pieces still to fetch, the workers that fetch them (each from one
of the sources that serve the file), and the thread that hashes the prefix as it completes.

``downloader.py`` decides when to go parallel and how many workers to run; this module does the work.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from registry.errors import DownloadError

from .http_layer import NETWORK_ERRORS, Reader, backoff, exhausted, open_range
from .policy import Policy
from .transfer import ProgressSink, Settings

log = logging.getLogger("hub")

#: Bytes per piece: one ranged request. Big enough that a request's round trip is a small part of its time.
PIECE = 8 << 20
#: Bytes per read and write inside a piece; also how often a worker records its progress. Small blocks keep
#: many threads from queueing on the GIL and the kernel (``python -m bench.parallel``: 256 KiB used a quarter
#: of the system time 1 MiB did, and went 1.3x faster).
BLOCK = 256 << 10
#: Failures after which a source is dropped, when another still serves the file.
SOURCE_FAILURES = 3


def merge(ranges: list[list[int]], a: int, b: int) -> None:
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


def gaps(done: list[list[int]], total: int, piece: int = PIECE) -> list[list[int]]:
    """What is missing from [0, total), in pieces of at most ``piece`` bytes, lowest first."""
    out, pos = [], 0
    for a, b in [*done, [total, total]]:
        while pos < a:
            out.append([pos, min(a, pos + piece)])
            pos = out[-1][1]
        pos = max(pos, b)
    return out


@dataclass
class Source:
    """One URL that serves the file, with its own validator (each server has its own ETags)."""

    url: str
    validator: str
    #: Credentials go to the first source only (the one the caller named), never to a mirror.
    primary: bool = False
    failures: int = 0
    dropped: bool = False


def write_piece(resp: requests.Response, path: Path, start: int, end: int, sink: ProgressSink,
                 record: Callable[[int, int], None] | None = None, stop: Callable[[], bool] | None = None) -> int:
    """Copy the body into ``path`` at ``start`` up to ``end``; return the bytes written. ``record`` is told of
    every block written (for the resume state), ``stop`` ends the copy early."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    pos = start
    reader = Reader(resp.raw)
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
class Run:
    """What the workers, the hasher and the controller share, under one lock.

    ``done`` is the sorted list of byte ranges written (the resume state ``save`` writes out), ``todo`` the
    pieces still to fetch, lowest first. At most ``target`` workers fetch at a time (``fetching`` do now); the
    others wait, started, for their turn, so adding connections costs no thread start while the GIL is busy.
    """

    done: list[list[int]]
    total: int
    todo: list[list[int]]
    sources: list[Source]
    save: Callable[[], None]
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Bytes were written (the hasher waits on it).
    changed: threading.Condition = field(init=False)
    #: A worker may take a piece: one finished, or ``target`` grew (waiting workers wait on it).
    turn: threading.Condition = field(init=False)
    target: int = 1
    #: Worker threads alive (fetching or waiting for their turn).
    active: int = 0
    fetching: int = 0
    peak: int = 0
    received: int = 0
    unsaved: int = 0
    error: BaseException | None = None
    abandon: str | None = None  # why the parallel attempt ends (the caller then uses one stream)
    attempts: int = 0

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)
        self.turn = threading.Condition(self.lock)

    def take(self) -> list[int] | None:
        """The next piece, once fewer than ``target`` workers are fetching (a server that refused a connection
        lowered it: the others wait rather than ask again); None once the run has ended or no piece is left.
        Each piece taken is handed back with :meth:`put_down`."""
        with self.turn:
            while True:
                if self.error is not None or self.abandon is not None or not self.todo:
                    return None
                if self.fetching < self.target:
                    self.fetching += 1
                    self.peak = max(self.peak, self.fetching)
                    return self.todo.pop(0)
                self.turn.wait(0.2)

    def grow(self, add: int) -> None:
        with self.turn:
            self.target += add
            self.turn.notify(add)

    def put_down(self) -> None:
        with self.turn:
            self.fetching -= 1
            self.turn.notify()

    def give_back(self, piece: list[int]) -> None:
        with self.lock:
            if piece[0] < piece[1]:
                self.todo.insert(0, piece)
                self.todo.sort()

    def record(self, a: int, b: int) -> None:
        with self.changed:
            merge(self.done, a, b)
            self.received += b - a
            self.unsaved += b - a
            if self.unsaved >= BLOCK * max(2, self.fetching):
                self.unsaved = 0
                self.save()
            self.changed.notify_all()

    def source(self, slot: int) -> Source | None:
        """The source worker ``slot`` fetches from: the sources take turns, dropped ones left out."""
        with self.lock:
            alive = [s for s in self.sources if not s.dropped]
            return alive[slot % len(alive)] if alive else None

    def fault(self, src: Source, why: str, *, fatal: bool = False) -> bool:
        """Count a failure of ``src``; drop it when it keeps failing (or ``fatal``) and another source is left.
        True when it was dropped, so the worker moves on without counting the failure as its own."""
        with self.lock:
            src.failures += 1
            others = [s for s in self.sources if s is not src and not s.dropped]
            if others and (fatal or src.failures >= SOURCE_FAILURES):
                src.dropped = True
                log.info("dropped %s: %s", src.url, why)
                return True
            return False


def hash_prefix(run: Run, path: Path, hasher: Any, hashed: list[int]) -> None:
    """Hash the file's contiguous prefix as the pieces complete, reading back what the workers wrote."""
    buf = bytearray(PIECE)
    view = memoryview(buf)
    fd = -1
    try:
        while True:
            with run.changed:
                while True:
                    first = run.done[0] if run.done else None
                    ready = first[1] if first and first[0] == 0 else 0
                    if ready > hashed[0]:
                        break
                    finished = run.active == 0 and (not run.todo or run.error is not None or run.abandon)
                    if hashed[0] >= run.total or finished:
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


def worker(run: Run, slot: int, path: Path, policy: Policy, settings: Settings, headers: dict[str, str],
           sink: ProgressSink) -> None:
    """Take pieces and fetch them until none is left, the run ends, or there are more workers than wanted.

    Each piece comes from the source whose turn ``slot`` names, asked with that source's own ``If-Range``. A
    source that keeps failing, answers a range with the whole file, or whose file changed is dropped while
    others remain; the last one failing ends the run (or, for ranges ignored, hands it back to one stream).
    """
    session = requests.Session()
    failures = 0
    try:
        while (piece := run.take()) is not None:
            try:
                failures = _fetch_piece(run, slot, piece, session, path, policy, settings, headers, sink, failures)
            finally:
                run.put_down()
    except _Abandoned:
        return
    except BaseException as e:
        with run.lock:
            run.error = run.error or e
    finally:
        session.close()
        with run.changed:
            run.active -= 1
            run.changed.notify_all()


class _Abandoned(Exception):
    """The server cannot serve this download in pieces (the run's ``abandon`` says why)."""


def _fetch_piece(run: Run, slot: int, piece: list[int], session: requests.Session, path: Path, policy: Policy,
                 settings: Settings, headers: dict[str, str], sink: ProgressSink, failures: int) -> int:
    """One piece from the source whose turn ``slot`` names; the worker's consecutive failures after it."""
    src = run.source(slot)
    if src is None:
        raise DownloadError("no source is left to fetch the file's pieces from")
    a, b = piece
    with run.lock:
        run.attempts += 1
    sent = headers if src.primary else {k: v for k, v in headers.items() if k.lower() != "authorization"}
    try:
        answer = open_range(session, src.url, policy=policy, timeout=settings.timeout, start=a, end=b,
                            validator=src.validator, headers=sent)
    except NETWORK_ERRORS as e:
        run.give_back(piece)
        if run.fault(src, type(e).__name__):
            return failures
        failures += 1
        if exhausted(settings, failures):
            raise DownloadError(f"giving up on {src.url} after {failures} failed connections",
                                url=src.url) from None
        settings.sleep(backoff(settings, failures))
        return failures
    with answer:
        resp = answer.resp
        status = resp.status_code
        if answer.kind == "busy":  # too many connections, or busy: one fewer, and wait
            run.give_back(piece)
            with run.lock:
                run.target = max(1, run.target - 1)
                # With others fetching, it says "fewer connections" (as it is told, in ``target``), not that
                # the source fails: only a refusal of a connection on its own counts towards giving up.
                alone = run.fetching <= 1
            failures += alone
            if exhausted(settings, failures):
                raise DownloadError(f"{src.url} answered HTTP {status} {failures} times", url=src.url,
                                    status=status)
            settings.sleep(backoff(settings, max(failures, 1), answer.wait))
            return failures
        if answer.kind in ("whole", "other-range"):
            run.give_back(piece)  # ranges ignored, or the file changed there (If-Range failed)
            if not run.fault(src, f"HTTP {status} to a range request", fatal=True):
                with run.turn:
                    run.abandon = f"HTTP {status} to a range request"
                    run.turn.notify_all()
                raise _Abandoned
            return failures
        if answer.kind != "range":
            run.give_back(piece)
            if run.fault(src, f"HTTP {status}", fatal=True):
                return failures
            raise answer.refusal(src.url)
        try:
            got = write_piece(resp, path, a, b, sink, record=run.record,
                              stop=lambda: run.error is not None or run.abandon is not None)
        except NETWORK_ERRORS:
            got = -1
        if got < 0 or a + got < b:  # cut mid-piece: what arrived is recorded, the rest goes back
            done_to = a + max(got, 0)
            with run.lock:
                have = next((r[1] for r in run.done if r[0] <= a < r[1]), a)
            run.give_back([max(done_to, have), b])
            if run.fault(src, "connection cut"):
                return failures
            failures += 1
            if exhausted(settings, failures):
                raise DownloadError(f"giving up on {src.url}: the connection broke {failures} times",
                                    url=src.url)
            settings.sleep(backoff(settings, failures))
            return failures
        return 0
