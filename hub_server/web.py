"""The handlers of the mirror's web pages (``/``, ``/m/{org}/{name}``, ``/c/{name}``); the HTML is ``pages.py``."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from registry.card.analyze import CardResult
from registry.record import ModelRecord
from registry.store.db import Registry
from registry.store.rows import Listing

from . import pages
from .context import Served, count_refusal, resolved, served
from .flight import Flight
from .rules import Refused
from .storage import LocalBlob, NotFound, RangeReader, StoredFile

#: The most of a README read to render it.
CARD_BYTES = 1 << 20

async def _read(source: LocalBlob | RangeReader | Flight, f: StoredFile) -> bytes:
    end = min(f.size, CARD_BYTES)
    if isinstance(source, LocalBlob):
        return await run_in_threadpool(lambda: source.path.read_bytes()[:end])
    if isinstance(source, Flight):  # read to its end, so the flight's verdict is known before anything is shown
        out = bytearray()
        async for chunk in source.chunks(0, f.size):
            out += chunk[: max(0, end - len(out))]
        return bytes(out)
    return await run_in_threadpool(lambda: b"".join(source.read(0, end)))


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers={"Content-Security-Policy": pages.CSP, "X-Content-Type-Options": "nosniff"})


def _registry_db(s: Served) -> Path:
    return s.assets.registry_db() if s.assets else s.mirror.settings.registry


def _cards(s: Served, query: str) -> list[Listing]:
    db = _registry_db(s)
    if not db.is_file():
        return []
    with Registry(db, auto_sync=False, settings=s.mirror.settings) as reg:
        return reg.search(query, limit=50) if query else reg.list()[:200]


async def home(request: Request) -> Response:
    """``/``: the mirror's repos and the registry's cards, filtered by ``?q=``."""
    s = served(request)
    query = request.query_params.get("q", "").strip()[:200]
    repos = await run_in_threadpool(s.mirror.storage.repos)
    if query:
        repos = [r for r in repos if query.lower() in r.lower()]
    return _html(pages.index(query, repos, await run_in_threadpool(_cards, s, query)))


async def model(request: Request) -> Response:
    """``/m/{org}/{name}``: a repo's files and its README, with the README's lint."""
    from registry.card.analyze import analyze_text

    try:
        r = await resolved(request, None)
    except Refused as e:  # the page says which rule keeps it out, where a client gets the 403 alone
        count_refusal(request, e)
        p = request.path_params
        return HTMLResponse(pages.blocked(f"{p['org']}/{p['name']}", e.rule, e.reason), status_code=403,
                            headers={"Content-Security-Policy": pages.CSP, "X-Content-Type-Options": "nosniff"})
    snap, readme, result = r.snapshot, None, None
    f = snap.by_path.get("README.md")
    if f is not None:
        source = await run_in_threadpool(served(request).mirror.open, snap, f)
        readme = (await _read(source, f)).decode("utf-8", "replace")
        result = analyze_text(readme, path="README.md")
    return _html(pages.repo(snap, readme, result, str(request.base_url).rstrip("/")))


async def card(request: Request) -> Response:
    """``/c/{name}``: a registry card and its lint."""
    from registry.card.analyze import analyze_file

    s = served(request)

    def find() -> tuple[ModelRecord, CardResult | None]:
        db = _registry_db(s)
        if not db.is_file():
            raise NotFound("RepoNotFound", "this mirror has no registry")
        with Registry(db, auto_sync=False, settings=s.mirror.settings) as reg:
            record = reg.resolve(request.path_params["name"][:200]).record
        path = Path(record.card_path) if record.card_path else None
        return record, analyze_file(path) if path is not None and path.is_file() else None

    try:
        record, result = await run_in_threadpool(find)
    except LookupError as e:
        raise NotFound("RepoNotFound", str(e)) from None
    return _html(pages.card(record, result, str(request.base_url).rstrip("/")))
