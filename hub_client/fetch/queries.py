"""Questions to a server whose answers fit in memory: a JSON document (a repo's listing, a search) and a file's
metadata (a HEAD), with the same rules as every transfer: each redirect checked, credentials to the first host
only, time-outs, 5xx and 429 retried with backoff, an unreachable host failing at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from registry.errors import DownloadError
from registry.network import unreachable
from registry.settings import Settings

from .http_layer import (
    MAX_REDIRECTS,
    NETWORK_ERRORS,
    RETRY_STATUS,
    TIMED_OUT,
    backoff,
    busy_wait,
    exhausted,
    open_checked,
    refused,
)
from .policy import Policy

#: The largest JSON answer read (a repo listing of many thousand files stays far below).
MAX_JSON_BYTES = 64 << 20


def request_json(url: str, *, session: requests.Session, policy: Policy, settings: Settings,
                 headers: dict[str, str] | None = None) -> Any:
    """GET a JSON document with the transfer's rules: every redirect checked, credentials to the first host
    only, time-outs, 5xx and 429 retried with backoff, an unreachable host failing at once.

    Raises:
        DownloadError: an answer other than 200 (with ``status`` and the server's ``X-Error-Code`` as ``code``),
            a body that is not JSON or is too large, or no answer after retries.
    """
    return request_json_page(url, session=session, policy=policy, settings=settings, headers=headers)[0]


def request_json_page(url: str, *, session: requests.Session, policy: Policy, settings: Settings,
                      headers: dict[str, str] | None = None) -> tuple[Any, str | None]:
    """:func:`request_json`, and the URL of the next page when the answer links one (``Link: <...>; rel="next"``,
    as the Hub pages its tree listings); None on the last page."""
    from requests.utils import parse_header_links

    answer, body = small_request("GET", url, session=session, policy=policy, settings=settings,
                                 headers={**(headers or {}), "Accept": "application/json"})
    if len(body) > MAX_JSON_BYTES:
        raise DownloadError(f"{url} answered with more than {MAX_JSON_BYTES} bytes of JSON", url=url)
    try:
        data = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url} did not answer JSON", url=url) from None
    nxt = [link.get("url") for link in parse_header_links(answer.get("Link", "")) if link.get("rel") == "next"]
    return data, urljoin(url, nxt[0]) if nxt and nxt[0] else None


def request_head(url: str, *, session: requests.Session, policy: Policy, settings: Settings,
                 headers: dict[str, str] | None = None) -> Mapping[str, str]:
    """HEAD ``url`` with the same rules as :func:`request_json`; the headers of the first answer that is not a
    redirect to the same host. A redirect to another host (a hub's CDN) is not followed: its headers are the
    answer, as huggingface_hub's ``get_hf_file_metadata`` reads ``X-Linked-Etag`` from the Hub's 302.

    Raises:
        DownloadError: an answer other than 200 or a redirect, or no answer after retries.
    """
    found, _ = small_request("HEAD", url, session=session, policy=policy, settings=settings,
                              headers={**(headers or {}), "Accept-Encoding": "identity"})
    return found


def small_request(method: str, url: str, *, session: requests.Session, policy: Policy, settings: Settings,
                   headers: dict[str, str]) -> tuple[Mapping[str, str], bytes]:
    """One request whose answer fits in memory (a listing, a file's metadata): its headers and body, after the
    retries and backoff every transfer has. A GET follows redirects (each hop checked); a HEAD follows only
    those to the same host."""
    sent = {**headers, "User-Agent": "hub-client"}
    attempt = 0
    while True:
        attempt += 1
        try:
            if method == "GET":
                resp, _ = open_checked(session, url, sent, policy, settings.timeout)
            else:
                resp = _head(session, url, sent, policy, settings.timeout)
            with resp:
                if resp.status_code in RETRY_STATUS and not exhausted(settings, attempt):
                    settings.sleep(backoff(settings, attempt, busy_wait(resp, url)))
                    continue
                if not (resp.status_code == 200 or method == "HEAD" and resp.is_redirect):
                    raise refused(resp, url)
                body = resp.raw.read(MAX_JSON_BYTES + 1, decode_content=True) if method == "GET" else b""
                return resp.headers, body
        except NETWORK_ERRORS as e:
            why = unreachable(e)
            if why is not None or exhausted(settings, attempt):
                host = urlsplit(url).hostname or url
                timed_out = isinstance(e, (requests.Timeout, TimeoutError))
                raise DownloadError(f"cannot reach {host}: {why or e} ({url})", url=url,
                                    code=TIMED_OUT if timed_out and why is None else None) from None
            settings.sleep(backoff(settings, attempt))


def _head(session: requests.Session, url: str, headers: dict[str, str], policy: Policy,
          timeout: float) -> requests.Response:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        policy.check(current)
        resp = session.head(current, headers=headers, allow_redirects=False, timeout=(timeout, timeout))
        nxt = urljoin(current, resp.headers.get("Location", ""))
        if not resp.is_redirect or urlsplit(nxt).netloc != urlsplit(current).netloc:
            return resp
        resp.close()
        current = nxt
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects", url=url)
