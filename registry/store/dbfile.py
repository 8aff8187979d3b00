"""The registry's database file: whether it can be written, opening it read-only in a shared home, and copying
the bundled one into place whole."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from registry.errors import ReadOnlyError


def writable(path: Path) -> bool:
    """Whether the registry file (and the folder its journal goes in) can be written, or created."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return not folder.is_dir() or os.access(folder, os.W_OK)  # under a file: not read-only, an error to report


def open_read_only(found: Path | None, wanted: Path) -> sqlite3.Connection:
    """A read-only connection to ``found`` (the user's registry, or the bundled one when a read-only home has
    none). A WAL database in a folder one cannot write is opened as immutable: nothing writes it meanwhile."""
    if found is None or not found.is_file():
        raise ReadOnlyError(wanted.parent, "creating the registry")
    uri = found.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def copy_database(src: Path, dest: Path) -> None:
    """A copy of ``src``, renamed into place when whole; with SQLite's backup when a WAL may hold pages."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    if src.with_name(src.name + "-wal").exists():
        source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(str(tmp))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:  # a plain file copy leaves no -shm/-wal beside a committed file
        shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def connect(path: Path, seed: Path | None) -> tuple[sqlite3.Connection, bool]:
    """(connection, read-only) to the registry at ``path``: made from ``seed`` (the bundled registry) when it does
    not exist yet; opened read-only where it cannot be written (``seed`` stands in when a read-only home has none).
    """
    if not writable(path):
        return open_read_only(path if path.exists() else seed, path), True
    path.parent.mkdir(parents=True, exist_ok=True)
    if seed is not None and not path.exists() and seed.resolve() != path.resolve():
        copy_database(seed, path)
    return sqlite3.connect(str(path), timeout=30), False
