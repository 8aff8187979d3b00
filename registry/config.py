"""Settings from environment variables, read at call time (never at import) so tests can monkeypatch them."""

from __future__ import annotations

import os
from pathlib import Path


def hub_home() -> Path:
    """``HUB_HOME``, else the platform cache directory (``$XDG_CACHE_HOME/hub`` or ``~/.cache/hub``)."""
    env = os.environ.get("HUB_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "hub"


def offline() -> bool:
    """``HUB_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``): no network calls at all."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HUB_OFFLINE", "HF_HUB_OFFLINE"))


def http_timeout() -> float:
    """``HUB_TIMEOUT`` seconds for connecting and for each read (default 10)."""
    try:
        return float(os.environ.get("HUB_TIMEOUT", "10"))
    except ValueError:
        return 10.0


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout (not from an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "cards").is_dir() and (root / "registry").is_dir():
        return root
    return None


def registry_path() -> Path:
    """``HUB_REGISTRY``; else ``registry.db`` at the checkout root; else ``registry.db`` under ``hub_home()``."""
    env = os.environ.get("HUB_REGISTRY")
    if env:
        return Path(env).expanduser()
    root = checkout_root()
    return root / "registry.db" if root else hub_home() / "registry.db"


def bundled_cards() -> Path:
    """The project's own cards: inside the installed package, or ``cards/`` of the checkout."""
    packaged = Path(__file__).resolve().parent / "cards"
    if packaged.is_dir():
        return packaged
    root = checkout_root()
    return root / "cards" if root else packaged
