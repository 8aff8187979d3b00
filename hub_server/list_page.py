"""The catalogue page (``/``): a search box and filters in one GET form, so a view is a link; the models of the
view's page, each told apart by version and source; sorting by a column's link; page links.

No script: the form is sent with its button, the sort links and page links are plain links.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .catalogue import Entry
from .pages import DIALECTS, backends, page, size
from .view import PER_PAGE, View

#: (parameter, what its select says for "any", and its choices with their words), for the fixed filters.
_FIXED = (
    ("loads", "loads on: any", (("any", "loadable"), ("mindspore", "loads on MindSpore"),
                                ("torch", "loads on PyTorch"), ("no", "no loader"))),
    ("stored", "stored: any", (("yes", "stored here"), ("partly", "partly stored"), ("no", "not stored"))),
    ("signed", "signed: any", (("yes", "signed"), ("no", "unsigned"))),
    ("source", "source: any", (("bundled", "bundled with hub"), ("catalogue", "MindSpore Hub catalogue"),
                               ("folder", "indexed folders"), ("fetched", "fetched from a hub"),
                               ("mirror", "Hugging Face repos stored here"))),
)
_SORTS = (("relevance", "relevance"), ("name", "name"), ("top1", "top-1"), ("size", "size"),
          ("downloads", "downloads here"), ("fetched", "last fetched"))


def _select(name: str, anything: str, choices: Sequence[tuple[str, str]], chosen: str) -> str:
    opts = [f'<option value="">{escape(anything)}</option>']
    opts += [f'<option value="{escape(v)}"{" selected" if v.lower() == chosen.lower() else ""}>{escape(words)}'
             "</option>" for v, words in choices]
    return f'<select name={name} aria-label="{escape(name)}">{"".join(opts)}</select>'


def _form(v: View, options: dict[str, list[tuple[str, int]]]) -> str:
    parts = [f'<input name=q value="{escape(v.q)}" placeholder="search models" aria-label=search>']
    for name in ("family", "framework", "dataset", "license"):
        choices = [(value, f"{value} ({n})") for value, n in options.get(name, [])]
        chosen = getattr(v, name)
        if chosen and all(c[0].lower() != chosen.lower() for c in choices):
            choices.append((chosen, f"{chosen} (0)"))
        parts.append(_select(name, f"{name}: any", choices, chosen))
    parts += [_select(name, anything, choices, getattr(v, name)) for name, anything, choices in _FIXED]
    parts.append(_select("sort", "sort: default", _SORTS, v.sort))
    parts.append(_select("order", "order: default", (("asc", "ascending"), ("desc", "descending")), v.order))
    parts.append(_select("per", "per page", [(str(n), f"{n} per page") for n in PER_PAGE], str(v.per)))
    parts.append('<button type=submit>Apply</button> <a href="/">clear</a>')
    return f"<form id=filters action=/ method=get>{''.join(parts)}</form>"


def _head(v: View) -> str:
    cols = (("model", "name"), ("source", None), ("family", None), ("top-1", "top1"), ("size", "size"),
            ("stored here", None), ("loads on", None), ("fetched here", "downloads"))
    cells = []
    for words, sort in cols:
        if sort is None:
            cells.append(f"<th>{words}</th>")
            continue
        on = v.sorting == sort
        order = ("asc" if v.descending else "desc") if on else ""
        mark = (" ▼" if v.descending else " ▲") if on else ""
        cells.append(f'<th><a href="{escape(v.link(sort=sort, order=order))}">{words}</a>{mark}</th>')
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def _why(matched: str | None) -> str:
    if not matched:
        return ""
    shown = escape(matched).replace("\x02", "<mark>").replace("\x03", "</mark>")
    return f'<br><span class="dim matched">matched in {shown}</span>'


def _row(e: Entry) -> str:
    top1 = "" if e.top1 is None else f"{e.top1:.2f}" + (
        f" ({escape(e.top1_benchmark)})" if e.top1_benchmark and e.top1_benchmark != "imagenet-1k" else "")
    last = f"<br><span class=dim>last {escape(e.fetches.last[:10])}</span>" if e.fetches.last else ""
    signed = " <span class=dim>signed</span>" if e.signed else ""
    uid = f"<br><span class=dim>{escape(e.uid)}</span>" if e.ambiguous and e.uid else ""
    return (f'<tr><td data-label=model><a href="{escape(e.link)}">{escape(e.label)}</a>{signed}{uid}{_why(e.matched)}'
            "</td>"
            f"<td data-label=source>{escape(e.source)}<br><span class=dim>{escape(DIALECTS.get(e.dialect, e.dialect))}"
            "</span></td>"
            f"<td data-label=family>{escape(e.family or '')}</td><td data-label=top-1>{top1}</td>"
            f"<td data-label=size>{size(e.size)}</td><td data-label=stored>{escape(e.stored)}</td>"
            f"<td data-label='loads on'>{escape(backends(e.backends))}</td>"
            f"<td data-label=fetched>{e.fetches.count}{last}</td></tr>")


def _pages(v: View, pages: int) -> str:
    if pages <= 1:
        return ""
    at = min(v.page, pages)
    links = []
    if at > 1:
        links += [f'<a href="{escape(v.link(page=1))}">« first</a>',
                  f'<a href="{escape(v.link(page=at - 1))}" rel=prev>‹ previous</a>']
    links.append(f"<span>page {at} of {pages}</span>")
    if at < pages:
        links += [f'<a href="{escape(v.link(page=at + 1))}" rel=next>next ›</a>',
                  f'<a href="{escape(v.link(page=pages))}">last »</a>']
    return f"<nav class=pages>{''.join(links)}</nav>"


def index(v: View, entries: Sequence[Entry], total: int, pages: int, options: dict[str, list[tuple[str, int]]],
          *, about: str | None = None) -> str:
    """The catalogue: the form, what the view shows and how it is sorted, the table, the page links."""
    problems = "".join(f"<li>{escape(p)}</li>" for p in v.problems)
    at = min(v.page, pages)
    first = (at - 1) * v.per + 1 if total else 0
    sorted_by = dict(_SORTS)[v.sorting] + (" (descending)" if v.descending else "")
    rows = "".join(_row(e) for e in entries) or "<tr><td colspan=8>no model matches</td></tr>"
    body = ("<h1>hub mirror</h1>" + (f"<p class=dim>{escape(about)}</p>" if about else "") + _form(v, {
        k: list(o) for k, o in options.items()})
        + (f"<ul id=problems class=bad>{problems}</ul>" if problems else "")
        + f"<p id=count>{first}–{first + len(entries) - 1 if entries else 0} of {total} model(s), sorted by "
        f"{sorted_by}</p>{_pages(v, pages)}<table id=models class=rows>{_head(v)}<tbody>{rows}</tbody></table>"
        f"{_pages(v, pages)}")
    return page("hub mirror" + (f": {v.q}" if v.q else ""), body)
