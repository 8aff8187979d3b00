"""How often each file was fetched through the mirror, and when last: what the catalogue page sorts by
("downloads through the mirror", "last fetched") and a model page shows.

A fetch is a GET of a whole file (no ``Range``, or one from byte 0) answered 200 or 206: a Hugging Face repo's
file, or a MindSpore Hub asset under its upstream path. A HEAD, a resumed or parallel range, a refusal is
none. Files are counted apart and a model's count is its most fetched file's, so one ``snapshot_download``
(README, config and weights) counts once. Counts live in a small SQLite file beside the storage (in memory
when none is given) and survive restarts; a count is written as it happens, in one statement.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = "CREATE TABLE IF NOT EXISTS fetches (key TEXT PRIMARY KEY, count INTEGER NOT NULL, last TEXT NOT NULL)"


@dataclass(frozen=True)
class Count:
    """Fetches of a model's most fetched file, and when any of its files was last fetched (ISO 8601, UTC)."""

    count: int
    last: str | None


def file_key(path: str) -> str | None:
    """What a request path counts as: ``hf:ORG/NAME/FILE`` for a repo file, ``ms:/PATH`` for an asset under
    its upstream path; None for anything else (pages, the API, blobs by digest)."""
    parts = path.split("/")
    if len(parts) > 5 and parts[3] == "resolve":
        return f"hf:{parts[1]}/{parts[2]}/{'/'.join(parts[5:])}"
    if parts[1:2] in (["toolkits"], ["models"]):
        return f"ms:{path}"
    return None


def asset_key(url_path: str) -> str:
    """The key of a MindSpore Hub asset under its upstream path (``/toolkits/…``)."""
    return f"ms:{url_path}"


class Fetches:
    """The counts, kept in ``path`` (a SQLite file, made if missing) or, with None, in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False,
                                     isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            if path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def add(self, key: str, when: str) -> None:
        """One more fetch of the file ``key``, at ``when``."""
        with self._lock:
            self._conn.execute("INSERT INTO fetches VALUES (?, 1, ?) ON CONFLICT(key) DO UPDATE SET "
                               "count = count + 1, last = excluded.last", [key, when])

    def all(self) -> dict[str, tuple[int, str]]:
        """Every file's count and last fetch, by key: read once per page."""
        with self._lock:
            return {k: (c, t) for k, c, t in self._conn.execute("SELECT key, count, last FROM fetches")}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def grouped(counts: dict[str, tuple[int, str]]) -> dict[str, Count]:
    """The counts by model: ``hf:ORG/NAME`` for a Hugging Face repo (its most fetched file's count, its latest
    fetch), ``ms:/PATH`` for each asset as it is."""
    out: dict[str, Count] = {}
    for key, (count, last) in counts.items():
        model = "/".join(key.split("/")[:2]) if key.startswith("hf:") else key
        out[model] = combined([out[model], Count(count, last)]) if model in out else Count(count, last)
    return out


def combined(counts: Iterable[Count]) -> Count:
    """A card's count from its files': the most fetched one's count, the latest fetch of any."""
    found = [c for c in counts if c.count]
    if not found:
        return Count(0, None)
    return Count(max(c.count for c in found), max(c.last or "" for c in found) or None)
