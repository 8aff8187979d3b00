"""The mirror's HTTP face: the Hugging Face Hub's download API over a :class:`~hub_server.mirror.Mirror`.

Unmodified huggingface_hub, transformers and ``hub pull hf:`` work against it with ``HF_ENDPOINT=<its URL>``:

- ``GET /api/models/{org}/{name}[/revision/{rev}]`` (``?blobs=true`` adds sizes, blob ids and LFS facts);
- ``GET /api/models/{org}/{name}/tree/{rev}[/{path}]`` (``?recursive=true``), in pages of ``page_size`` entries
  linked by ``Link: <…>; rel="next"`` as the Hub pages them;
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}``: ``X-Repo-Commit``, the content address as ``ETag`` (and
  ``X-Linked-Etag``/``X-Linked-Size`` for LFS files), ``Range`` and ``If-Range``. No Xet headers are sent, so
  clients use plain HTTP.

A file the mirror lacks is streamed while it arrives from upstream (``flight.py``); a stored one is sent with
``sendfile``. An answer that may be out of date, because upstream is down, carries ``X-Hub-Stale``.

Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``), which
huggingface_hub turns into its own exceptions. With team tokens set, every route wants ``Authorization:
Bearer <token>``; names from a request are validated before they reach the file system (``storage.py``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .answers import entry, file_headers, model_info_body
from .assets import AssetStore, Remote
from .context import Served, guarded, resolved, served
from .fastpath import FastPath
from .fetches import Fetches
from .flight import Flight
from .mirror import Mirror
from .s3 import BucketAssets, S3Object
from .storage import LocalBlob, RangeReader, ServeError, StoredFile, check_path

#: Tree entries per page, as the Hub pages them.
PAGE_SIZE = 1000
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Blob(FileResponse):
    chunk_size = 1 << 20  # a 1 GiB file in 1,024 sends, not 16,384


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _byte_range(request: Request, size: int, etag: str) -> tuple[int, int] | None:
    """The one range asked (``start``, ``end`` exclusive), or None for the whole file (no ``Range``, several
    ranges, or an ``If-Range`` that no longer matches).

    Raises:
        ServeError: 416, a range that starts past the end.
    """
    match = _RANGE.match(request.headers.get("range", "").replace(" ", ""))
    if_range = request.headers.get("if-range")
    if not match or (if_range is not None and if_range.strip() != f'"{etag}"'):
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise ServeError(None, f"range not satisfiable: the file has {size} bytes", 416)
    return start, end


def _rev_and_path(request: Request, at: int) -> tuple[str, str]:
    """The revision and file path as the client encoded them: the revision is one segment of the raw path, so a
    branch with a slash arrives as ``refs%2Fpr%2F1`` (as huggingface_hub sends it) and is told from the path."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?", 1)[0].split("/")
    if len(parts) <= at:
        raise ServeError("RevisionNotFound", "no revision in the request", 404)
    return unquote(parts[at]), "/".join(unquote(p) for p in parts[at + 1:])


def _streamed(request: Request, source: RangeReader | Flight, f: StoredFile, headers: dict[str, str]) -> Response:
    """A file that is not a local blob (an object in a bucket, or a flight) with ``Range`` done here."""
    try:
        rng = _byte_range(request, f.size, f.etag)
    except ServeError:
        if isinstance(source, Flight):
            source.detach()
        raise
    start, end = rng or (0, f.size)
    sent = {**headers, "Content-Length": str(end - start)}
    if rng:
        sent["Content-Range"] = f"bytes {start}-{end - 1}/{f.size}"
    body: AsyncIterator[bytes]
    if isinstance(source, Flight):
        body = source.chunks(start, end)
    else:
        body = iterate_in_threadpool(source.read(start, end))
    return StreamingResponse(body, status_code=206 if rng else 200, headers=sent,
                             media_type="application/octet-stream")


