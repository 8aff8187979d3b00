"""Settings from environment variables, read at call time (never at import) so tests can monkeypatch them."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError

#: The source kind (and label) of the project's own cards in the registry.
BUNDLED = "bundled"
#: The source kind (and label) of cards fetched from a hub by name.
REMOTE = "remote"
#: The source kind (and label) of the MindSpore Hub catalogue that ``hub update`` fetches.
CATALOG = "catalog"
#: Upstream's card repository as an archive: mindspore-ai/hub, whose mshub_res/assets holds every card.
DEFAULT_CATALOG_URL = "https://github.com/mindspore-ai/hub/archive/refs/heads/master.tar.gz"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(var: str, default: bool = False) -> bool:
    """A yes/no setting: 1/true/yes/on and 0/false/no/off, in any case; unset or empty is the default, and
    anything else a ``UsageError`` (``HUB_OFFLINE=maybe`` must not quietly mean "online")."""
    raw = os.environ.get(var, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise UsageError(f"{var}={raw!r} is neither yes nor no: write 1 or 0 (true/false, yes/no, on/off), or unset "
                         f"it for the default ({'1' if default else '0'})")
    return default


def hub_home() -> Path:
    """``HUB_HOME``, else the platform cache directory (``$XDG_CACHE_HOME/hub`` or ``~/.cache/hub``)."""
    env = os.environ.get("HUB_HOME")
    if env:
        home = Path(env).expanduser()
        if home.exists() and not home.is_dir():
            raise UsageError(f"HUB_HOME={env!r} is a file, not a folder: point it at a folder (it is made if missing)")
        return home
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "hub"


def offline() -> bool:
    """``HUB_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``): no network calls at all."""
    return _flag("HUB_OFFLINE") or _flag("HF_HUB_OFFLINE")


def _number(var: str, default: float, *, minimum: float, integer: bool = False) -> float:
    """A numeric setting; one that is not a number, or below ``minimum``, is a ``UsageError`` naming it."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise UsageError(f"{var}={raw!r} is not {'a whole number' if integer else 'a number'}; unset it for the "
                         f"default ({default:g})") from None
    if value < minimum or value != value:  # NaN compares false with everything
        raise UsageError(f"{var}={raw!r} is below {minimum:g}; unset it for the default ({default:g})")
    return value


def http_timeout() -> float:
    """``HUB_TIMEOUT`` seconds for connecting and for each read (default 10)."""
    return _number("HUB_TIMEOUT", 10.0, minimum=0.001)


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout (not from an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "cards").is_dir() and (root / "registry").is_dir():
        return root
    return None


def registry_path() -> Path:
    """``HUB_REGISTRY``; else ``registry.db`` under ``hub_home()``: the user's registry, never a file of a checkout.

    Whatever a user indexes goes there, so ``hub index`` in a checkout leaves the committed ``registry.db``
    (the bundled catalogue) as it is.
    """
    env = os.environ.get("HUB_REGISTRY")
    if env:
        return Path(env).expanduser()
    return hub_home() / "registry.db"


def bundled_registry() -> Path | None:
    """The committed ``registry.db`` of a checkout: the bundled cards, indexed. A new user registry starts as a
    copy of it, so the first command pays no card parsing; None outside a checkout."""
    root = checkout_root()
    found = root / "registry.db" if root else None
    return found if found is not None and found.is_file() else None


def catalog_url() -> str:
    """``HUB_CATALOG_URL``, else upstream's archive of the MindSpore Hub card repository."""
    return os.environ.get("HUB_CATALOG_URL", "").strip() or DEFAULT_CATALOG_URL


def catalog_dir() -> Path:
    """Where ``hub update`` keeps the catalogue's cards (``HUB_HOME/catalog``), one folder per archive."""
    return hub_home() / "catalog"


def remote_cards() -> Path:
    """Where cards fetched from hubs are kept (``HUB_HOME/remote``): a source of the user's registry."""
    return hub_home() / "remote"


def bundled_cards() -> Path:
    """The project's own cards: inside the installed package, or ``cards/`` of the checkout."""
    packaged = Path(__file__).resolve().parent / "cards"
    if packaged.is_dir():
        return packaged
    root = checkout_root()
    return root / "cards" if root else packaged


#: Hosts assets may come from unless HUB_ALLOWED_HOSTS says otherwise.
DEFAULT_ALLOWED_HOSTS = ("download-mindspore.osinfra.cn", "download.mindspore.cn", "huggingface.co", "hf-mirror.com")


def _list(var: str) -> list[str]:
    return [x.strip() for x in os.environ.get(var, "").replace(";", ",").replace(" ", ",").split(",") if x.strip()]


