"""The one HTTP layer every download and question goes through: the session, the policy-checked GET, the one
backoff, and the resumable ranged request.

Each network call in the project (a single stream, a parallel download's pieces, the mirror's pull-through
flights, listings, searches and HEADs) is made here, so every wait has the same bound: a pause doubles from
``settings.backoff`` with jitter up to :data:`MAX_BACKOFF`, a server's ``Retry-After`` is honoured up to
:data:`MAX_RETRY_AFTER` (a server asking for more is treated as down), and a caller gives up after
``settings.retries`` failures in a row without progress.
"""

from __future__ import annotations

import email.utils
import http.client
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from registry.errors import DownloadError
from registry.settings import Settings

from .policy import Policy

__all__ = [
    "MAX_BACKOFF", "MAX_REDIRECTS", "MAX_RETRY_AFTER", "NETWORK_ERRORS", "RETRY_STATUS", "TIMED_OUT", "Answer",
    "Reader", "announced_size", "backoff", "busy_wait", "exhausted", "open_checked", "open_range", "retry_after",
    "strong_etag", "strong_validator", "thread_session",
]

MAX_REDIRECTS = 10
#: The longest Retry-After we honour; a server asking for more is treated as down.
MAX_RETRY_AFTER = 120.0
#: The longest pause between two attempts, however many failed.
MAX_BACKOFF = 30.0
#: ``DownloadError.code`` of a request that got no answer in time (a gateway answers it 504, not 502).
TIMED_OUT = "Timeout"
#: Answers that say "not now": worth asking again after a pause.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: What a broken, refused or stalled connection raises, from requests, urllib3, http.client or the socket.
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                  urllib3.exceptions.HTTPError, http.client.HTTPException, ConnectionError, TimeoutError)

_local = threading.local()


def thread_session() -> requests.Session:
    """One keep-alive session per thread (requests sessions are not meant to be shared across threads)."""
    if getattr(_local, "session", None) is None:
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, parsed.timestamp() - time.time())


def backoff(settings: Settings, failures: int, wait: float | None = None) -> float:
    """The pause after ``failures`` failures in a row (1 for the first): the server's ``Retry-After`` when it
    gave one, else ``settings.backoff`` doubled per failure with up to a quarter more at random (clients that
    failed together do not come back together), never over :data:`MAX_BACKOFF` / :data:`MAX_RETRY_AFTER`."""
    if wait is not None:
        return min(MAX_RETRY_AFTER, wait)
    return min(MAX_BACKOFF, float(settings.backoff * 2 ** (max(failures, 1) - 1) * (1 + random.random() * 0.25)))


def exhausted(settings: Settings, failures: int) -> bool:
    """The give-up rule: more failures in a row, without a byte of progress, than ``settings.retries``."""
    return failures > settings.retries


def busy_wait(resp: requests.Response, url: str) -> float | None:
    """The wait a busy answer asks for; a wait over :data:`MAX_RETRY_AFTER` is an error (the server is down for
    longer than a command should hang)."""
    wait = retry_after(resp.headers.get("Retry-After"))
    if wait is not None and wait > MAX_RETRY_AFTER:
        raise DownloadError(f"{url} asks to retry after {wait:.0f} s", url=url, status=resp.status_code)
    return wait


def open_checked(session: requests.Session, url: str, headers: dict[str, str], policy: Policy,
                 timeout: float) -> tuple[requests.Response, str]:
    """GET with redirects followed by hand, so every hop is checked against the policy; credentials go to the
    first host only (a hub's CDN gets a signed URL, never the user's token). Returns the streamed answer and
    the URL it came from."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        policy.check(current)
        resp = session.get(current, headers=headers, stream=True, allow_redirects=False, timeout=(timeout, timeout))
        if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
            resp.close()
            nxt = urljoin(current, resp.headers["Location"])
            if urlsplit(nxt).netloc != urlsplit(current).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            current = nxt
            continue
        return resp, current
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects", url=url)


def strong_etag(resp: requests.Response) -> str | None:
    """The answer's ETag when it is strong (``If-Range`` and parallel pieces need one); None for a weak one."""
    etag = resp.headers.get("ETag", "")
    return etag if etag and not etag.startswith("W/") else None


def strong_validator(resp: requests.Response) -> str | None:
    """What ``If-Range`` may name: a strong ETag, else ``Last-Modified``."""
    return strong_etag(resp) or resp.headers.get("Last-Modified")


def announced_size(resp: requests.Response) -> int | None:
    """The whole file's size as an answer states it: a 206's ``Content-Range`` total (its ``Content-Length`` is
    only the range's), a 200's ``Content-Length``; None when it does not say (``bytes 0-9/*``, chunked)."""
    if resp.status_code == 206:
        tail = resp.headers.get("Content-Range", "").rpartition("/")[2]
        return int(tail) if tail.isdigit() else None
    length = resp.headers.get("Content-Length", "")
    return int(length) if resp.status_code == 200 and length.isdigit() else None


#: What an answer to a (possibly ranged) GET means for the caller.
Kind = Literal["range", "whole", "busy", "other-range", "unsatisfiable", "refused"]


