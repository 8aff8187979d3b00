"""The mirror's model pages (a card, a stored Hugging Face repo, a blocked one) and what every page shares: the
layout, the style, sizes and counts in words. The catalogue's list is ``list_page.py``.

Plain HTML with no script. Everything that comes from a card or a request is escaped, and a card's Markdown is
rendered with raw HTML turned off (markdown-it, which rich already brings), so a card cannot put markup or script
on the page. The app sends them with a Content-Security-Policy that allows no script at all. The style keeps
every page inside the window's width, down to a phone's: long words break, wide tables and code scroll inside
their own box, and the list's table becomes one block per model on a narrow screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from registry.card.analyze import CardResult
from registry.record import ModelRecord

from .fetches import Count
from .storage import Snapshot

#: Sent with every page: no script, no framing, forms only to the mirror itself.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"

_STYLE = """*{box-sizing:border-box}body{font:15px/1.5 system-ui,sans-serif;max-width:72em;margin:1.5em auto;
padding:0 1em;color:#222;overflow-wrap:break-word}#card,pre,code,.matched{overflow-wrap:anywhere}
table{border-collapse:collapse;max-width:100%}
td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
code,pre{background:#f4f4f4;font-size:13px}pre{padding:.6em;overflow-x:auto;white-space:pre-wrap}
.bad{color:#a00}.ok{color:#070}.dim{color:#666;font-size:13px}mark{background:#fe8}
#card table,#metrics{display:block;overflow-x:auto}
#facts{table-layout:fixed;width:100%;max-width:48em}#facts th{width:9em}#facts td{overflow-wrap:anywhere}
#card img{max-width:100%}
form#filters{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin:1em 0}
form#filters input[name=q]{flex:1 1 16em;min-width:0}select{max-width:14em}
nav.pages{margin:1em 0}nav.pages a,nav.pages span{margin-right:.8em}
@media (max-width:44em){.rows thead{display:none}.rows,.rows tbody,.rows tr,.rows td{display:block}
.rows tr{border-bottom:2px solid #ccc;padding:.4em 0}.rows td{border:0;padding:.1em 0}
.rows td[data-label]::before{content:attr(data-label) ": ";color:#666}}"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


def size(n: int | None) -> str:
    """Bytes in words (``110.3 MB``); an em dash when not known."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(n)


def fetched(c: Count) -> str:
    """How often and when last a model was fetched through the mirror."""
    return "never" if not c.count else f"{c.count} time(s), last {c.last.replace('T', ' ')[:16] if c.last else '?'}"


def backends(found: tuple[str, ...] | None) -> str:
    return "its config.json tells" if found is None else ", ".join(found) if found else "no loader"


#: A card's dialect in words.
DIALECTS = {"mindspore-hub": "MindSpore Hub card", "huggingface": "Hugging Face card"}


def markdown(text: str) -> str:
    """A card's body as HTML, its own HTML shown as text."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # A link relative to the card points into the repo it came from, not at this mirror: shown as text.
    md.validateLink = lambda url: url.lower().startswith(("https://", "http://", "mailto:", "#"))  # type: ignore[method-assign]
    return str(md.render(text))


def _lint(result: CardResult | None) -> str:
    if result is None:
        return "<p>No card to check.</p>"
    status = (f'<p class={"bad" if result.errors else "ok"} id=lint>card check (as lint): {result.errors} error(s), '
              f"{result.warnings} warning(s)</p>")
    items = "".join(f"<li>line {d.line}: {escape(d.rule)}: {escape(d.message)}</li>" for d in result.diagnostics)
    return status + (f"<ul>{items}</ul>" if items else "")


def _metrics(record: ModelRecord | None) -> str:
    if record is None or not record.metrics:
        return "<p>No metrics in the card.</p>"
    rows = "".join(f"<tr><td>{escape(m.name)}</td><td>{escape(str(m.value))}</td><td>{escape(m.dataset or '')}</td>"
                   "</tr>" for m in record.metrics)
    return f"<table id=metrics><tr><th>metric</th><th>value</th><th>dataset</th></tr>{rows}</table>"


def _facts(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs if v)
    return f"<table id=facts>{rows}</table>"


def _use(lines: Sequence[str], tokens: bool) -> str:
    note = ("<p>This mirror wants a team token: set the variable named with the one you were given.</p>"
            if tokens else "")
    return f"<h2>How to pull or load</h2>{note}<pre id=use>{escape(chr(10).join(lines))}</pre>"


@dataclass(frozen=True)
class FileLine:
    """A file as a model page lists it: where its size came from, and whether the mirror holds it."""

    name: str
    size: int | None
    #: ``yes``, ``no``, or why it cannot be (``blocked: RULE``).
    stored: str
    digest: str
    #: Where a client fetches it from this mirror (a URL path, never a path of the server).
    address: str


def _files(files: Sequence[FileLine]) -> str:
    rows = "".join(f"<tr><td data-label=file>{escape(f.name)}</td><td data-label=size>{size(f.size)}</td>"
                   f"<td data-label=stored>{escape(f.stored)}</td><td data-label=digest><code>{escape(f.digest)}"
                   f"</code></td><td data-label=address><code>{escape(f.address)}</code></td></tr>" for f in files)
    return ("<h2>Files</h2><table id=files class=rows><thead><tr><th>file</th><th>size</th><th>stored here</th>"
            f"<th>digest</th><th>address on this mirror</th></tr></thead><tbody>{rows}</tbody></table>")


def repo(snap: Snapshot, readme: str | None, result: CardResult | None, base: str, *, files: Sequence[FileLine],
         fetches: Count, tokens: bool, loads: tuple[str, ...] | None) -> str:
    """A stored Hugging Face repo: its card rendered, metrics, files with sizes and whether stored, how often
    fetched here, lint, how to pull and load through the mirror."""
    record = result.record if result else None
    body_md = record.body if record and record.body else (readme or "")
    card = markdown(body_md) if body_md else "<p>The card is not stored yet.</p>"
    token = ["HF_TOKEN=<your team token>"] if tokens else []
    use = [f"export HF_ENDPOINT={base}", *(f"export {t}" for t in token), f"hub pull hf:{snap.repo}", "",
           "from hub_client import load_model", f'model = load_model("hf:{snap.repo}")']
    facts = [("commit", snap.sha), ("last modified", snap.last_modified),
             ("upstream", "gated: only a client with a token is served" if snap.gated else ""),
             ("kind", "team repo, uploaded to this mirror" if snap.team else "Hugging Face repo"),
             ("license", record.license or "" if record else ""),
             ("total size", size(sum(f.size for f in snap.files))), ("fetched here", fetched(fetches)),
             ("loads on", backends(loads)), ("signed", "yes (model.sig)" if "model.sig" in snap.by_path else "no")]
    body = (f'<p><a href="/">all models</a></p><h1>{escape(snap.repo)}</h1>{_facts(facts)}{_use(use, tokens)}'
            f"<h2>Metrics</h2>{_metrics(record)}<h2>Card check</h2>{_lint(result)}{_files(files)}"
            f"<h2>Card</h2><div id=card>{card}</div>")
    return page(snap.repo, body)


@dataclass(frozen=True)
class Sibling:
    """Another card of the same name (another version, or the same from another source), linked."""

    link: str
    label: str
    source: str


def card(record: ModelRecord, result: CardResult | None, base: str, *, label: str, source: str,
         files: Sequence[FileLine], fetches: Count, tokens: bool, loads: tuple[str, ...] | None,
         siblings: Sequence[Sibling]) -> str:
    """A card the mirror can reach: what tells it apart (version, source), its facts, its files with sizes and
    whether stored, how often fetched here, lint, how to pull and load through the mirror, the card itself."""
    if record.dialect.value == "huggingface" and record.uid:
        token = ["HF_TOKEN=<your team token>"] if tokens else []
        use = [f"export HF_ENDPOINT={base}", *(f"export {t}" for t in token), f"hub pull hf:{record.uid}", "",
               "from hub_client import load_model", f'model = load_model("hf:{record.uid}")']
    else:
        token = ["HUB_MIRROR_TOKEN=<your team token>"] if tokens else []
        use = [f"export HUB_MIRRORS={base}", *(f"export {t}" for t in token), f"hub pull {label}", "",
               "from hub_client import load_model", f'model = load_model("{label}")']
    top1 = record.top1()
    dialect = DIALECTS.get(record.dialect.value, record.dialect.value)
    facts = [("version", label), ("from", source), ("dialect", dialect), ("uid", record.uid or ""),
             ("family", record.architecture or ""), ("framework", record.framework or ""),
             ("task", record.task or ""), ("datasets", ", ".join(record.datasets)), ("license", record.license or ""),
             ("top-1", f"{top1[0]:.2f} %" if top1 else ""), ("fetched here", fetched(fetches)),
             ("loads on", backends(loads)), ("signed", "yes" if record.signature_url else "no")]
    others = "".join(f'<li><a href="{escape(s.link)}">{escape(s.label)}</a> <span class=dim>{escape(s.source)}'
                     "</span></li>" for s in siblings)
    body = (f'<p><a href="/">all models</a></p><h1>{escape(record.name)}</h1>'
            f"<p class=dim id=origin>{escape(label)} · {escape(source)}</p>{_facts(facts)}"
            + (f"<h2>Other cards of this name</h2><ul id=siblings>{others}</ul>" if others else "")
            + f"{_use(use, tokens)}<h2>Metrics</h2>{_metrics(record)}<h2>Card check</h2>{_lint(result)}"
            f"{_files(files)}<h2>Card</h2><div id=card>{markdown(record.body) if record.body else ''}</div>")
    return page(label, body)


def blocked(name: str, rule: str, reason: str) -> str:
    """A model the mirror's policy keeps out: which rule, and why."""
    return page(f"{name}: blocked", f'<h1>{escape(name)}</h1><p class=bad>Blocked by the mirror\'s policy.</p>'
                f"<table><tr><th>rule</th><td><code>{escape(rule)}</code></td></tr>"
                f"<tr><th>why</th><td>{escape(reason)}</td></tr></table>"
                '<p><a href="/">all models</a></p>')