async def _arriving(request: Request, flight: Flight) -> Response:
    """A MindSpore Hub asset on its way in, streamed as it arrives once its size is known (a card may not give
    it: upstream's first answer does). Its ``ETag`` is the card's sha256 when the card gives all of it."""
    if not flight.sized.is_set():
        await run_in_threadpool(flight.sized.wait)
    if flight.size is None or flight.error is not None:
        flight.detach()
        raise ServeError(None, f"the asset's host failed: {flight.error}", 502)
    etag = flight.etag or ""
    headers = {"Accept-Ranges": "bytes", **({"ETag": f'"{etag}"'} if etag else {})}
    return _streamed(request, flight, StoredFile(request.url.path, etag, flight.size), headers)


async def model_info(request: Request) -> Response:
    """``/api/models/{org}/{name}[/revision/{rev}]``: the repo at a revision, as ``HfApi.model_info`` reads it."""
    r = await resolved(request, request.path_params.get("rev"))
    return Response(model_info_body(r.snapshot, _flag(request, "blobs")), media_type="application/json",
                    headers={"X-Hub-Stale": r.stale} if r.stale else None)


async def tree(request: Request) -> Response:
    """``/api/models/{org}/{name}/tree/{rev}[/{path}]``: a folder's entries (all below with ``recursive``), in
    pages linked by ``Link: <...>; rel="next"``."""
    rev, raw = _rev_and_path(request, 6)
    r = await resolved(request, rev)
    snap = r.snapshot
    raw = raw.strip("/")
    prefix = check_path(raw).as_posix() if raw else ""
    recursive = _flag(request, "recursive")
    entries: list[dict[str, Any]] = []
    folders: set[str] = set()
    for f in snap.files:
        if prefix and not f.path.startswith(prefix + "/"):
            continue
        rest = f.path[len(prefix) + 1:] if prefix else f.path
        if recursive or "/" not in rest:
            entries.append(entry(f))
        if "/" in rest:  # every folder on the way is an entry too, as the Hub lists them
            parts = rest.split("/")[:-1]
            depth = len(parts) if recursive else 1
            folders.update("/".join(([prefix] if prefix else []) + parts[:i + 1]) for i in range(depth))
    if prefix and not entries and not folders:
        raise ServeError("EntryNotFound", f"{prefix} does not exist on {snap.sha}", 404)
    listed = sorted([{"type": "directory", "path": d, "oid": ""} for d in folders] + entries,
                    key=lambda e: e["path"])
    page_size = served(request).page_size
    cursor = request.query_params.get("cursor", "0")
    start = int(cursor) if cursor.isdigit() and len(cursor) < 10 else 0
    page = listed[start:start + page_size]
    headers = {"X-Hub-Stale": r.stale} if r.stale else {}
    if start + page_size < len(listed):
        nxt = request.url.include_query_params(cursor=str(start + page_size))
        headers["Link"] = f'<{nxt}>; rel="next"'
    return JSONResponse(page, headers=headers)


async def resolve(request: Request) -> Response:
    """``/{org}/{name}/resolve/{rev}/{path}``: a file (a HEAD answers from the listing alone)."""
    rev, path = _rev_and_path(request, 4)
    r = await resolved(request, rev)
    f = r.snapshot.file(path)
    headers = file_headers(r, f)
    if request.method == "HEAD":  # the listing answers it: no transfer starts for a HEAD
        return Response(status_code=200, headers={**headers, "Content-Length": str(f.size)},
                        media_type="application/octet-stream")
    source = await run_in_threadpool(served(request).mirror.open, r.snapshot, f)
    if isinstance(source, LocalBlob):
        return _Blob(source.path, headers=headers, media_type="application/octet-stream")
    return _streamed(request, source, f, headers)


