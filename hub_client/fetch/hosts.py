"""What earlier downloads measured of each host, kept in the hub home (``hosts.json``), so the next download
from it starts the way that suited it, before its first byte: over several connections at once from a host
that caps each one (a far CDN), over one stream from a host that one stream fills (a LAN mirror).

One line per host: the speed one connection got, and the number of connections the fastest run used. It is a
hint: a download still measures and adapts as it goes, and a record older than ``MAX_AGE`` is forgotten. A
file that cannot be read or written is no hint at all, never an error.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from registry.atomic import write_text

FILE_NAME = "hosts.json"
#: Seconds after which what was measured of a host is forgotten (a CDN's caps change; a laptop moves).
MAX_AGE = 30 * 24 * 3600.0
#: At most this many hosts are kept (the most recent).
MAX_HOSTS = 200


@dataclass(frozen=True)
class HostSpeed:
    """What a download from a host measured: bytes/s over one connection, and the connections that ran best."""

    per_connection: float
    connections: int
    at: float


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _read(home: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads((home / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known(home: Path, url: str) -> HostSpeed | None:
    """What was measured of ``url``'s host, when it is recent; else None."""
    entry = _read(home).get(host_of(url))
    try:
        found = HostSpeed(float(entry["per_connection"]), int(entry["connections"]), float(entry["at"]))  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None
    return found if 0 <= time.time() - found.at < MAX_AGE and found.connections >= 1 else None


def remember(home: Path, url: str, per_connection: float, connections: int) -> None:
    """Keep what a download from ``url``'s host measured (silently not, when the home cannot be written)."""
    data = _read(home)
    data[host_of(url)] = {"per_connection": round(per_connection), "connections": connections, "at": time.time()}
    newest = sorted(data.items(), key=lambda kv: -float(kv[1].get("at", 0)) if isinstance(kv[1], dict) else 0)
    with contextlib.suppress(OSError):
        write_text(home / FILE_NAME, json.dumps(dict(newest[:MAX_HOSTS]), indent=1) + "\n")
