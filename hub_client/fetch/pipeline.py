"""Bytes from a socket into a file, hashed on the way: three stages on three threads, one pass over memory.

A verified download costs what its slowest stage costs, not the sum of the three:
hashlib, ``os.pwrite`` and socket reads all release the GIL for blocks this size.
What made the difference (``python -m bench.download`` measures each):

- Buffers are reused (a ring of ``slots``). A fresh 1 MiB object per block is an
  mmap and munmap in a new process, with TLB shootdowns across the threads.
- Whole blocks at block-aligned offsets bypass the page cache (``O_DIRECT``) where
  the file system allows it. Copying into the page cache costs the kernel CPU time
  per byte, more under memory pressure; the disk takes the same bytes by DMA. The
  tail, and any offset that is not aligned, goes through the page cache as usual.
  ``HUB_DIRECT_IO=0`` turns this off.
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

#: Bytes per read, hash and write. Bigger blocks mean fewer GIL hand-offs between the three threads
#: (``python -m bench.download`` compares block sizes' effect on the whole pull).
CHUNK = 4 << 20
#: Seconds between two progress reports while a block fills (a slow link moves the bar, not only each block).
TICK = 0.2
#: Offset, length and memory alignment that O_DIRECT asks for (the largest logical block size in common use).
ALIGN = 4096


#: What a file system answers to a direct write it will not do (alignment, or O_DIRECT not supported).
_REFUSED = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def _pwrite(fd: int, data: memoryview, pos: int) -> int:
    """``os.pwrite``, or seek and write where it is missing (Windows); one writer thread per file either way."""
    if hasattr(os, "pwrite"):
        return os.pwrite(fd, data, pos)
    os.lseek(fd, pos, os.SEEK_SET)
    return os.write(fd, data)


class Readable(Protocol):
    def readinto(self, view: memoryview) -> int: ...


class PartFile:
    """The partial file, written at explicit offsets; aligned whole blocks go straight to the disk.

    Two descriptors of one file: the plain one for what is not aligned (and for fsync and truncate),
    the ``O_DIRECT`` one when the file system accepts it. A file system that refuses a direct write
    (EINVAL, EOPNOTSUPP) gets every later byte through the page cache: slower, never wrong.
    """

    def __init__(self, path: Path, *, direct: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        self.fd = os.open(path, flags, 0o644)
        self.dfd = -1
        if direct and hasattr(os, "O_DIRECT"):
            try:
                self.dfd = os.open(path, (flags & ~os.O_CREAT) | os.O_DIRECT)
            except OSError:  # tmpfs and some network file systems: the page cache only
                self.dfd = -1

    @property
    def direct(self) -> bool:
        return self.dfd >= 0

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def write_at(self, view: memoryview, pos: int) -> None:
        """Write all of ``view`` at ``pos``: a short write is continued, a write of nothing is a full disk."""
        while view:
            fd, n = self.fd, len(view)
            if self.dfd >= 0 and pos % ALIGN == 0 and n >= ALIGN:
                fd, n = self.dfd, n - n % ALIGN
            try:
                done = _pwrite(fd, view[:n], pos)
            except OSError as e:
                if fd == self.dfd and e.errno in _REFUSED:
                    self._no_direct()
                    continue
                raise
            if not done:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view, pos = view[done:], pos + done

    def truncate(self, size: int = 0) -> None:
        os.ftruncate(self.fd, size)

    def sync(self) -> None:
        os.fsync(self.fd)

    def _no_direct(self) -> None:
        os.close(self.dfd)
        self.dfd = -1

    def close(self) -> None:
        if self.dfd >= 0:
            self._no_direct()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> PartFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Slot:
    __slots__ = ("buf", "view", "n", "pos", "pending", "lock")

    def __init__(self, size: int) -> None:
        self.buf = mmap.mmap(-1, size)  # page-aligned, as O_DIRECT needs
        self.view = memoryview(self.buf)
        self.n = 0
        self.pos = 0
        self.pending = 0
        self.lock = threading.Lock()


class Pipeline:
    """Read into a ring of reused buffers; hash and write each on two worker threads meanwhile.

    ``pos`` is the file offset after the last byte read, and stays right when a read fails half-way
    (the bytes that did arrive are hashed and written), so a retry continues from there. Blocks stay
    in order; memory stays at ``slots`` blocks.
    """

    def __init__(self, hasher: Any, out: PartFile, pos: int, slots: int = 8, size: int = CHUNK,
                 progress: Callable[[int], None] | None = None) -> None:
        #: Told the bytes read, at least every ``TICK`` seconds while they come, whatever the block size.
        self.progress = progress
        self.error: BaseException | None = None
        self.closed = False
        self.pos = pos
        self.free: queue.Queue[_Slot] = queue.Queue()
        for _ in range(slots):
            self.free.put(_Slot(size))
        self.queues: list[queue.Queue[_Slot | None]] = [queue.Queue(), queue.Queue()]
        stages: list[Callable[[_Slot], Any]] = [lambda s: hasher.update(s.view[: s.n]),
                                                lambda s: out.write_at(s.view[: s.n], s.pos)]
        self.threads = [threading.Thread(target=self._run, args=(q, fn), daemon=True)
                        for q, fn in zip(self.queues, stages, strict=True)]
        for t in self.threads:
            t.start()

    def _run(self, q: queue.Queue[_Slot | None], fn: Callable[[_Slot], Any]) -> None:
        while (slot := q.get()) is not None:
            if self.error is None:
                try:
                    fn(slot)
                except BaseException as e:  # e.g. disk full: reported to the reader at its next block
                    self.error = e
            with slot.lock:  # released even after an error, so the reader never waits forever
                slot.pending -= 1
                if slot.pending == 0:
                    self.free.put(slot)

    def read_from(self, fp: Readable, limit: int) -> int:
        """Fill the next buffer from ``fp`` (at most ``limit`` bytes) and hand it on; 0 at the end.

        A buffer is filled to the brim before it is handed on, so every write but the last starts and ends
        on a block boundary; after an unaligned start (a resumed file) the first read stops at the boundary.
        """
        if self.error is not None:
            raise self.error
        slot = self.free.get()
        want = max(1, min(len(slot.buf), limit))
        if self.pos % ALIGN:
            want = min(want, ALIGN - self.pos % ALIGN)
        n = told = 0
        last = time.monotonic()
        try:
            while n < want:
                got = int(fp.readinto(slot.view[n:want]) or 0)
                if not got:
                    break
                n += got
                if self.progress is not None and time.monotonic() - last >= TICK:
                    self.progress(n - told)
                    told, last = n, time.monotonic()
        finally:
            if self.progress is not None and n > told:
                self.progress(n - told)
            if n:
                slot.n, slot.pos, slot.pending = n, self.pos, len(self.queues)
                self.pos += n
                for q in self.queues:
                    q.put(slot)
            else:
                self.free.put(slot)
        return n

    def close(self) -> None:
        """Wait until every block handed on is hashed and written; raise what a worker hit. Idempotent."""
        if not self.closed:
            self.closed = True
            for q in self.queues:
                q.put(None)
            for t in self.threads:
                t.join()
        if self.error is not None:
            raise self.error
