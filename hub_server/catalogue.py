"""The mirror's catalogue: every model it can serve as one entry, filtered, sorted and paged as a page's query
asks (``view.py``), with what only the mirror knows added to the registry's rows: stored here or not, how
often fetched through it and when last, the files' sizes from storage.

Entries come from the registry (each card, duplicates told apart by version and source in words) and from the
Hugging Face repos stored here that no card names. Nothing of the server's file system is in an entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from hub_client.models.support import backends_for
from registry.store.catalogue import SOURCE_WORDS, CatalogueRow, catalogue_rows
from registry.store.db import Registry
from registry.store.fulltext import tier
from registry.store.resolve import name_key

from .fetches import Count, asset_key, combined, grouped
from .storage import Snapshot

if TYPE_CHECKING:
    from .context import Served


@dataclass(frozen=True)
class Entry:
    """One model as the catalogue page lists it."""

    #: The page that shows it (``/c/NAME@VERSION?from=SOURCE`` or ``/m/ORG/NAME``).
    link: str
    name: str
    #: The name with its version (``convnext_tiny@2.5``); what ``hub pull`` takes.
    label: str
    dialect: str
    #: Where it comes from, in words (``bundled with hub``, ``MindSpore Hub catalogue of 2026-12-01``,
    #: ``indexed folder mindspore-hub``, ``stored on this mirror from huggingface.co``).
    source: str
    #: The source as a filter value: ``bundled``, ``catalogue``, ``folder``, ``fetched`` or ``mirror``.
    source_kind: str
    family: str | None
    framework: str | None
    task: str | None
    datasets: tuple[str, ...]
    license: str | None
    top1: float | None
    top1_benchmark: str | None
    #: Bytes of its files, where known (the card, the listing, storage).
    size: int | None
    #: ``yes`` (every file stored here), ``partly``, or ``no``.
    stored: str
    #: Backends the hub loads it on: () none, None only its config.json can tell.
    backends: tuple[str, ...] | None
    signed: bool
    fetches: Count
    #: The card's lint status (``ok``, ``warnings``, ``errors``); None for a repo with no card read.
    lint: str | None
    #: Why a search found it, when not by its name (``card: …words…``).
    matched: str | None = None
    #: The card's uid: shown, and in the link, where name, version and source do not tell it from another entry.
    uid: str | None = None
    ambiguous: bool = False
    #: The search's tier (0 the name itself, 1 a name starting with it, 2 the rest) and order within it.
    rank: tuple[int, int] = (2, 0)


#: A source's kind (as the registry keeps it) as the page's ``source`` filter names it.
SOURCE_FILTER = {"bundled": "bundled", "catalog": "catalogue", "remote": "fetched", "user": "folder"}


def source_words(kind: str, where: str, about: dict[str, Any] | None, card: Path | None) -> str:
    """Where a card comes from, in words, never a path: ``bundled with hub``, ``MindSpore Hub catalogue of
    DATE`` (``about``: the registry's catalogue facts), ``indexed folder NAME`` (``where``), ``fetched from
    HOST`` (the origin file beside ``card``)."""
    words = SOURCE_WORDS.get(kind, kind)
    if kind == "catalog" and about and about.get("fetched_at"):
        return f"{words} of {str(about['fetched_at'])[:10]}"
    if kind == "user":
        return f"{words} {where}"
    if kind == "remote" and card is not None:
        from registry.store.origin import Origin

        origin = Origin.read(card.parent)
        host = urlsplit(origin.endpoint).hostname if origin else None
        return f"fetched from {host}" if host else words
    return words


def fetches_of(counts: dict[str, Count], dialect: str, uid: str | None, urls: Iterable[str | None]) -> Count:
    """A card's fetches through the mirror: its Hugging Face repo's, else its assets' (by their URL paths)."""
    if dialect == "huggingface" and uid:
        return counts.get(f"hf:{uid}", Count(0, None))
    return combined(counts.get(asset_key(urlsplit(u).path), Count(0, None)) for u in urls if u)


def card_link(label: str, where: str, uid: str | None = None) -> str:
    """The page of one card: its name and version (``label``), which source holds it (``where``: a folder's
    name, or the kind of source) for when several do, and its ``uid`` for when one source has two cards of one
    name and version (the catalogue's ``resnet50_triplet_sop`` and ``resnet50triplet_sop``)."""
    return f"/c/{quote(label, safe='@')}?from={quote(where, safe='')}" + (f"&uid={quote(uid, safe='')}" if uid else "")


def _stored(row: CatalogueRow, held: dict[str, int | None], repo: Snapshot | None, has: set[str]) -> str:
    if repo is not None:
        n = sum(1 for f in repo.files if f.path in has)
        return "yes" if n == len(repo.files) else "partly" if n else "no"
    paths = [urlsplit(f.url).path for f in row.files if f.url]
    n = sum(1 for p in paths if p in held)
    return "no" if not paths or not n else "yes" if n == len(paths) else "partly"


def _size(row: CatalogueRow, held: dict[str, int | None], repo: Snapshot | None) -> int | None:
    if repo is not None:
        return sum(f.size for f in repo.files)
    sizes = [f.size if f.size is not None else held.get(urlsplit(f.url).path) if f.url else None for f in row.files]
    known = [s for s in sizes if s is not None]
    return sum(known) if known else None


def _card_entry(row: CatalogueRow, about: dict[str, Any] | None, counts: dict[str, Count],
                held: dict[str, int | None], repo: Snapshot | None, has: set[str], remote_cards: Path) -> Entry:
    words = source_words(row.source_kind, row.where, about, remote_cards / row.relpath)
    fetched = fetches_of(counts, row.dialect, repo.repo if repo is not None else row.uid, (f.url for f in row.files))
    signed = row.signature_url is not None or any(f.filename == "model.sig" for f in row.files) or (
        repo is not None and "model.sig" in repo.by_path)
    return Entry(
        link=card_link(row.label, row.where), name=row.name, label=row.label, dialect=row.dialect, source=words,
        source_kind=SOURCE_FILTER[row.source_kind],
        family=row.architecture, framework=row.framework, task=row.task, datasets=row.datasets, license=row.license,
        top1=row.top1, top1_benchmark=row.top1_benchmark, size=_size(row, held, repo),
        stored=_stored(row, held, repo, has), backends=backends_for(row.dialect, row.name, row.architecture, row.uid),
        signed=signed, fetches=fetched, lint=row.status, uid=row.uid)


def _repo_entry(snap: Snapshot, upstream: str | None, counts: dict[str, Count], has: set[str]) -> Entry:
    n = sum(1 for f in snap.files if f.path in has)
    host = (urlsplit(upstream).hostname if upstream else None) or "upstream"
    return Entry(
        link=f"/m/{snap.repo}", name=snap.repo, label=f"hf:{snap.repo}", dialect="huggingface",
        source="team repo on this mirror" if snap.team else f"stored on this mirror from {host}",
        source_kind="mirror", family=None, framework=None, task=None, datasets=(), license=None, top1=None,
        top1_benchmark=None, size=sum(f.size for f in snap.files),
        stored="yes" if n == len(snap.files) else "partly" if n else "no", backends=None,
        signed="model.sig" in snap.by_path, fetches=counts.get(f"hf:{snap.repo}", Count(0, None)), lint=None)


def registry_db(s: Served) -> Path:
    """The registry the mirror's pages read: the asset store's, else the settings'."""
    return s.assets.registry_db() if s.assets else s.mirror.settings.registry


def entries(s: Served, query: str) -> tuple[list[Entry], dict[str, Any] | None]:
    """Every model the mirror can serve, and what the registry keeps of its MindSpore Hub catalogue (None
    without one); with ``query``, the models a search finds, in ``hub search``'s order (``Entry.rank``), each
    saying why it matched when not by its name. Blocking: run it in a thread.

    Raises:
        UsageError: ``query`` holds no word.
    """
    rows: list[CatalogueRow] = []
    about = None
    found: dict[int, tuple[int, int, str | None]] = {}
    db = registry_db(s)
    if db.is_file():
        with Registry(db, auto_sync=False, settings=s.mirror.settings) as reg:
            rows = catalogue_rows(reg.conn)
            about = reg.catalog()
            if query:
                for i, hit in enumerate(reg.search(query, limit=max(1, len(rows)))):
                    found[hit.id] = (hit.tier if hit.tier is not None else 2, i, hit.matched)
    counts = grouped(s.fetches.all())
    stored = {}
    for repo in s.mirror.storage.repos():
        snap = s.mirror.stored(repo)
        if snap is not None:
            stored[repo] = snap
    has = {repo: {f.path for f in snap.files if s.mirror.storage.has_blob(repo, f.etag)}
           for repo, snap in stored.items()}
    files = [(p, r.dialect, r.uid or r.name, f.filename) for r in rows for f in r.files if f.url
             for p in [urlsplit(f.url).path]]
    held = s.assets.stored_assets(files) if s.assets is not None and files else {}
    out: list[Entry] = []
    named: set[str] = set()
    for row in rows:
        if query and row.id not in found:
            continue
        snap = stored.get(row.uid or "") if row.dialect == "huggingface" else None
        if snap is not None:
            named.add(snap.repo)
        entry = _card_entry(row, about, counts, held, snap, has.get(snap.repo, set()) if snap else set(),
                            s.mirror.settings.remote_cards)
        if query:
            level, i, why = found[row.id]
            entry = replace(entry, matched=why, rank=(level, i))
        out.append(entry)
    key = name_key(query.replace(" ", "_")) if query else ""
    for repo, snap in stored.items():
        if repo in named or (query and key not in name_key(repo)):
            continue
        entry = _repo_entry(snap, s.mirror.upstream, counts, has[repo])
        if query:
            level = tier(repo.split("/")[-1], key)
            entry = replace(entry, matched=None if level < 2 else "name", rank=(level, len(out)))
        out.append(entry)
    if query:
        out.sort(key=lambda e: e.rank)
    return _told_apart(out), about


def _told_apart(found: list[Entry]) -> list[Entry]:
    """Entries one source holds twice under one name and version get their uid, shown and in their link."""
    from collections import Counter

    seen = Counter((e.label, e.source) for e in found)
    return [replace(e, ambiguous=True, link=e.link + f"&uid={quote(e.uid, safe='')}")
            if seen[(e.label, e.source)] > 1 and e.uid else e for e in found]


def options(found: Iterable[Entry]) -> dict[str, list[tuple[str, int]]]:
    """The values each filter can take among ``found``, with how many entries have each, most common first;
    values that differ only by case are one (filters compare them so), written as most entries write it."""
    from collections import Counter

    counts: dict[str, Counter[str]] = {k: Counter() for k in ("family", "framework", "dataset", "license")}
    for e in found:
        for name, value in (("family", e.family), ("framework", e.framework), ("license", e.license)):
            if value:
                counts[name][value] += 1
        counts["dataset"].update(set(e.datasets))
    out = {}
    for name, c in counts.items():
        merged: dict[str, tuple[int, str, int]] = {}  # folded -> (total, most used spelling, its count)
        for value, n in c.items():
            total, best, top = merged.get(value.lower(), (0, value, 0))
            merged[value.lower()] = (total + n, value if n > top else best, max(n, top))
        out[name] = sorted(((best, total) for total, best, _ in merged.values()),
                           key=lambda kv: (-kv[1], kv[0].lower()))
    return out
