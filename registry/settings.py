"""The one settings object: every knob of the hub, read from the environment once, at an edge, and passed down.

The edges are the CLI (one ``Settings.from_env()`` per command), the public functions (``pull``,
``load_model``, ``predict``, ``evaluate``, ``Registry``: ``settings=None`` means the environment's, as
huggingface_hub's ``endpoint=None`` means ``HF_ENDPOINT``) and ``hub serve``. Nothing below them reads
``os.environ``: a library caller, a test or the server builds ``Settings(home=...)`` and gets exactly that,
whatever the process's variables say, and a server never rewrites them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_ALLOWED_HOSTS, DEFAULT_CATALOG_URL
from .errors import UsageError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
DEFAULT_ENDPOINT = "https://huggingface.co"


def _default_home() -> Path:
    return Path.home() / ".cache" / "hub"


def _default_hf_cache() -> Path:
    return Path.home() / ".cache" / "huggingface" / "hub"


@dataclass(frozen=True)
class Settings:
    """Where the hub keeps things, whom it asks, how long it waits: one frozen value for one command or server.

    ``Settings()`` holds the defaults with no environment consulted; ``Settings.from_env()`` reads the ``HUB_*``
    and ``HF_*`` variables (each one's meaning is in the README's reference); ``settings.but(home=...)`` is a
    copy with some fields changed.
    """

    #: ``HUB_HOME``: the cache, the user's registry, kept cards and listings, built engines.
    home: Path = field(default_factory=_default_home)
    #: ``HUB_REGISTRY``: the registry file; None means ``registry.db`` under ``home``.
    registry_file: Path | None = None
    #: ``HF_HUB_CACHE`` (or ``HF_HOME/hub``): the cache huggingface_hub and transformers share.
    hf_cache: Path = field(default_factory=_default_hf_cache)
    #: ``HUB_OFFLINE`` or ``HF_HUB_OFFLINE``: no network call at all.
    offline: bool = False
    #: ``HUB_MIRRORS``: base URLs tried in order before an asset's own host.
    mirrors: tuple[str, ...] = ()
    #: ``HUB_MIRROR_TOKEN``: the bearer token for the mirrors; None sends ``hf_token`` there.
    mirror_token: str | None = None
    #: ``HF_ENDPOINT``: the Hugging Face hub (or a server that speaks its API).
    hf_endpoint: str = DEFAULT_ENDPOINT
    #: ``HF_TOKEN`` (or a huggingface_hub login): sent to the Hugging Face endpoint.
    hf_token: str | None = None
    #: ``HUB_ALLOWED_HOSTS``: where assets may come from (the mirrors and the endpoint are added).
    hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    #: ``HUB_ALLOW_HTTP``: plain http to any allowed host (loopback always may).
    allow_http: bool = False
    #: ``HUB_TIMEOUT``: seconds to connect and for each read.
    timeout: float = 10.0
    #: ``HUB_RETRIES``: further attempts after a failed one.
    retries: int = 5
    #: ``HUB_BACKOFF``: the first retry's delay in seconds, doubled each time, with jitter.
    backoff: float = 0.5
    #: ``HUB_MAX_BYTES``: the largest single asset downloaded.
    max_bytes: int = 64 << 30
    #: ``HUB_CONNECTIONS``: the most connections one file is fetched over.
    connections: int = 64
    #: ``HUB_FSYNC``: flush each download to disk before it is renamed into the cache.
    fsync: bool = False
    #: ``HUB_DIRECT_IO``: aligned blocks bypass the page cache where the file system allows.
    direct_io: bool = True
    #: ``HUB_CATALOG_URL``: the archive ``hub update`` reads.
    catalog_url: str = DEFAULT_CATALOG_URL
    #: ``HUB_SERVE_TOKENS``: the read tokens ``hub serve`` accepts; none: no token asked.
    serve_tokens: tuple[str, ...] = ()
    #: ``HUB_SERVE_WRITE_TOKENS``: tokens that may upload to ``hub serve``.
    serve_write_tokens: tuple[str, ...] = ()
    #: ``HUB_SERVE_UPSTREAM_TOKEN``: what ``hub serve`` sends upstream; None sends ``hf_token``.
    serve_upstream_token: str | None = None
    #: ``HUB_SERVE_TTL``: seconds ``hub serve`` trusts a branch or tag upstream confirmed.
    serve_ttl: float = 300.0
    #: ``HUB_TRUST``: a YAML trust policy (who must have signed which models); None asks for no signature.
    trust_file: Path | None = None
    #: How a retry waits (tests pass a recorder instead of sleeping).
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def but(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (field names as keywords)."""
        return replace(self, **changes)

    @property
    def registry(self) -> Path:
        """The user's registry file."""
        return self.registry_file if self.registry_file is not None else self.home / "registry.db"

    @property
    def catalog_dir(self) -> Path:
        """Where ``hub update`` keeps the catalogue's cards, one folder per archive."""
        return self.home / "catalog"

    @property
    def remote_cards(self) -> Path:
        """Where cards fetched from hubs are kept: a source of the user's registry."""
        return self.home / "remote"

    @property
    def listings(self) -> Path:
        """Where the file listings of pulled Hugging Face commits are kept, for offline checks."""
        return self.home / "listings"

    @property
    def engines(self) -> Path:
        """Where built inference engines and their precision verdicts are kept."""
        return self.home / "engines"

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """``hosts``, plus the host of every mirror and of the Hugging Face endpoint. A name matches itself and
        its subdomains (``cdn-lfs.huggingface.co`` under ``huggingface.co``)."""
        found = [h.lower() for h in self.hosts]
        for url in (*self.mirrors, self.hf_endpoint):
            host = urlsplit(url).hostname
            if host and host not in found:
                found.append(host)
        return tuple(found)

    @property
    def mirrors_token(self) -> str | None:
        """The token sent to ``mirrors``: ``mirror_token``, else ``hf_token``."""
        return self.mirror_token or self.hf_token

    @property
    def upstream_token(self) -> str | None:
        """The token ``hub serve`` sends upstream: ``serve_upstream_token``, else ``hf_token``."""
        return self.serve_upstream_token or self.hf_token

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (``os.environ`` unless ``environ``), read now, once.

        Raises:
            UsageError: a variable that cannot mean anything (``HUB_OFFLINE=maybe``, ``HUB_TIMEOUT=soon``,
                ``HUB_HOME`` naming a file), naming it and what to write instead.
        """
        env = _Env(os.environ if environ is None else environ)
        registry = env.text("HUB_REGISTRY")
        connections = int(env.number("HUB_CONNECTIONS", 64, minimum=1, integer=True))
        if connections > 128:
            raise UsageError(f"HUB_CONNECTIONS={connections} is above 128: servers take more as an attack; use 128 "
                             "or fewer")
        return cls(
            home=_home(env),
            registry_file=Path(registry).expanduser() if registry else None,
            hf_cache=_hf_cache(env),
            offline=env.flag("HUB_OFFLINE") or env.flag("HF_HUB_OFFLINE"),
            mirrors=tuple(m.rstrip("/") for m in env.items("HUB_MIRRORS")),
            mirror_token=env.text("HUB_MIRROR_TOKEN") or None,
            hf_endpoint=(env.text("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/"),
            hf_token=_hf_token(env),
            hosts=tuple(h.lower() for h in env.items("HUB_ALLOWED_HOSTS")) or DEFAULT_ALLOWED_HOSTS,
            allow_http=env.flag("HUB_ALLOW_HTTP"),
            timeout=env.number("HUB_TIMEOUT", 10.0, minimum=0.001),
            retries=int(env.number("HUB_RETRIES", 5, minimum=0, integer=True)),
            backoff=env.number("HUB_BACKOFF", 0.5, minimum=0.0),
            max_bytes=int(env.number("HUB_MAX_BYTES", 64 << 30, minimum=1, integer=True)),
            connections=connections,
            fsync=env.flag("HUB_FSYNC"),
            direct_io=env.flag("HUB_DIRECT_IO", default=True),
            catalog_url=env.text("HUB_CATALOG_URL") or DEFAULT_CATALOG_URL,
            serve_tokens=tuple(env.items("HUB_SERVE_TOKENS")),
            serve_write_tokens=tuple(env.items("HUB_SERVE_WRITE_TOKENS")),
            serve_upstream_token=env.text("HUB_SERVE_UPSTREAM_TOKEN") or None,
            serve_ttl=env.number("HUB_SERVE_TTL", 300.0, minimum=0.0),
            trust_file=Path(trust).expanduser() if (trust := env.text("HUB_TRUST")) else None,
        )


def or_env(settings: Settings | None) -> Settings:
    """``settings``, else the environment's: what a public function does with ``settings=None``."""
    return settings if settings is not None else Settings.from_env()


