"""``hub lint --online``: ask every server a card links to whether the link still works.

Kept apart from the offline rules so plain ``hub lint`` never touches the network
and stays fast in CI; this module adds ``link-unreachable`` diagnostics only.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from registry.card.analyze import CardResult
from registry.card.diagnostics import Diagnostic, Severity
from registry.errors import NetworkDownError, UsageError
from registry.network import unreachable
from registry.settings import Settings

#: Servers that refuse HEAD answer one of these; a small GET then decides.
_NO_HEAD = {403, 405, 501}


@dataclass(frozen=True)
class Verdict:
    """What asking one URL found: ``problem`` is None when it works; ``unreachable`` says why its host could not
    be reached at all (no name, nothing listening), which blames the network as much as the link."""

    problem: str | None = None
    unreachable: str | None = None


def probe(url: str, timeout: float) -> Verdict:
    """Ask ``url`` (HEAD, then a small GET where HEAD is refused); a status below 400 means it works."""
    try:
        r = requests.head(url, allow_redirects=True, timeout=timeout)
        if r.status_code in _NO_HEAD:
            with requests.get(url, allow_redirects=True, timeout=timeout, stream=True) as g:
                r = g
        if r.status_code >= 400:
            return Verdict(f"answered {r.status_code} {r.reason}")
        return Verdict()
    except requests.RequestException as e:
        return Verdict(f"could not be reached ({type(e).__name__})", unreachable(e))


def check_links(results: Sequence[CardResult], *, settings: Settings, timeout: float | None = None,
                workers: int = 8) -> None:
    """Add a ``link-unreachable`` error for every dead link; each URL is asked once, in parallel, waiting
    ``timeout`` seconds (default ``settings.timeout``).

    Raises:
        UsageError: offline mode (``HUB_OFFLINE``) is set: links cannot be checked.
        NetworkDownError: not one host could be reached (no name resolves, nothing answers): the network is
            down, and blaming every card's links for it would be wrong.
    """
    t = settings.timeout if timeout is None else timeout
    urls = sorted({link.url for r in results for link in r.links})
    if urls and settings.offline:
        raise UsageError("--online asks each linked server, but offline mode (HUB_OFFLINE or HF_HUB_OFFLINE) is "
                         "set: unset it, or lint without --online")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = dict(zip(urls, pool.map(lambda u: probe(u, t), urls), strict=True))
    if verdicts and all(v.unreachable for v in verdicts.values()):
        hosts = {urlsplit(u).hostname or u: v.unreachable or "" for u, v in verdicts.items()}
        raise NetworkDownError(f"no link could be checked with --online ({len(urls)} link(s))", hosts)
    for r in results:
        for link in r.links:
            problem = verdicts[link.url].problem
            if problem:
                r.diagnostics.append(Diagnostic(
                    "link-unreachable", Severity.ERROR, f"{link.key} {link.url} {problem}: fix or replace the link",
                    r.path, link.line, link.col))
        r.diagnostics.sort(key=Diagnostic.sort_key)
