"""The handlers of the mirror's web pages (``/``, ``/m/{org}/{name}``, ``/c/{name}[@version]``); the HTML is
``list_page.py`` and ``pages.py``, the entries ``catalogue.py``, the query ``view.py``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub_client.models.support import backends_for, record_backends
from registry.card.analyze import CardResult
from registry.errors import UsageError
from registry.record import ModelRecord
from registry.store.catalogue import pinned, where_of
from registry.store.db import Registry
from registry.store.resolve import Candidate

from . import catalogue, list_page, pages
from .assets import Remote
from .catalogue import card_link, fetches_of, registry_db, source_words
from .context import Served, count_refusal, resolved, served
from .fetches import Count, grouped
from .flight import Flight
from .rules import Refused
from .storage import LocalBlob, NotFound, RangeReader, ServeError, StoredFile
from .view import View, shown

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


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status,
                        headers={"Content-Security-Policy": pages.CSP, "X-Content-Type-Options": "nosniff"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _catalogue_words(about: dict[str, Any] | None) -> str | None:
    if not about:
        return None
    host = urlsplit(str(about.get("url", ""))).hostname or "its source"
    return f"MindSpore Hub catalogue: {about.get('cards', '?')} card(s) from {host}, {str(about['fetched_at'])[:10]}"


async def home(request: Request) -> Response:
    """``/``: the catalogue, searched, filtered, sorted and paged as the query says (``view.py``)."""
    s = served(request)
    v = View.of(request.query_params)
    if not v.problems and any(not value for _, value in request.query_params.multi_items()):
        return RedirectResponse(v.link(), 303)  # the form sends every field: the link to share has those set
    try:
        found, about = await run_in_threadpool(catalogue.entries, s, v.q)
    except UsageError as e:  # a search of no word: say so and show everything
        v = replace(v, q="", problems=(*v.problems, f"q: {e}"))
        found, about = await run_in_threadpool(catalogue.entries, s, "")
    listed, total, n_pages = shown(found, v)
    return _html(list_page.index(v, listed, total, n_pages, catalogue.options(found), about=_catalogue_words(about)))


def _repo_files(s: Served, snap_files: tuple[StoredFile, ...], repo: str, sha: str) -> list[pages.FileLine]:
    return [pages.FileLine(f.path, f.size, "yes" if s.mirror.storage.has_blob(repo, f.etag) else "no", f.etag,
                           f"/{repo}/resolve/{sha}/{f.path}") for f in snap_files]


async def model(request: Request) -> Response:
    """``/m/{org}/{name}``: a repo's files and its README, with the README's lint."""
    from registry.card.analyze import analyze_text

    s = served(request)
    try:
        r = await resolved(request, None)
    except Refused as e:  # the page says which rule keeps it out, where a client gets the 403 alone
        count_refusal(request, e)
        p = request.path_params
        return _html(pages.blocked(f"{p['org']}/{p['name']}", e.rule, e.reason), 403)
    snap, readme, result = r.snapshot, None, None
    f = snap.by_path.get("README.md")
    if f is not None:
        source = await run_in_threadpool(s.mirror.open, snap, f)
        readme = (await _read(source, f)).decode("utf-8", "replace")
        result = analyze_text(readme, path="README.md")
    files = await run_in_threadpool(_repo_files, s, snap.files, snap.repo, snap.sha)
    counts = grouped(await run_in_threadpool(s.fetches.all))
    record = result.record if result else None
    loads = record_backends(record) if record else None
    return _html(pages.repo(snap, readme, result, _base(request), files=files, tokens=bool(s.readers),
                            fetches=counts.get(f"hf:{snap.repo}", Count(0, None)), loads=loads))


def _where(c: Candidate) -> str:
    return where_of(c.source_kind, c.source)


def _source_words(c: Candidate, about: dict[str, Any] | None, reg: Registry) -> str:
    card = reg.record(c.id).card_path if c.source_kind == "remote" else None
    return source_words(c.source_kind, _where(c), about, Path(card) if card else None)


def _label(c: Candidate) -> str:
    return pinned(c.name, c.mindspore_version, c.version)


def _asset_lines(s: Served, record: ModelRecord) -> list[pages.FileLine]:
    """Each asset with its size from the card, storage, or its host, and whether the mirror holds it."""
    out = []
    for a in record.assets:
        path = urlsplit(a.url).path if a.url else ""
        found, stored = a.size, "no"
        if path and s.assets is not None:
            try:
                got = s.assets.at(path, fetch=False)
                found = getattr(got, "size", None) or found
                stored = "no" if isinstance(got, Remote) else "yes"
            except Refused as e:
                stored = f"blocked: {e.rule}"
            except (NotFound, ServeError):
                pass  # not stored, and its host was not asked (offline) or did not say
        digest = f"{a.sha256} ({a.sha256_kind})" if a.sha256 else "none given"
        out.append(pages.FileLine(a.filename, found, stored, digest, path or f"hf:{a.repo_id}/{a.filename}"))
    return out


def _card_page(s: Served, spec: str, wanted: str | None, uid: str | None, base: str) -> str:
    from registry.card.analyze import analyze_file

    db = registry_db(s)
    if not db.is_file():
        raise NotFound("RepoNotFound", "this mirror has no registry")
    with Registry(db, auto_sync=False, settings=s.mirror.settings) as reg:
        res = reg.resolve(spec[:200])
        fits = [c for c in res.candidates if (not wanted or _where(c) == wanted) and (not uid or c.uid == uid)]
        chosen = fits[0] if fits and (wanted or uid) else res.candidate
        record = reg.record(chosen.id)
        about = reg.catalog()
        every = reg.resolve(record.name).candidates if "@" in spec else res.candidates
        words = {c.id: _source_words(c, about, reg) for c in [chosen, *every]}
    path = Path(record.card_path) if record.card_path else None
    result: CardResult | None = analyze_file(path) if path is not None and path.is_file() else None
    fetched = fetches_of(grouped(s.fetches.all()), record.dialect.value, record.uid, (a.url for a in record.assets))
    siblings = [pages.Sibling(card_link(_label(c), _where(c), c.uid), _label(c), words[c.id])
                for c in every if c.id != chosen.id]
    loads = record_backends(record)
    if loads is None:
        loads = backends_for(record.dialect.value, record.name, record.architecture, record.uid)
    return pages.card(record, result, base, label=_label(chosen), source=words[chosen.id],
                      files=_asset_lines(s, record), fetches=fetched, tokens=bool(s.readers), loads=loads,
                      siblings=siblings)


async def card(request: Request) -> Response:
    """``/c/{name}[@version]``: a registry card (``?from=SOURCE`` picks one of several with that name and
    version), what the mirror holds of it, and its lint."""
    s = served(request)
    try:
        return _html(await run_in_threadpool(_card_page, s, request.path_params["name"],
                                             request.query_params.get("from"), request.query_params.get("uid"),
                                             _base(request)))
    except LookupError as e:
        raise NotFound("RepoNotFound", str(e)) from None