async def asset(request: Request) -> Response:
    """A MindSpore Hub asset under its upstream path, or a blob by its sha256."""
    assets = served(request).assets
    if assets is None:
        raise ServeError("EntryNotFound", "this mirror holds no MindSpore Hub assets", 404)
    digest = request.path_params.get("digest")
    f: LocalBlob | S3Object | Flight | Remote
    if digest is not None:
        f = await run_in_threadpool(assets.blob, digest)
    else:  # a HEAD starts no transfer: the card or upstream says what would come
        f = await run_in_threadpool(assets.at, request.url.path, fetch=request.method != "HEAD")
    if isinstance(f, LocalBlob):
        return _Blob(f.path, headers={"ETag": f'"{f.path.name}"'}, media_type="application/octet-stream")
    if isinstance(f, Remote):
        headers = {"Content-Length": str(f.size), "Accept-Ranges": "bytes"}
        return Response(status_code=200, headers={**headers, "ETag": f'"{f.etag}"'} if f.etag else headers,
                        media_type="application/octet-stream")
    if isinstance(f, Flight):
        return await _arriving(request, f)
    name = f.key.rsplit("/", 1)[-1]  # an object in a bucket, named by its digest
    return _streamed(request, f, StoredFile(name, name, f.size), {"ETag": f'"{name}"', "Accept-Ranges": "bytes"})


def _routes() -> list[Route]:
    from . import web, writes
    from .metrics import metrics_page

    return [
        Route("/metrics", guarded(metrics_page), methods=["GET"]),
        Route("/", guarded(web.home), methods=["GET"]),
        Route("/m/{org}/{name}", guarded(web.model), methods=["GET"]),
        Route("/c/{name}", guarded(web.card), methods=["GET"]),
        # A Hugging Face file first: an org named "models" or "toolkits" is a repo, not a MindSpore Hub path
        # (those never have "resolve" as their third segment).
        Route("/{org}/{name}/resolve/{rev}/{path:path}", guarded(resolve), methods=["GET", "HEAD"]),
        Route("/blobs/sha256/{digest}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/toolkits/{rest:path}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/models/{rest:path}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/api/models/{org}/{name}", guarded(model_info), methods=["GET"]),
        Route("/api/models/{org}/{name}/revision/{rev:path}", guarded(model_info), methods=["GET"]),
        Route("/api/models/{org}/{name}/tree/{rev}", guarded(tree), methods=["GET"]),
        Route("/api/models/{org}/{name}/tree/{rev}/{path:path}", guarded(tree), methods=["GET"]),
        *writes.ROUTES,
    ]


def create_app(mirror: Mirror, *, tokens: Iterable[str] = (), assets: AssetStore | BucketAssets | None = None,
               page_size: int = PAGE_SIZE, write_tokens: Iterable[str] = (), audit_log: Path | None = None,
               fetches: Fetches | None = None) -> Any:
    """The ASGI app serving ``mirror`` (and ``assets``, MindSpore Hub files under their upstream paths); with
    ``tokens``, only requests bearing one of them (or a write token) are answered; with ``write_tokens``, team
    repos can be uploaded (``uploads.py``) by requests bearing one of those. Every request is counted for
    ``/metrics`` and, with ``audit_log``, written to that file as a JSON line; each whole file sent is counted in
    ``fetches`` (in memory when None), which the catalogue page sorts by."""
    from .metrics import Metrics, Observed
    from .uploads import Uploads

    writers = [t.encode() for t in write_tokens if t]
    readers = [t.encode() for t in tokens if t]
    uploads = Uploads(mirror, [t.decode() for t in writers]) if writers else None
    app = Starlette(routes=_routes())
    fetches = fetches or Fetches()
    app.state.served = Served(mirror, assets, uploads, readers, writers, page_size, fetches)
    local: AssetStore | None = assets.local if isinstance(assets, BucketAssets) else assets  # a bucket's: a local
    tallies = {"hf": mirror.tally, **({"asset": local.tally} if local is not None else {})}
    if (kept := getattr(mirror.storage, "tally", None)) is not None:
        tallies["storage"] = kept
    if mirror.rules is not None:
        tallies["policy"] = mirror.rules.tally
    app.state.metrics = Metrics(tallies, lambda: mirror.upstream_transfers() + (local.in_flight() if local else 0))
    return Observed(FastPath(app, mirror, readers + writers), app.state.metrics, audit_log, fetches)
