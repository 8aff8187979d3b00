"""Hugging Face repos: downloaded by huggingface_hub into its own cache, then verified by us.

Files land where transformers looks (``HF_HOME``/``HF_HUB_CACHE``). huggingface_hub
checks only sizes; we check every file's content: an LFS file's sha256 against its
ETag (the blob's name in the HF cache, and the tree listing's ``lfs.oid``), a small
file's git blob id. A verified blob is remembered, so a cached pull hashes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hub_client.provenance import SIGNATURE_FILE
from registry.atomic import write_text
from registry.errors import DamagedFileError, DownloadError, OfflineError, RepoAccessError, UnknownModelError
from registry.formats import WEIGHT_FORMATS, weight_format
from registry.network import unreachable
from registry.record import ModelRecord
from registry.settings import Settings

from .cache import Cache
from .digests import address_digest, address_kind
from .policy import Policy
from .signed import cached_verdict, hf_plan, trust_rule

if TYPE_CHECKING:
    from .hf_files import RepoFile
    from .transfer import ProgressSink

ProgressFactory = Callable[[str], "ProgressSink"]


def _pick(files: list[str], fmt: str | None) -> list[str]:
    """Config and tokenizer files, plus the weights of one format (the first of ``WEIGHT_FORMATS`` present)."""
    kind = weight_format
    present = {k for k in (kind(f) for f in files) if k is not None}
    if fmt and fmt.lower() == "config":  # the configuration only: what a loader needs to build the network
        return [f for f in files if kind(f) is None and not f.startswith(".")]
    chosen = fmt.lower() if fmt else next((k for k in WEIGHT_FORMATS if k in present), None)
    if fmt and chosen not in present:
        raise DownloadError(f"the repo has no {fmt} weights (it has: {', '.join(sorted(present)) or 'none'})")
    return [f for f in files if kind(f) in (None, chosen) and not f.startswith(".")]


def verify_hf_file(path: Path, *, cache: Cache, expected_sha256: str | None = None, url: str = "",
                   force: bool = False, delete: bool = True, name: str = "") -> None:
    """Check a file of the HF cache against its blob name (the ETag) and, when given, the tree's sha256.

    A file verified before and unchanged since (``cache.is_trusted``) is not hashed again, unless ``force``.
    A mismatch raises ``DamagedFileError`` (the disk changed a file that was verified when it came) and, with
    ``delete``, deletes the file so the next pull fetches it again.
    """
    blob = Path(os.path.realpath(path))
    etag = blob.name
    if not force and cache.is_trusted(blob, "hf", etag) and (expected_sha256 is None or expected_sha256 == etag):
        return
    kind = "sha256" if expected_sha256 else address_kind(etag)
    if kind is None:
        return  # not a content address: nothing to check it against
    want, got, what = expected_sha256 or etag, address_digest(blob, kind), kind
    if got != want:  # the bytes were verified when they came: the disk changed them, not a server
        if delete:
            blob.unlink(missing_ok=True)
            Path(path).unlink(missing_ok=True)
        raise DamagedFileError(path, expected=want, actual=got, what=what, name=name or url or Path(path).name)
    cache.mark_verified(blob, "hf", etag)


def pull_hf(record: ModelRecord, *, settings: Settings, revision: str | None = None, fmt: str | None = None,
            policy: Policy | None = None, files: list[RepoFile] | None = None, sha: str | None = None,
            progress: ProgressFactory | None = None) -> list[Path]:
    """The repo's config files and one set of weights, in the HF cache, each verified against its address.

    ``files`` and ``sha`` are the listing the caller already has (``remote.locate`` asks for it), which spares
    the API call; without them the repo is listed at ``revision`` first.
    """
    from .hf_files import fetch_file, list_repo, read_small, write_ref

    repo = record.uid
    if not repo:
        raise UnknownModelError(record.name, [])
    endpoint = settings.hf_endpoint
    policy = policy or Policy.of(settings)
    policy.check(f"{endpoint}/{repo}")
    if settings.offline:
        with hub_errors(repo, endpoint, revision):
            paths = _offline_files(record, revision, fmt, settings)
        rule = trust_rule(record, settings)
        if rule is not None:
            cached_verdict(record, rule.anchors, settings=settings, rule=rule.where)
        return paths
    token = settings.hf_token
    if files is None or sha is None:
        found = list_repo(repo, revision, endpoint=endpoint, token=token, policy=policy, settings=settings)
        files, sha = found.files, found.sha
    by_name = {f.path: f for f in files}
    names = _complete_pick(repo, sha, list(by_name), fmt)
    plan = hf_plan(record, names, by_name, settings)
    checks: dict[str, Callable[[Path], None]] = {}
    if plan is not None:  # the signature's bytes first, checked before (a key) or while (else) the files come
        plan.begin(read_small(repo, sha, by_name[SIGNATURE_FILE], endpoint=endpoint, token=token, policy=policy,
                              settings=settings))
        checks = plan.checks()
    remember_listing(settings.listings, repo, sha, list(by_name))

    def one(name: str) -> Path:
        return fetch_file(repo, sha, by_name[name], endpoint=endpoint, token=token, policy=policy,
                          settings=settings, progress=progress(name) if progress else None, check=checks.get(name))

    if len(names) < 3 and plan is None:
        paths = [one(n) for n in names]
    elif plan is not None:  # every file at once: each one's check waits for the signature, none waits to start
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            paths = list(pool.map(one, names))
    else:
        # The first file alone, so its first byte comes after one API call; then the others side by side, the
        # small ones while the weights come, as huggingface_hub's snapshot_download fetches a repo.
        first = one(names[0])
        with ThreadPoolExecutor(max_workers=min(8, len(names) - 1)) as pool:
            paths = [first, *pool.map(one, names[1:])]
    if plan is not None:
        paths.append(one(SIGNATURE_FILE))
    for ref in record.refs:  # what transformers resolves offline: the branch or tag the commit was fetched as
        write_ref(settings.hf_cache, repo, "main" if ref == "HEAD" else ref, sha)
    # no revision: the default branch, as huggingface_hub names it
    write_ref(settings.hf_cache, repo, revision or "main", sha)
    return paths


@contextmanager
def hub_errors(repo: str, endpoint: str, revision: str | None = None) -> Iterator[None]:
    """huggingface_hub's errors as ours, each saying which of its cases it is.

    The Hub answers 401 for a private or gated repo when no valid token is sent (and for a missing one, so as
    not to tell), 404 for a missing repo, and GatedRepo when the account has not accepted a repo's conditions.
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError:  # a subclass of RepositoryNotFoundError: first
        raise RepoAccessError(repo, endpoint, "gated") from None
    except RepositoryNotFoundError as e:
        if getattr(getattr(e, "response", None), "status_code", None) == 401:
            raise RepoAccessError(repo, endpoint, "token") from None
        raise UnknownModelError(f"hf:{repo}", where=f"in the registry or at {endpoint}") from None
    except RevisionNotFoundError:
        raise DownloadError(f"{repo} has no revision {revision!r} at {endpoint}") from None
    except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError: first
        raise OfflineError(f"a file of {repo}") from None
    except EntryNotFoundError as e:
        raise DownloadError(f"{repo}: {e}") from None
    except HfHubHTTPError as e:
        raise DownloadError(f"{endpoint} refused {repo}: {e}") from None
    except Exception as e:  # huggingface_hub's HTTP client raises its own connection errors
        why = unreachable(e)
        if why is None:
            raise
        raise DownloadError(f"cannot reach {endpoint}: {why}; set HF_ENDPOINT to a reachable hub or mirror, or "
                            "HUB_OFFLINE=1 to use the cache alone", url=endpoint) from None


