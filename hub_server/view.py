"""What the catalogue page shows, as its query parameters say it, so that a link is the view: ``q`` (search),
the filters (``family``, ``framework``, ``dataset``, ``license``, ``loads``, ``stored``, ``signed``,
``source``), ``sort`` and ``order``, ``page`` and ``per``.

A value that is not one the parameter takes is left out of the view and said on the page (``View.problems``),
rather than answered with an error page: the rest of the link still works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from .catalogue import Entry

#: Each choice parameter and the values it takes ("" is no filter).
CHOICES: dict[str, tuple[str, ...]] = {
    "loads": ("", "any", "mindspore", "torch", "no"),
    "stored": ("", "yes", "partly", "no"),
    "signed": ("", "yes", "no"),
    "source": ("", "bundled", "catalogue", "folder", "fetched", "mirror"),
    "sort": ("", "relevance", "name", "top1", "size", "downloads", "fetched"),
    "order": ("", "asc", "desc"),
}
#: Free-text filters: an entry passes when its value is the one given, case aside.
TEXT = ("family", "framework", "dataset", "license")
#: Entries per page: the choices offered, and the most taken.
PER_PAGE = (25, 50, 100, 200)
#: Which way each sort goes unless ``order`` says: the best, biggest or latest first, names A to Z.
_DEFAULT_DESC = {"top1", "size", "downloads", "fetched"}


@dataclass(frozen=True)
class View:
    q: str = ""
    family: str = ""
    framework: str = ""
    dataset: str = ""
    license: str = ""
    loads: str = ""
    stored: str = ""
    signed: str = ""
    source: str = ""
    sort: str = ""
    order: str = ""
    page: int = 1
    per: int = 50
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, params: Mapping[str, str]) -> View:
        """The view a page's query asks for; what it cannot take is dropped and said in ``problems``."""
        got: dict[str, Any] = {}
        problems = []
        for name in ("q", *TEXT):
            got[name] = params.get(name, "").strip()[:200]
        for name, allowed in CHOICES.items():
            value = params.get(name, "").strip().lower()
            if value in allowed:
                got[name] = value
            else:
                problems.append(f"{name}={value[:40]!r} is not one of {', '.join(a for a in allowed if a)}; "
                                "left out")
        for name, default in (("page", 1), ("per", 50)):
            raw = params.get(name, "").strip()
            if not raw:
                continue
            if raw.isdigit() and len(raw) < 7 and int(raw) >= 1:
                got[name] = min(int(raw), max(PER_PAGE)) if name == "per" else int(raw)
            else:
                problems.append(f"{name}={raw[:40]!r} is not a whole number from 1; {name} {default} shown")
        return cls(**got, problems=tuple(problems))

    @property
    def sorting(self) -> str:
        """The sort in force: relevance for a search, by name otherwise, unless ``sort`` says."""
        if self.sort and not (self.sort == "relevance" and not self.q):
            return self.sort
        return "relevance" if self.q else "name"

    @property
    def descending(self) -> bool:
        return self.order == "desc" if self.order else self.sorting in _DEFAULT_DESC

    def link(self, **changes: Any) -> str:
        """``/?…`` for this view with ``changes``; a change of filter or sort goes back to page 1."""
        if any(k != "page" for k in changes):
            changes.setdefault("page", 1)
        view = replace(self, **changes)
        defaults = View()
        pairs = [(f.name, getattr(view, f.name)) for f in fields(View) if f.name != "problems"]
        kept = [(k, v) for k, v in pairs if v != getattr(defaults, k)]
        return "/?" + urlencode(kept) if kept else "/"

    def filters(self) -> list[tuple[str, str]]:
        """The filters in force, as (parameter, value)."""
        return [(k, getattr(self, k)) for k in (*TEXT, "loads", "stored", "signed", "source") if getattr(self, k)]


def _passes(e: Entry, v: View) -> bool:
    for name, value in (("family", e.family), ("framework", e.framework), ("license", e.license)):
        wanted = getattr(v, name)
        if wanted and (value or "").lower() != wanted.lower():
            return False
    if v.dataset and v.dataset.lower() not in {d.lower() for d in e.datasets}:
        return False
    if v.loads:
        on = e.backends or ()
        if (v.loads == "no" and on) or (v.loads == "any" and not on) or (v.loads not in ("any", "no") and
                                                                           v.loads not in on):
            return False
    if v.stored and e.stored != v.stored:
        return False
    if v.signed and e.signed != (v.signed == "yes"):
        return False
    return not (v.source and e.source_kind != v.source)


def _sort_key(sort: str) -> Any:
    """What an entry sorts on; the unknown (no top-1, no size, never fetched) always last."""
    return {
        "name": lambda e: (e.name.lower(), e.label),
        "top1": lambda e: e.top1,
        "size": lambda e: e.size,
        "downloads": lambda e: e.fetches.count or None,
        "fetched": lambda e: e.fetches.last,
    }[sort]


def shown(found: Sequence[Entry], v: View) -> tuple[list[Entry], int, int]:
    """The entries of ``v``'s page among ``found`` (filtered, sorted), how many pass the filters, and the
    number of pages."""
    kept = [e for e in found if _passes(e, v)]
    if v.sorting == "relevance":
        ordered = sorted(kept, key=lambda e: e.rank, reverse=v.descending)
    else:
        key = _sort_key(v.sorting)
        known = [e for e in kept if key(e) is not None]
        unknown = [e for e in kept if key(e) is None]
        ordered = sorted(known, key=key, reverse=v.descending) + sorted(unknown, key=_sort_key("name"))
    pages = max(1, -(-len(ordered) // v.per))
    page = min(v.page, pages)
    return ordered[(page - 1) * v.per: page * v.per], len(ordered), pages
