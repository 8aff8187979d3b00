"""Where a conversion writes: a new name beside the target, renamed into place once everything is written, so
an interrupted or failed conversion leaves nothing half-written under the name the user gave."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import HubError, OutputWriteError, UsageError
from registry.modes import for_others


@dataclass
class Converted:
    """What a conversion wrote, and what a user must know to get the same logits from it."""

    out: Path
    files: list[Path]
    size: int
    notes: list[str] = field(default_factory=list)


def check_target(out: Path, *, overwrite: bool) -> None:
    """Refuse before any work is done when ``out`` holds something and ``overwrite`` was not asked for."""
    if out.exists() and not overwrite and (out.is_file() or any(out.iterdir())):
        raise UsageError(f"{out} already exists; choose a new name, or overwrite it")


def _flush(path: Path) -> None:
    """Put ``path``'s bytes on the disk before it is renamed into place: after a crash, a name is either absent or
    whole, never an empty or short file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """A fresh folder beside ``out`` to write into; on success it becomes ``out`` (the old one removed after)."""
    check_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".hub-convert", dir=out.parent))
    try:
        with _named(out):
            yield stage
        for path in stage.iterdir():
            _flush(path)
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
    """A temporary name beside ``out`` to write into; renamed over ``out`` on success, removed on failure."""
    check_target(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".hub-convert", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with _named(out):
            yield tmp
        _flush(tmp)
        for_others(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