def allowed_hosts() -> list[str]:
    """``HUB_ALLOWED_HOSTS`` (comma-separated; replaces the defaults), plus the hosts of every mirror.

    A name matches itself and its subdomains (``cdn-lfs.huggingface.co`` under ``huggingface.co``).
    """
    from urllib.parse import urlsplit

    hosts = _list("HUB_ALLOWED_HOSTS") or list(DEFAULT_ALLOWED_HOSTS)
    for m in mirrors():
        host = urlsplit(m).hostname
        if host and host not in hosts:
            hosts.append(host)
    endpoint_host = urlsplit(hf_endpoint()).hostname
    if endpoint_host and endpoint_host not in hosts:
        hosts.append(endpoint_host)
    return hosts


def mirrors() -> list[str]:
    """``HUB_MIRRORS``: base URLs tried in order before an asset's own host (which is tried last)."""
    return [m.rstrip("/") for m in _list("HUB_MIRRORS")]


def mirror_token() -> str | None:
    """``HUB_MIRROR_TOKEN``: the bearer token sent to ``HUB_MIRRORS`` hosts (a ``hub serve`` with
    ``HUB_SERVE_TOKENS``); None means ``HF_TOKEN`` is sent there instead, as to any Hugging Face endpoint. Never
    sent to a card's own host."""
    return os.environ.get("HUB_MIRROR_TOKEN", "").strip() or None


def allow_http() -> bool:
    """``HUB_ALLOW_HTTP=1``: accept plain http to any allowed host (loopback is always accepted)."""
    return _flag("HUB_ALLOW_HTTP")


def max_download_bytes() -> int:
    """``HUB_MAX_BYTES``: the largest single asset we will download (default 64 GiB)."""
    return int(_number("HUB_MAX_BYTES", 64 << 30, minimum=1, integer=True))


def connections() -> int:
    """``HUB_CONNECTIONS``: the most connections one file is fetched over (default 32; aria2c allows 16 per server,
    huggingface_hub's hf_transfer used 100); 1 keeps every download to a single stream. Connections are added
    only while they make the download faster, so a link that one stream fills never gets a second."""
    value = int(_number("HUB_CONNECTIONS", 32, minimum=1, integer=True))
    if value > 128:
        raise UsageError(f"HUB_CONNECTIONS={value} is above 128: servers take more as an attack; use 128 or fewer")
    return value


def retries() -> int:
    """``HUB_RETRIES``: further attempts after a failed one, per URL (default 5)."""
    return int(_number("HUB_RETRIES", 5, minimum=0, integer=True))


def backoff_base() -> float:
    """``HUB_BACKOFF``: first retry delay in seconds, doubled each time, with jitter (default 0.5)."""
    return _number("HUB_BACKOFF", 0.5, minimum=0.0)


def hf_endpoint() -> str:
    """``HF_ENDPOINT`` as huggingface_hub reads it, but at call time (huggingface_hub reads it at import)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hf_cache_dir() -> Path:
    """``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``, read at call time: the cache
    huggingface_hub and transformers share, where Hugging Face repos go."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def fsync() -> bool:
    """``HUB_FSYNC=1``: flush each download to disk before it is renamed into the cache.

    Off by default, as in curl, pooch and huggingface_hub: a killed process loses nothing either way (the page
    cache outlives it); only a power cut can, and flushing costs about a second per GB here.
    """
    return _flag("HUB_FSYNC")


def direct_io() -> bool:
    """``HUB_DIRECT_IO=0``: write downloads through the page cache only.

    On by default: whole aligned blocks go to the disk with ``O_DIRECT`` where the file system takes it,
    which spares the CPU the copy into the page cache (``python -m bench.download`` measures it). Turn it off
    on a disk slower than the network, or to keep a fresh download in the page cache for an immediate load.
    """
    return _flag("HUB_DIRECT_IO", default=True)


def serve_tokens() -> list[str]:
    """``HUB_SERVE_TOKENS``: the team's bearer tokens ``hub serve`` accepts (comma-separated); none: no token is
    asked, and the server listens on loopback only unless told ``--public``."""
    return [t for t in _list("HUB_SERVE_TOKENS") if t]


def serve_write_tokens() -> list[str]:
    """``HUB_SERVE_WRITE_TOKENS``: bearer tokens that may upload team repos to ``hub serve`` (they read too); none:
    the mirror takes no uploads."""
    return [t for t in _list("HUB_SERVE_WRITE_TOKENS") if t]


def serve_upstream_token() -> str | None:
    """``HUB_SERVE_UPSTREAM_TOKEN``: the token ``hub serve`` sends upstream (else ``HF_TOKEN`` or a login), never
    passed on to clients."""
    return os.environ.get("HUB_SERVE_UPSTREAM_TOKEN", "").strip() or None


def serve_ttl() -> float:
    """``HUB_SERVE_TTL``: seconds ``hub serve`` trusts a branch or tag after upstream confirmed it (default 300)."""
    return _number("HUB_SERVE_TTL", 300.0, minimum=0.0)