def _complete_pick(repo: str, sha: str, listed: list[str], fmt: str | None) -> list[str]:
    """``_pick`` of a listing, refusing one that leaves a loader nothing: no file at all, or no weights."""
    if not listed:
        raise DownloadError(f"{repo}@{sha[:12]} lists no file at all: nothing to pull (the server's listing is "
                            "empty; check the repo and revision)")
    names = _pick(listed, fmt)
    if (fmt or "").lower() != "config" and not any(weight_format(n) for n in names):
        raise DownloadError(f"{repo}@{sha[:12]} lists no weights file ({', '.join(sorted(WEIGHT_FORMATS))}) among "
                            f"its {len(listed)} file(s): nothing a loader can use; pass --format config to pull "
                            "the configuration alone")
    return names


def _listing_file(listings: Path, repo: str, sha: str) -> Path:
    """Where the names a pull's listing gave are kept (``HUB_HOME/listings/hf/<repo folder>/<commit>.json``), so
    an offline pull knows what the snapshot must hold."""
    return listings / "hf" / f"models--{repo.replace('/', '--')}" / f"{sha}.json"


def remember_listing(listings: Path, repo: str, sha: str, names: list[str]) -> None:
    path = _listing_file(listings, repo, sha)
    if path.is_file():
        return  # a commit's files never change: kept once
    try:
        write_text(path, json.dumps(sorted(names)))
    except OSError:  # a read-only home: an offline pull then judges by the snapshot alone
        pass


def _remembered_listing(listings: Path, repo: str, sha: str) -> list[str] | None:
    try:
        names = json.loads(_listing_file(listings, repo, sha).read_text())
    except (OSError, ValueError):
        return None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else None


def _offline_files(record: ModelRecord, revision: str | None, fmt: str | None, settings: Settings) -> list[Path]:
    """The snapshot already in the HF cache, verified, with no network call at all. Every file the pull's
    listing named must be there (a link whose blob was deleted is missing too), and some weights.

    Raises:
        OfflineError: the snapshot, or a file of it, is not in the cache.
    """
    from .hf_files import snapshot

    snap = snapshot(record, revision, settings=settings)
    if snap is None:
        raise OfflineError(f"{record.uid} (revision {revision or record.revision or 'main'})")
    present = [p.relative_to(snap).as_posix() for p in sorted(snap.rglob("*")) if p.is_file() or p.is_symlink()]
    listed = _remembered_listing(settings.listings, record.uid or "", snap.name)
    try:
        names = _complete_pick(record.uid or "", snap.name, listed if listed is not None else present, fmt)
    except DownloadError:
        raise OfflineError(f"the weights of {record.uid}@{snap.name[:12]}") from None
    missing = [n for n in names if not (snap / n).is_file()]
    if missing:
        raise OfflineError(f"{', '.join(missing)} of {record.uid}@{snap.name[:12]} (listed when it was pulled, "
                           "now gone from the cache)")
    paths = [snap / n for n in names]
    for p in paths:
        verify_hf_file(p, cache=Cache(settings.home), name=f"hf:{record.uid}")
    return paths
