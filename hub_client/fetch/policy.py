"""Which URLs we will fetch: checked before the first byte and again at every redirect.

A card is untrusted input. Its links may say ``file://``, ``http://``, a host we
never agreed to, a private address, or a file name that climbs out of the cache;
each is refused here with the reason, before any connection is made.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from registry.card.hashes import file_name
from registry.config import DEFAULT_ALLOWED_HOSTS
from registry.errors import UnsafeURLError
from registry.settings import Settings

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _private(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _resolves_private(host: str) -> str | None:
    """The first private, loopback, link-local or reserved address ``host`` resolves to, if any."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # the request itself will fail, with its own error
    for info in infos:
        addr = str(info[4][0])
        if _private(addr) or is_loopback(addr):
            return addr
    return None


@dataclass(frozen=True)
class Policy:
    """The rules for one pull; ``Policy.of(settings)`` takes them from the settings.

    ``trusted`` are the hosts the user named (``HUB_ALLOWED_HOSTS``, mirrors): they may be private (a LAN
    mirror). A default host is public: if its name resolves to a private or link-local address (a hijacked
    resolver, DNS rebinding), it is refused.
    """

    hosts: tuple[str, ...] = field(default_factory=tuple)
    allow_http: bool = False
    trusted: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, settings: Settings, *, allow_http: bool | None = None) -> Policy:
        hosts = settings.allowed_hosts
        trusted = tuple(h for h in hosts if h not in DEFAULT_ALLOWED_HOSTS)
        return cls(hosts, settings.allow_http if allow_http is None else allow_http, trusted)

    def host_allowed(self, host: str) -> bool:
        h = host.lower().strip("[]")
        return any(h == a or h.endswith("." + a) for a in self.hosts)

    def check(self, url: str) -> str:
        """The URL if it may be fetched; ``UnsafeURLError`` saying why not otherwise."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as e:
            raise UnsafeURLError(url, f"it is not a valid URL ({e})") from None
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if scheme not in ("https", "http"):
            raise UnsafeURLError(url, f"the {scheme or 'missing'} scheme is not fetched; only https is")
        if not host:
            raise UnsafeURLError(url, "it has no host")
        if parts.username or parts.password:
            raise UnsafeURLError(url, "credentials in a URL would be sent to every mirror and logged")
        if scheme == "http" and not (self.allow_http or is_loopback(host)):
            raise UnsafeURLError(url, "plain http can be altered in transit; use https", plain_http=True)
        if not self.host_allowed(host):
            raise UnsafeURLError(url, f"host {host} is not allowed (allowed: {', '.join(self.hosts)}); "
                                 "add it to HUB_ALLOWED_HOSTS if you trust it")
        if host.lower().strip("[]") in self.trusted or is_loopback(host) and scheme == "http":
            return url
        if _private(host):
            raise UnsafeURLError(url, f"{host} is a private or link-local address; list it in HUB_ALLOWED_HOSTS "
                                 "to fetch from it")
        if not _is_ip(host):
            addr = _resolves_private(host)
            if addr:
                raise UnsafeURLError(url, f"{host} resolves to the private address {addr}; a public host should "
                                     "not (hijacked DNS?); list the host in HUB_ALLOWED_HOSTS if this is expected")
        return url


def safe_file_name(url: str) -> str:
    """The file name a URL ends with, refused when it could leave the folder it is written to."""
    try:
        urlsplit(url)
    except ValueError as e:
        raise UnsafeURLError(url, f"it is not a valid URL ({e})") from None
    name = file_name(url)  # the same name the registry recorded for the asset
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name or name.startswith("."):
        raise UnsafeURLError(url, f"its file name {name!r} could escape the cache folder")
    return name
