"""``hub pull``: every asset of a card, from mirrors then the origin, verified, cached once.

A cached asset costs no network call. Otherwise one process per asset downloads
(a file lock; the others wait, then find it cached), into a partial file beside
the cache, and only bytes whose sha256 matches the card are renamed into place.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from registry import config
from registry.errors import (
    CacheWriteError,
    DownloadError,
    HubError,
    IntegrityError,
    OfflineError,
    UnsafeURLError,
    UsageError,
)
from registry.record import AssetRecord, Dialect, ModelRecord

from . import cache
from .policy import Policy, safe_file_name

if TYPE_CHECKING:  # requests and the transfer engine load only when something is downloaded (start-up)
    import requests

    from .transfer import Outcome, Partial, ProgressSink, Settings

#: Seconds to wait for another process's download of the same asset before giving up.
LOCK_TIMEOUT = 6 * 3600

ProgressFactory = Callable[[str], "ProgressSink"]


def mirror_urls(url: str, mirrors: list[str]) -> list[str]:
    """Each mirror base with the asset's path (and query), in order, then the origin itself."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return [m + tail for m in mirrors] + [url]


def check_digest(digest: str, asset: AssetRecord, url: str) -> None:
    """A full hash must match exactly; a prefix must start the digest and agree with the name's hash."""
    if asset.sha256_kind == "full":
        if digest != asset.sha256:
            raise IntegrityError(url=url, expected=asset.sha256 or "", actual=digest)
        return
    prefix = asset.sha256 or ""
    if not digest.startswith(prefix):
        raise IntegrityError(url=url, expected=f"a sha256 starting with {prefix}", actual=digest)
    if asset.name_hash and not digest.startswith(asset.name_hash):
        raise IntegrityError(url=url, expected=f"a sha256 starting with {asset.name_hash} (from the file name)",
                             actual=digest)


def _settings() -> Settings:
    from .transfer import Settings

    return Settings(timeout=config.http_timeout(), retries=config.retries(), backoff=config.backoff_base(),
                    max_bytes=config.max_download_bytes(), fsync=config.fsync(),
                    direct=config.direct_io())


def pull_asset(record: ModelRecord, asset: AssetRecord, *, policy: Policy, session: requests.Session | None = None,
               progress: ProgressFactory | None = None) -> Path:
    """The cached path of one verified asset, downloading it first when needed (in ``session``, or a new one)."""
    target = cache.asset_path(record, asset)
    if target.is_file():
        return target
    if config.offline():
        raise OfflineError(f"{asset.filename} of {record.uid or record.name}")
    if asset.url is None:
        raise UsageError(f"asset {asset.filename} of {record.name} has no URL to download from")
    if asset.sha256_kind == "none" or not asset.sha256:
        raise UsageError(f"the card of {record.name} gives no usable sha256 for {asset.filename}, so it could not be "
                         f"verified; fix the card (hub lint {record.card_path or ''})")
    safe_file_name(asset.url)  # also refuses a malformed URL, before mirror_urls parses it
    key = cache.asset_key(asset.url, asset.sha256)
    try:
        with FileLock(cache.lock_path(key), timeout=LOCK_TIMEOUT):
            if session is None:
                import requests

                with requests.Session() as own:
                    return _download_locked(record, asset, target, key, policy=policy, session=own,
                                            progress=progress)
            return _download_locked(record, asset, target, key, policy=policy, session=session, progress=progress)
    except Timeout:
        raise DownloadError(f"another process has been downloading {asset.filename} for {LOCK_TIMEOUT // 3600} h; "
                            f"if none is, delete {cache.lock_path(key)}", url=asset.url) from None


def _download_locked(record: ModelRecord, asset: AssetRecord, target: Path, key: str, *, policy: Policy,
                     session: requests.Session, progress: ProgressFactory | None) -> Path:
    """The download itself, with this asset's lock held."""
    assert asset.url is not None
    if target.is_file():
        return target  # another process finished it while we waited
    import requests

    from .transfer import Partial

    urls = mirror_urls(asset.url, config.mirrors())
    part = Partial(cache.partial_path(key))
    attempts: list[str] = []
    integrity: IntegrityError | None = None
    for url in urls:
        try:
            policy.check(url)
            outcome = _fetch_verified(url, part, asset, session=session, policy=policy, progress=progress)
        except IntegrityError as e:
            part.discard()
            integrity = e
            attempts.append(f"{url}: {e}")
            continue
        except (DownloadError, UnsafeURLError) as e:
            if len(urls) == 1:
                raise
            attempts.append(f"{url}: {e}")
            continue
        except OSError as e:  # after DownloadError, which is an OSError too
            if isinstance(e, HubError):
                raise
            if isinstance(e, requests.RequestException):
                raise DownloadError(f"{url}: {e}", url=url) from e
            raise CacheWriteError(str(part.path), e) from e  # disk full, read-only: no mirror helps
        try:
            blob = cache.store_blob(part.path, outcome.digest)
            part.discard()
            return cache.link(target, blob)
        except OSError as e:
            raise CacheWriteError(str(target), e) from e
    if integrity is not None and len(urls) == 1:
        raise integrity
    raise DownloadError(f"could not get {asset.filename} of {record.name} from any source", url=asset.url,
                        attempts=attempts)


def _fetch_verified(url: str, part: Partial, asset: AssetRecord, *, session: requests.Session, policy: Policy,
                    progress: ProgressFactory | None) -> Outcome:
    """Fetch and verify; a resumed file that fails is fetched once more from its first byte.

    A server may keep its validator while the file changes (nginx's ETag is the mtime in seconds and the
    size), so a kept prefix can belong to an older file: the digest says so, and a clean download decides.
    """
    from .transfer import fetch

    outcome = fetch(url, part, session=session, policy=policy, settings=_settings(),
                    progress=progress(asset.filename) if progress else None, name=asset.filename)
    try:
        check_digest(outcome.digest, asset, outcome.url)
    except IntegrityError:
        if not outcome.resumed_from:
            raise
        part.discard()
        outcome = fetch(url, part, session=session, policy=policy, settings=_settings(),
                        progress=progress(asset.filename) if progress else None, name=asset.filename)
        check_digest(outcome.digest, asset, outcome.url)
    return outcome


def pull_record(record: ModelRecord, *, fmt: str | None = None, revision: str | None = None,
                to: Path | None = None, allow_http: bool | None = None,
                progress: ProgressFactory | None = None) -> list[Path]:
    """Every asset of the card (or those of format ``fmt``), verified and cached; copied to ``to`` if given."""
    policy = Policy.from_env(allow_http=allow_http)
    if record.dialect is Dialect.HUGGINGFACE:
        from .hf import pull_hf

        paths = pull_hf(record, revision=revision, fmt=fmt, policy=policy)
    else:
        assets = [a for a in record.assets if fmt is None or a.format == fmt.lower()]
        if not assets:
            have = sorted({a.format for a in record.assets}) or ["none"]
            raise UsageError(f"{record.name} has no {fmt} asset; formats on its card: {', '.join(have)}")
        # a cached asset returns before any HTTP import; a session is opened only for a download
        paths = [pull_asset(record, a, policy=policy, progress=progress) for a in assets]
    if to is not None:
        to.mkdir(parents=True, exist_ok=True)
        copied = []
        for p in paths:
            dest = to / p.name
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(p, tmp)  # the resolved bytes, not the link
            tmp.replace(dest)
            copied.append(dest)
        return copied
    return paths
