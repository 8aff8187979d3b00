"""Writes that are whole or absent: a staging name beside the target, renamed over it once complete.

Every file the hub writes for later reading (a kept card, a ref, a listing, a verified mark, a converted
checkpoint) goes through here, so a killed process or a full disk never leaves a short file under a name that
a reader trusts. The staging name is unique per process and thread (two writers never share one), starts with
a dot (listings skip it) and is removed when the write fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HubError, OutputWriteError, UsageError
from .modes import for_others


def staging_name(path: Path) -> Path:
    """A name beside ``path`` no other writer uses: ``.<name>.<pid>.<thread>.tmp``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def flush(path: Path) -> None:
    """Put ``path``'s bytes on the disk before it is renamed into place: after a power cut, a name is either
    absent or whole, never an empty or short file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes, *, fsync: bool = False, shared: bool = False) -> Path:
    """``data`` as the whole of ``path``, or nothing (``OSError`` and no staging file left behind).

    ``fsync`` flushes it to the disk first (a file that must survive a power cut); ``shared`` gives it the modes
    the user's umask gives others (a file other accounts read, as ``tempfile`` makes it private).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_name(path)
    try:
        tmp.write_bytes(data)
        if fsync:
            flush(tmp)
        if shared:
            for_others(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: Path, text: str, *, fsync: bool = False, shared: bool = False) -> Path:
    """``text`` (UTF-8) as the whole of ``path``, or nothing; see :func:`write_bytes`."""
    return write_bytes(path, text.encode("utf-8"), fsync=fsync, shared=shared)


def check_target(out: Path, *, overwrite: bool) -> None:
    """Refuse before any work is done when ``out`` holds something and ``overwrite`` was not asked for."""
    if out.exists() and not overwrite and (out.is_file() or any(out.iterdir())):
        raise UsageError(f"{out} already exists; choose a new name, or overwrite it")


@contextmanager
def _named(out: Path) -> Iterator[None]:
    """A write that fails is told by the name the user gave, never by the staging name it was written under."""
    try:
        yield
    except OSError as e:
        if isinstance(e, HubError):
            raise
        raise OutputWriteError(out, e) from None


@contextmanager
def staged_dir(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """A fresh folder beside ``out`` to write into; on success it becomes ``out`` (the old one removed after),
    every file flushed and readable as the umask says."""
    check_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".hub-stage", dir=out.parent))
    try:
        with _named(out):
            yield stage
        for path in stage.iterdir():
            flush(path)
        for_others(stage)
        old = None
        if out.exists():
            old = out.with_name(stage.name + ".old")
            os.replace(out, old)
        os.replace(stage, out)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def staged_file(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """A staging name beside ``out`` to write into; renamed over ``out`` on success (flushed, readable as the
    umask says), removed on failure."""
    check_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".hub-stage", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with _named(out):
            yield tmp
        flush(tmp)
        for_others(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