def refused(resp: requests.Response, url: str, prefix: str = "") -> DownloadError:
    """The error for an answer that is not the file: the status, and the server's ``X-Error-Code`` and
    ``X-Error-Message`` where it gives them (a hub serve mirror names the policy rule that refused)."""
    said = resp.headers.get("X-Error-Message", "")[:300]
    return DownloadError(f"{prefix or url} answered HTTP {resp.status_code} {resp.reason}"
                         + (f": {said}" if said else ""), url=url, status=resp.status_code,
                         code=resp.headers.get("X-Error-Code"), detail=said)


@dataclass
class Answer:
    """One answer to :func:`open_range`, sorted: ``range`` (206 from the asked start), ``whole`` (200: the range
    was ignored or the file changed since ``validator``), ``busy`` (429/5xx: ask again after ``wait``),
    ``other-range`` (206 from elsewhere), ``unsatisfiable`` (416) or ``refused`` (any other status)."""

    resp: requests.Response
    #: The URL the answer came from, after redirects.
    url: str
    kind: Kind
    wait: float | None = None

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.resp.close()

    def refusal(self, url: str, prefix: str = "") -> DownloadError:
        """The error for a ``refused`` answer, with the status and the server's ``X-Error-Code``."""
        return refused(self.resp, url, prefix)


def open_range(session: requests.Session, url: str, *, policy: Policy, timeout: float, start: int = 0,
               end: int | None = None, validator: str | None = None, headers: dict[str, str] | None = None,
               agent: str = "hub-client") -> Answer:
    """GET ``url`` from byte ``start`` (to ``end``, exclusive, when given) with ``If-Range: validator``, and sort
    the answer. From the first byte to the end no ``Range`` is sent. Bodies come unencoded, as stored.

    Raises:
        DownloadError: more redirects than allowed, or a ``Retry-After`` longer than :data:`MAX_RETRY_AFTER`.
        UnsafeURLError: a hop the policy refuses.
        requests.RequestException and the rest of :data:`NETWORK_ERRORS`: no answer.
    """
    sent = {**(headers or {}), "Accept-Encoding": "identity", "User-Agent": agent}
    if start or end is not None:
        sent["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        if validator:
            sent["If-Range"] = validator
    resp, final = open_checked(session, url, sent, policy, timeout)
    status = resp.status_code
    kind: Kind
    wait = None
    if status in RETRY_STATUS:
        kind = "busy"
        try:
            wait = busy_wait(resp, url)
        except DownloadError:
            resp.close()
            raise
    elif status == 206:
        kind = "range" if resp.headers.get("Content-Range", "").startswith(f"bytes {start}-") else "other-range"
    elif status == 200:
        kind = "whole"
    elif status == 416:
        kind = "unsatisfiable"
    else:
        kind = "refused"
    return Answer(resp, final, kind, wait)


class Reader:
    """``readinto`` straight from the socket, returning what has arrived rather than waiting for the whole buffer.

    A read that waits for 4 MiB (http.client's ``readinto``) leaves a slow link's progress frozen for seconds, and
    an interrupt in the middle of it loses the bytes it had already copied. So a body of known length is read with
    the socket file's ``readinto1`` (one ``recv`` into the caller's buffer: no copy), keeping http.client's count
    of what is left; a chunked body with ``read1``.
    """

    #: The most a chunked body's ``read1`` asks for at once (a copy: kept below the allocator's mmap threshold).
    CHUNKED_READ = 128 << 10

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.fp = getattr(raw, "_fp", None)  # http.client.HTTPResponse
        sock = getattr(self.fp, "fp", None)
        known = self.fp is not None and not getattr(self.fp, "chunked", True) and \
            isinstance(getattr(self.fp, "length", None), int)
        self.sock = sock if known and hasattr(sock, "readinto1") else None

    def readinto(self, view: memoryview) -> int:
        if self.sock is not None and self.fp is not None:
            left = int(self.fp.length or 0)
            n = int(self.sock.readinto1(view[:left] if len(view) > left else view) or 0) if left else 0
            self.fp.length = left - n
            if n == 0 or self.fp.length == 0:
                self.fp.readinto(bytearray(0))  # http.client's own bookkeeping: the body is done, release it
            return n
        if self.fp is not None and hasattr(self.fp, "read1"):
            block = self.fp.read1(min(len(view), self.CHUNKED_READ))
        else:
            block = self.raw.read(len(view), decode_content=False)
        view[: len(block)] = block
        return len(block)


def mirror_urls(url: str, mirrors: tuple[str, ...]) -> list[str]:
    """Each mirror base with the asset's path (and query), in order, then the origin itself."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return [m + tail for m in mirrors] + [url]


def mirror_headers(url: str, settings: Settings) -> dict[str, str]:
    """The bearer token for a URL under one of the mirrors (``HUB_MIRROR_TOKEN``, else ``HF_TOKEN``); nothing
    for any other URL, so a card's own host never sees a team's token."""
    if not any(url.startswith(m + "/") for m in settings.mirrors):
        return {}
    token = settings.mirrors_token
    return {"Authorization": f"Bearer {token}"} if token else {}
