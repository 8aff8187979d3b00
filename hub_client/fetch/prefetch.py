"""``hub prefetch``: fill a team mirror (``hub serve``) before a job, so its nodes pull at the mirror's speed.

Each file of each model is asked of the mirror once, which fetches what it lacks from upstream and stores it;
the bytes that come back are hashed against the file's address, so a prefetch also proves what the mirror
will serve, and are then dropped (nothing is written on this machine). A Hugging Face repo is listed through
the mirror (``/api/models/{repo}/revision/{rev}?blobs=true``); a MindSpore Hub card's assets are asked under
the paths of their own URLs, as ``HUB_MIRRORS`` clients ask.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

from registry.errors import IntegrityError, UsageError
from registry.settings import DEFAULT_ENDPOINT, Settings

from .hf_files import RepoFile, list_repo
from .http_layer import open_checked, refused
from .policy import Policy

BLOCK = 1 << 20


@dataclass(frozen=True)
class Prefetched:
    """What one model's prefetch brought into the mirror."""

    name: str
    files: int
    bytes: int


def _check(session: requests.Session, url: str, headers: dict[str, str], policy: Policy, settings: Settings,
           expected: str, kind: str) -> int:
    """GET ``url``, hash its bytes as ``kind`` (``sha256``, ``sha256-prefix`` or ``git``), compare; the size."""
    resp, _ = open_checked(session, url, {**headers, "Accept-Encoding": "identity"}, policy, settings.timeout)
    with resp:
        if resp.status_code != 200:
            raise refused(resp, url, prefix=f"the mirror, asked for {url},")
        size = int(resp.headers.get("Content-Length") or 0)
        h = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False) if kind == "git" else hashlib.sha256()
        got = 0
        for block in resp.raw.stream(BLOCK, decode_content=False):
            h.update(block)
            got += len(block)
    digest = h.hexdigest()
    if got != size or not (digest == expected or kind == "sha256-prefix" and digest.startswith(expected)):
        raise IntegrityError(url=url, expected=expected, actual=digest, what="git blob id" if kind == "git"
                             else "sha256")
    return got


def prefetch_hf(repo_id: str, revision: str | None, mirror: str, *, settings: Settings,
                policy: Policy | None = None) -> Prefetched:
    """Every file of ``repo_id`` at ``revision`` asked of ``mirror`` and checked against its address.

    Raises:
        UnknownModelError, RepoAccessError, DownloadError: as the mirror answers the listing or a file.
        IntegrityError: the mirror served a file whose digest is not its address.
    """
    policy = policy or trusting(mirror, settings)
    token = settings.mirrors_token
    listing = list_repo(repo_id, revision, endpoint=mirror, token=token, policy=policy, settings=settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    total = 0
    with requests.Session() as session:
        for f in listing.files:
            url = f"{mirror}/{repo_id}/resolve/{listing.sha}/{quote(f.path)}"
            total += _check(session, url, headers, policy, settings, f.etag, _kind(f))
    return Prefetched(f"hf:{repo_id}", len(listing.files), total)


def _kind(f: RepoFile) -> str:
    return "sha256" if f.lfs else "git"


def prefetch_assets(name: str, urls_and_digests: list[tuple[str, str, bool]], mirror: str, *,
                    settings: Settings, policy: Policy | None = None) -> Prefetched:
    """A MindSpore Hub card's assets asked of ``mirror`` under their own URLs' paths: ``(url, sha256,
    is_prefix)`` each."""
    policy = policy or trusting(mirror, settings)
    token = settings.mirrors_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    total = 0
    with requests.Session() as session:
        for url, digest, prefix in urls_and_digests:
            path = urlsplit(url).path
            total += _check(session, f"{mirror}{path}", headers, policy, settings, digest,
                            "sha256-prefix" if prefix else "sha256")
    return Prefetched(name, len(urls_and_digests), total)


def trusting(mirror: str, settings: Settings) -> Policy:
    """The user's rules, with the mirror they named trusted (it may be a private address on the LAN)."""
    policy = Policy.of(settings)
    host = urlsplit(mirror).hostname or ""
    return Policy((*policy.hosts, host), policy.allow_http, (*policy.trusted, host))


def mirror_url(given: str | None, settings: Settings) -> str:
    """The mirror to fill: ``given``, else the first of ``HUB_MIRRORS``, else ``HF_ENDPOINT`` when it is not the
    Hub itself.

    Raises:
        UsageError: none of those names a mirror.
    """
    found = given or next(iter(settings.mirrors), None)
    if not found and settings.hf_endpoint != DEFAULT_ENDPOINT:
        found = settings.hf_endpoint
    if not found:
        raise UsageError("no mirror to prefetch into: pass --mirror URL (the hub serve address), or set HUB_MIRRORS")
    if not found.startswith(("http://", "https://")):
        raise UsageError(f"--mirror {found!r} is not an http(s) URL")
    return found.rstrip("/")
