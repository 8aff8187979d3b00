"""``pull``: every asset of a card, from mirrors then the origin, verified, cached once.

A cached asset costs no network call. Otherwise one process per asset downloads
(a file lock; the others wait, then find it cached), into a partial file beside
the cache, and only bytes whose sha256 matches the card are renamed into place.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from registry.card.hashes import HashKind, HashSpec, unmet
from registry.errors import (
    CacheWriteError,
    DamagedFileError,
    DownloadError,
    HubError,
    IntegrityError,
    InvalidCardError,
    OfflineError,
    UnsafeURLError,
    UsageError,
)
from registry.formats import weight_format
from registry.record import AssetRecord, Dialect, ModelRecord
from registry.settings import Settings, or_env

from .cache import Cache, asset_key, forget, link
from .digests import file_digest
from .policy import Policy, safe_file_name
from .remote import keep_pulled, locate
from .remote import resolve as resolve_spec
from .signed import signed_assets

if TYPE_CHECKING:  # requests and the transfer engine load only when something is downloaded (start-up)
    import requests

    from .hf_files import RepoFile
    from .transfer import Outcome, Partial, ProgressSink

#: Seconds to wait for another process's download of the same asset before giving up.
LOCK_TIMEOUT = 6 * 3600

ProgressFactory = Callable[[str], "ProgressSink"]

log = logging.getLogger("hub")


def resolve(name: str, *, settings: Settings | None = None) -> ModelRecord:
    """The card ``name`` resolves to (see ``remote.resolve``); why it won among several is logged."""
    res = resolve_spec(name, settings=or_env(settings))
    if res.reason:
        log.info(res.reason)
    return res.record


def pull(name: str, *, fmt: str | None = None, revision: str | None = None, to: str | Path | None = None,
         allow_http: bool | None = None, progress: ProgressFactory | None = None,
         settings: Settings | None = None) -> list[Path]:
    """Resolve ``name`` through the registry, download every asset, verify it, cache it.

    A cached asset costs no network call; a download goes to a partial file and only bytes whose digest
    matches the card are renamed into the cache, so nothing unverified is ever returned.

    Args:
        name: a model name, ``name@version``, a MindSpore Hub uid, or ``hf:org/repo``.
        fmt: keep one asset format (``ckpt``; ``safetensors`` or ``bin`` for Hugging Face repos).
        revision: a Hugging Face branch, tag or commit.
        to: also copy the verified files into this folder.
        allow_http: accept plain http to allowed hosts (default: ``HUB_ALLOW_HTTP``).
        progress: a factory of per-transfer progress sinks (the CLI's bars).
        settings: the home, mirrors, tokens, time-outs and policy; None reads the environment.

    Returns:
        The local paths of the verified files, in the card's order (under ``to`` when given).

    Raises:
        UnknownModelError, InvalidCardError: the name does not lead to a usable card.
        UsageError: the card has no asset of ``fmt``, or one without a URL or usable sha256.
        UnsafeURLError: an asset URL, mirror or redirect the download policy refuses.
        IntegrityError: every source sent bytes other than the card describes.
        DownloadError: no source could be reached, after retries.
        OfflineError: offline mode, and the asset is not cached.
        CacheWriteError, SizeLimitError: the cache cannot hold the file.
    """
    settings = or_env(settings)
    found = locate(name, revision=revision, settings=settings)
    if found.reason:
        log.info(found.reason)
    paths = pull_record(found.record, fmt=fmt, revision=revision, to=Path(to) if to is not None else None,
                        allow_http=allow_http, progress=progress, listed=found.listed, settings=settings)
    keep_pulled(found, paths, settings=settings)
    return paths


def check_digest(digest: str, asset: AssetRecord, url: str) -> None:
    """``IntegrityError`` unless ``digest`` satisfies the card's sha256 (and, for a prefix, the file name's)."""
    kind = HashKind.INVALID if asset.sha256_kind == "none" else HashKind(asset.sha256_kind)
    expected = unmet(digest, HashSpec(asset.sha256 or "", kind), asset.name_hash)
    if expected is not None:
        raise IntegrityError(url=url, expected=expected, actual=digest)


def _sound(cache: Cache, target: Path, asset: AssetRecord) -> bool:
    """A cached asset unchanged since it was verified is used as it is; one that changed (or was never marked)
    is hashed again, and a damaged one is removed so that the pull fetches it anew."""
    named = cache.blob_digest(target)
    if named is not None and cache.is_trusted(target, "sha256", named):
        return True
    actual = file_digest(target)
    try:
        check_digest(actual, asset, str(target))
        if named is not None and actual != named:
            raise IntegrityError(url=str(target), expected=named, actual=actual)
    except IntegrityError as e:
        log.warning("%s is damaged in the cache (%s): fetching it again", target, e)
        forget(target)
        return False
    cache.mark_verified(target, "sha256", actual)
    return True


def verify_cached(record: ModelRecord, *, settings: Settings, repair: bool = False) -> list[dict[str, str]]:
    """Re-hash each cached file of ``record`` against its card (a Hugging Face repo's against their content
    addresses): status ``ok``, ``corrupt`` or ``missing``. With ``repair``, what is not ok is fetched again and
    the status says ``repaired``."""
    def check() -> list[dict[str, str]]:
        if record.dialect is Dialect.HUGGINGFACE:
            return _verify_hf(record, settings)
        return _verify_assets(record, Cache(settings.home))

    results = check()
    if repair and any(r["status"] != "ok" for r in results):
        for r in results:
            if r["status"] == "corrupt":
                forget(Path(r["path"]))
        pull_record(record, settings=settings)
        fixed = check()
        before = {r["file"]: r["status"] for r in results}
        results = [{**r, "status": "repaired" if before.get(r["file"], "missing") != "ok" and r["status"] == "ok"
                    else r["status"]} for r in fixed]
    return results


def _verify_hf(record: ModelRecord, settings: Settings) -> list[dict[str, str]]:
    from .hf import verify_hf_file
    from .hf_files import snapshot

    snap = snapshot(record, settings=settings)
    if snap is None:
        return [{"file": f"hf:{record.uid}", "status": "missing", "path": ""}]
    results = []
    for path in sorted(p for p in snap.rglob("*") if p.is_file() or p.is_symlink()):
        name = path.relative_to(snap).as_posix()
        if not path.exists():
            results.append({"file": name, "status": "missing", "path": str(path)})
            continue
        try:
            verify_hf_file(path, cache=Cache(settings.home), force=True)
            results.append({"file": name, "status": "ok", "path": str(path)})
        except DamagedFileError as e:
            results.append({"file": name, "status": "corrupt", "sha256": e.actual, "expected": e.expected,
                            "path": str(path)})
    if not any(weight_format(r["file"]) for r in results):  # the card and config came, the weights never did
        results.append({"file": "weights", "status": "missing", "path": str(snap)})
    return results


def _verify_assets(record: ModelRecord, cache: Cache) -> list[dict[str, str]]:
    results = []
    for asset in record.assets:
        path = cache.asset_path(record, asset)
        if not path.is_file():
            results.append({"file": asset.filename, "status": "missing", "path": str(path)})
            continue
        digest = file_digest(path)
        try:
            check_digest(digest, asset, str(path))
            results.append({"file": asset.filename, "status": "ok", "sha256": digest, "path": str(path)})
        except IntegrityError as e:
            results.append({"file": asset.filename, "status": "corrupt", "sha256": digest, "path": str(path),
                            "expected": e.expected})
            continue
        if cache.blob_digest(path) == digest:
            cache.mark_verified(path, "sha256", digest)
    return results


def pull_asset(record: ModelRecord, asset: AssetRecord, *, settings: Settings, policy: Policy,
               session: requests.Session | None = None, progress: ProgressFactory | None = None) -> Path:
    """The cached path of one verified asset, downloading it first when needed (in ``session``, or a new one)."""
    cache = Cache(settings.home)
    target = cache.asset_path(record, asset)
    if target.is_file() and _sound(cache, target, asset):
        return target
    if settings.offline:
        raise OfflineError(f"{asset.filename} of {record.uid or record.name}")
    if asset.url is None:
        raise UsageError(f"asset {asset.filename} of {record.name} has no URL to download from")
    if asset.sha256_kind == "none" or not asset.sha256:
        raise InvalidCardError(record.name, record.card_path or "", [
            f"it gives no usable sha256 for {asset.filename}, so the download could not be verified"])
    safe_file_name(asset.url)  # also refuses a malformed URL, before mirror_urls parses it
    key = asset_key(asset.url, asset.sha256)
    try:
        lock = cache.lock_path(key)
    except OSError as e:  # HUB_HOME is a file, read-only, or on a full disk
        raise CacheWriteError(str(cache.root), e) from e
    try:
        with FileLock(lock, timeout=LOCK_TIMEOUT):
            if session is None:
                import requests

                with requests.Session() as own:
                    return _download_locked(record, asset, target, key, settings=settings, policy=policy,
                                            session=own, progress=progress)
            return _download_locked(record, asset, target, key, settings=settings, policy=policy, session=session,
                                    progress=progress)
    except Timeout:
        raise DownloadError(f"another process has been downloading {asset.filename} for {LOCK_TIMEOUT // 3600} h; "
                            f"if none is, delete {lock}", url=asset.url) from None
    except OSError as e:  # the lock itself could not be taken: a read-only cache
        if isinstance(e, HubError):
            raise
        raise CacheWriteError(str(cache.root), e) from e


def _download_locked(record: ModelRecord, asset: AssetRecord, target: Path, key: str, *, settings: Settings,
                     policy: Policy, session: requests.Session, progress: ProgressFactory | None) -> Path:
    """The download itself, with this asset's lock held."""
    assert asset.url is not None
    if target.is_file():
        return target  # another process finished it while we waited
    import requests

    from .http_layer import mirror_headers, mirror_urls
    from .transfer import Partial

    cache = Cache(settings.home)
    urls = mirror_urls(asset.url, settings.mirrors)
    part = Partial(cache.partial_path(key))
    attempts: list[str] = []
    integrity: IntegrityError | None = None
    # Each source in turn; while pieces may come from all of them at once (a parallel download), one that sent
    # other bytes cannot be named, so after a mismatch every source is tried alone: the sha256 decides.
    plan = [(url, urls[i + 1:]) for i, url in enumerate(urls)]
    unreachable: set[str] = set()
    while plan:
        url, also = plan.pop(0)
        try:
            policy.check(url)
            outcome = _fetch_verified(url, part, asset, session=session, settings=settings, policy=policy,
                                      progress=progress, also=also, headers=mirror_headers(url, settings))
        except IntegrityError as e:
            part.discard()
            integrity = e
            attempts.append(f"{url}: {e}")
            if also:
                plan = [(u, []) for u in urls if u not in unreachable]
            continue
        except (DownloadError, UnsafeURLError) as e:
            if len(urls) == 1:
                raise
            unreachable.add(url)
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
            cache.mark_verified(blob, "sha256", outcome.digest)
            return link(target, blob)
        except OSError as e:
            raise CacheWriteError(str(target), e) from e
    if integrity is not None and len(urls) == 1:
        raise integrity
    raise DownloadError(f"could not get {asset.filename} of {record.name} from any source", url=asset.url,
                        attempts=attempts)