class _Env:
    """Typed reads of one environment mapping, each failing with the variable's name and the fix."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, var: str) -> str:
        return self.environ.get(var, "").strip()

    def items(self, var: str) -> list[str]:
        raw = self.environ.get(var, "").replace(";", ",").replace(" ", ",")
        return [x.strip() for x in raw.split(",") if x.strip()]

    def flag(self, var: str, default: bool = False) -> bool:
        """1/true/yes/on and 0/false/no/off, in any case; unset or empty is the default, anything else a
        ``UsageError`` (``HUB_OFFLINE=maybe`` must not quietly mean "online")."""
        raw = self.environ.get(var, "")
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        if value:
            raise UsageError(f"{var}={raw!r} is neither yes nor no: write 1 or 0 (true/false, yes/no, on/off), or "
                             f"unset it for the default ({'1' if default else '0'})")
        return default

    def number(self, var: str, default: float, *, minimum: float, integer: bool = False) -> float:
        raw = self.text(var)
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


def _home(env: _Env) -> Path:
    raw = env.environ.get("HUB_HOME")
    if raw:
        home = Path(raw).expanduser()
        if home.exists() and not home.is_dir():
            raise UsageError(f"HUB_HOME={raw!r} is a file, not a folder: point it at a folder (it is made if missing)")
        return home
    xdg = env.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "hub"


def _hf_home(env: _Env) -> str:
    return env.environ.get("HF_HOME") or os.path.join(env.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")


def _hf_cache(env: _Env) -> Path:
    if env.environ.get("HF_HUB_CACHE"):
        return Path(env.environ["HF_HUB_CACHE"]).expanduser()
    return Path(_hf_home(env)).expanduser() / "hub"


def _hf_token(env: _Env) -> str | None:
    """The token huggingface_hub would send, without importing it when there plainly is none.

    ``HF_OIDC_RESOURCE``, a login file or Google Colab mean huggingface_hub's own ``get_token`` decides (OIDC
    exchange, OAuth refresh, the Colab vault); otherwise the answer is ``HF_TOKEN`` (or the older
    ``HUGGING_FACE_HUB_TOKEN``) or nothing, as ``get_token`` would give, at a fraction of its import.
    """
    environ = env.environ
    login = Path(os.path.expandvars(environ.get("HF_TOKEN_PATH") or os.path.join(_hf_home(env), "token")))
    if environ.get("HF_OIDC_RESOURCE") or login.expanduser().exists() or _in_colab():
        from huggingface_hub import get_token

        return get_token()
    token = (environ.get("HF_TOKEN") or environ.get("HUGGING_FACE_HUB_TOKEN") or "").replace("\r", "").replace("\n", "")
    return token.strip() or None


def _in_colab() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False
