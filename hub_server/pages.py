"""The mirror's web pages: what it holds and can reach, with search, and a page per model.

Plain HTML with no script. Everything that comes from a card or a request is escaped, and a card's Markdown is
rendered with raw HTML turned off (markdown-it, which rich already brings), so a card cannot put markup or script
on the page. The app sends them with a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from registry.card.analyze import CardResult
from registry.record import ModelRecord
from registry.store.rows import Listing

from .storage import Snapshot

#: Sent with every page: no script, no framing, forms only to the mirror itself.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"

_STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
code,pre{background:#f4f4f4;font-size:13px}pre{padding:.6em;overflow-x:auto}.bad{color:#a00}.ok{color:#070}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def markdown(text: str) -> str:
    """A card's body as HTML, its own HTML shown as text."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def index(query: str, repos: Sequence[str], cards: Sequence[Listing]) -> str:
    """The front page: a search box, the Hugging Face repos stored, the registry's cards (what it can reach)."""
    rows = "".join(f'<li><a href="/m/{escape(r)}">{escape(r)}</a></li>' for r in repos) or "<li>none</li>"
    found = "".join(
        f'<tr><td><a href="/c/{escape(c.name)}">{escape(c.name)}</a></td><td>{escape(c.architecture or "")}</td>'
        f'<td>{"" if c.top1 is None else f"{c.top1:.2f}"}</td><td>{escape(c.source)}</td></tr>' for c in cards)
    body = (f"<h1>hub mirror</h1><form action=/ method=get><input name=q value=\"{escape(query)}\" "
            "placeholder='search models' aria-label=search> <button type=submit>Search</button></form>"
            f"<h2>Hugging Face repos stored here</h2><ul id=repos>{rows}</ul>"
            "<h2>Models it can reach</h2><table id=cards><tr><th>name</th><th>architecture</th><th>top-1</th>"
            f"<th>source</th></tr>{found or '<tr><td colspan=4>none</td></tr>'}</table>")
    return _page("hub mirror", body)


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


def repo(snap: Snapshot, readme: str | None, result: CardResult | None, base: str) -> str:
    """A stored Hugging Face repo: its card rendered, metrics, files with sizes and addresses, lint, how to use."""
    files = "".join(
        f"<tr><td>{escape(f.path)}</td><td>{_size(f.size)}</td><td><code>{escape(f.etag)}</code></td>"
        f"<td>{'sha256' if f.lfs else 'git blob id'}</td></tr>" for f in snap.files)
    record = result.record if result else None
    body_md = record.body if record and record.body else (readme or "")
    card = markdown(body_md) if body_md else "<p>The card is not stored yet.</p>"
    use = (f"HF_ENDPOINT={base} hub pull hf:{snap.repo}\n\nfrom hub_client import load_model\n"
           f'model = load_model("hf:{snap.repo}")  # with HF_ENDPOINT={base}')
    body = (f'<p><a href="/">all models</a></p><h1>{escape(snap.repo)}</h1><p>commit <code>{snap.sha}</code>, '
            f"{escape(snap.last_modified)}{' (gated upstream)' if snap.gated else ''}</p>"
            f"<h2>How to pull or load</h2><pre id=use>{escape(use)}</pre>"
            f"<h2>Metrics</h2>{_metrics(record)}<h2>Card check</h2>{_lint(result)}"
            f"<h2>Files</h2><table id=files><tr><th>file</th><th>size</th><th>address</th><th></th></tr>{files}"
            f"</table><h2>Card</h2><div id=card>{card}</div>")
    return _page(snap.repo, body)


def card(record: ModelRecord, result: CardResult | None, base: str) -> str:
    """A MindSpore Hub card the mirror can reach: its card, metrics, assets, lint, how to pull through it."""
    from urllib.parse import urlsplit

    assets = "".join(
        f"<tr><td>{escape(a.filename)}</td><td>{'' if a.size is None else _size(a.size)}</td>"
        f"<td><code>{escape(a.sha256 or '')}</code> ({escape(a.sha256_kind)})</td>"
        f"<td>{escape(urlsplit(a.url).path if a.url else a.repo_id or '')}</td></tr>" for a in record.assets)
    use = (f"HUB_MIRRORS={base} hub pull {record.name}\n\nfrom hub_client import load_model\n"
           f'model = load_model("{record.name}")  # with HUB_MIRRORS={base}')
    body = (f'<p><a href="/">all models</a></p><h1>{escape(record.name)}</h1>'
            f"<p>{escape(record.uid or '')} {escape(record.architecture or '')}</p>"
            f"<h2>How to pull or load</h2><pre id=use>{escape(use)}</pre><h2>Metrics</h2>{_metrics(record)}"
            f"<h2>Card check</h2>{_lint(result)}<h2>Files</h2><table id=files><tr><th>file</th><th>size</th>"
            f"<th>sha256</th><th>path on this mirror</th></tr>{assets}</table>"
            f"<h2>Card</h2><div id=card>{markdown(record.body) if record.body else ''}</div>")
    return _page(record.name, body)


def blocked(name: str, rule: str, reason: str) -> str:
    """A model the mirror's policy keeps out: which rule, and why."""
    return _page(f"{name}: blocked", f'<h1>{escape(name)}</h1><p class=bad>Blocked by the mirror\'s policy.</p>'
                 f"<table><tr><th>rule</th><td><code>{escape(rule)}</code></td></tr>"
                 f"<tr><th>why</th><td>{escape(reason)}</td></tr></table>"
                 '<p><a href="/">all models</a></p>')
