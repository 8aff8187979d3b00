"""``hub lint --online``: ask every server a card links to whether the link still works.

Kept apart from the offline rules so plain ``hub lint`` never touches the network
and stays fast in CI; this module adds ``link-unreachable`` diagnostics only.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from registry.card.analyze import CardResult
from registry.card.diagnostics import Diagnostic, Severity
from registry.config import http_timeout

#: Servers that refuse HEAD answer one of these; a small GET then decides.
_NO_HEAD = {403, 405, 501}


def probe(url: str, timeout: float) -> str | None:
    """None when the URL answers below 400, else what went wrong, in words."""
    try:
        r = requests.head(url, allow_redirects=True, timeout=timeout)
        if r.status_code in _NO_HEAD:
            with requests.get(url, allow_redirects=True, timeout=timeout, stream=True) as g:
                r = g
        if r.status_code >= 400:
            return f"answered {r.status_code} {r.reason}"
        return None
    except requests.RequestException as e:
        return f"could not be reached ({type(e).__name__})"


def check_links(results: Sequence[CardResult], *, timeout: float | None = None, workers: int = 8) -> None:
    """Add a ``link-unreachable`` error for every dead link; each URL is asked once, in parallel."""
    t = http_timeout() if timeout is None else timeout
    urls = sorted({link.url for r in results for link in r.links})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = dict(zip(urls, pool.map(lambda u: probe(u, t), urls), strict=True))
    for r in results:
        for link in r.links:
            problem = verdicts[link.url]
            if problem:
                r.diagnostics.append(Diagnostic(
                    "link-unreachable", Severity.ERROR, f"{link.key} {link.url} {problem}: fix or replace the link",
                    r.path, link.line, link.col))
        r.diagnostics.sort(key=Diagnostic.sort_key)