def _fetch_verified(url: str, part: Partial, asset: AssetRecord, *, session: requests.Session, settings: Settings,
                    policy: Policy, progress: ProgressFactory | None, also: list[str] | None = None,
                    headers: dict[str, str] | None = None) -> Outcome:
    """Fetch and verify; a resumed file that fails is fetched once more from its first byte.

    A server may keep its validator while the file changes (nginx's ETag is the mtime in seconds and the
    size), so a kept prefix can belong to an older file: the digest says so, and a clean download decides.
    """
    from .downloader import download
    from .transfer import fetch

    outcome = download(url, part, session=session, policy=policy, settings=settings,
                       progress=progress(asset.filename) if progress else None, name=asset.filename, also=also or (),
                       headers=headers)
    try:
        check_digest(outcome.digest, asset, outcome.url)
    except IntegrityError:
        if not outcome.resumed_from:
            raise
        part.discard()
        outcome = fetch(url, part, session=session, policy=policy, settings=settings,
                        progress=progress(asset.filename) if progress else None, name=asset.filename, headers=headers)
        check_digest(outcome.digest, asset, outcome.url)
    return outcome


def pull_record(record: ModelRecord, *, fmt: str | None = None, revision: str | None = None,
                to: Path | None = None, allow_http: bool | None = None, progress: ProgressFactory | None = None,
                listed: tuple[list[RepoFile], str] | None = None, settings: Settings) -> list[Path]:
    """Every asset of the card (or those of format ``fmt``), verified and cached; copied to ``to`` if given.
    ``listed`` is a Hugging Face repo's file listing and commit when the caller has them already."""
    policy = Policy.of(settings, allow_http=allow_http)
    if record.dialect is Dialect.HUGGINGFACE:
        from .hf import pull_hf

        files, sha = listed if listed else (None, None)
        paths = pull_hf(record, revision=revision or record.revision, fmt=fmt, settings=settings, policy=policy,
                        files=files, sha=sha, progress=progress)
    else:
        assets = [a for a in record.assets if fmt is None or a.format == fmt.lower()]
        if not assets:
            have = sorted({a.format for a in record.assets}) or ["none"]
            raise UsageError(f"{record.name} has no {fmt} asset; formats on its card: {', '.join(have)}")
        assets = signed_assets(record, assets, settings=settings, policy=policy)
        # a cached asset returns before any HTTP import; a session is opened only for a download
        paths = [pull_asset(record, a, settings=settings, policy=policy, progress=progress) for a in assets]
    if to is not None:
        copied = []
        tmp: Path | None = None
        try:
            to.mkdir(parents=True, exist_ok=True)
            for p in paths:
                dest = to / p.name
                tmp = dest.with_name(f".{dest.name}.tmp")
                shutil.copyfile(p, tmp)  # the resolved bytes, not the link
                tmp.replace(dest)
                copied.append(dest)
        except OSError as e:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise UsageError(f"cannot copy the verified files into {to} ({e.strerror or e}): give a writable folder; "
                             f"they are cached all the same") from None
        return copied
    return paths
