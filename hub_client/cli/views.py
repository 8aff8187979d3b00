"""How registry results look: rich tables for people, plain dicts for ``--json``.

The CLI decides where output goes; these functions only shape it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from hub_client.fetch.cache import Cache
from hub_client.models.support import backends_for, record_backends
from registry.record import IMAGENET_1K
from registry.store.fulltext import MARK_END, MARK_START
from registry.store.resolve import Resolution
from registry.store.rows import Listing, SyncReport

_STATUS = {"ok": "[green]ok[/]", "warnings": "[yellow]warnings[/]", "errors": "[red]errors[/]"}


def backends(row: Listing) -> tuple[str, ...] | None:
    """The backends a listed model loads on (() none, None: only its config.json can tell)."""
    return backends_for(row.dialect, row.name, row.architecture, row.uid)


def _loads(found: tuple[str, ...] | None) -> str:
    return "?" if found is None else ", ".join(found) if found else "-"


def listing_dicts(rows: Sequence[Listing]) -> list[dict[str, Any]]:
    return [{**dataclasses.asdict(r), "loads_on": None if (b := backends(r)) is None else list(b),
             "matched": _marked(r.matched, "[", "]")} for r in rows]


def _marked(text: str | None, start: str, end: str) -> str | None:
    """Why a search result matched, its matched words between ``start`` and ``end``."""
    return None if text is None else text.replace(MARK_START, start).replace(MARK_END, end)


def _short_source(label: str) -> str:
    return label if label == "bundled" else Path(label).name or label


def _top1(row: Listing) -> str:
    """The top-1, with the benchmark when it is not ImageNet-1k (the one a bare "top-1" means)."""
    if row.top1 is None:
        return "-"
    other = row.top1_benchmark not in (IMAGENET_1K, None)
    return f"{row.top1:.2f}" + (f" ({escape(row.top1_benchmark or '')})" if other else "")


def listing_table(rows: Sequence[Listing], *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("name", overflow="fold")
    table.add_column("uid", overflow="fold")
    table.add_column("backbone", overflow="fold")
    table.add_column("top-1 %", justify="right", no_wrap=True)
    table.add_column("MindSpore", no_wrap=True)
    table.add_column("lint", no_wrap=True)
    table.add_column("loads on", overflow="fold")
    table.add_column("source", overflow="fold")
    why = any(r.matched for r in rows)  # a search: say why a result matched when not by its name
    if why:
        table.add_column("matched in", overflow="fold")
    for r in rows:
        table.add_row(
            escape(r.name), escape(r.uid or "-"), escape(r.architecture or "-"),
            _top1(r), r.mindspore_version or "-",
            _STATUS.get(r.status, r.status), _loads(backends(r)), escape(_short_source(r.source)),
            *([_marked(escape(r.matched), "[bold]", "[/bold]") if r.matched else ""] if why else []),
        )
    return table


def hf_table(rows: Sequence[dict[str, Any]], *, title: str) -> Table:
    """Repos from the Hub's search: ``hub info hf:ID`` or ``hub pull hf:ID`` takes any of them by its id."""
    table = Table(title=title, title_justify="left")
    for col in ("id", "task", "library", "downloads", "updated"):
        table.add_column(col, overflow="fold", justify="right" if col == "downloads" else "left")
    for r in rows:
        table.add_row(escape(f"hf:{r['id']}"), escape(r["task"] or "-"), escape(r["library"] or "-"),
                      str(r["downloads"] if r["downloads"] is not None else "-"), (r["updated"] or "-")[:10])
    return table


def catalog_text(about: dict[str, Any] | None) -> str | None:
    """Where the MindSpore Hub catalogue came from and how old it is, in a line; None without one."""
    if not about:
        return None
    fetched = dt.datetime.fromisoformat(about["fetched_at"])
    days = (dt.datetime.now(dt.UTC) - fetched).days
    age = "today" if days == 0 else f"{days} day(s) ago"
    return (f"MindSpore Hub catalogue: {about['cards']} card(s) from {about['url']}, fetched {fetched:%Y-%m-%d} "
            f"({age}); `hub update` refreshes it")


def info_dict(res: Resolution, cache: Cache, signature: dict[str, str | None] | None = None) -> dict[str, Any]:
    rec = res.record
    return {
        "signature": signature,
        "spec": res.spec,
        "chosen_because": res.reason,
        "candidates": [dataclasses.asdict(c) for c in res.candidates],
        "lint": {"status": res.status, "diagnostics": res.diagnostics},
        "loads_on": None if (found := record_backends(rec)) is None else list(found),
        "record": rec.model_dump(mode="json", exclude={"body"}),
        "assets": [
            {**a.model_dump(mode="json"), "cached": cache.is_cached(rec, a),
             "cache_path": str(cache.asset_path(rec, a))}
            for a in rec.assets
        ],
    }


def info_tables(res: Resolution, cache: Cache, signature: dict[str, str | None] | None = None) -> list[Table | str]:
    rec = res.record
    head = Table(show_header=False, title=f"{rec.name}", title_justify="left")
    head.add_column("field", style="bold")
    head.add_column("value", overflow="fold")
    fields = [
        ("uid", rec.uid), ("dialect", rec.dialect.value), ("card", rec.card_path), ("title", rec.title),
        ("backbone", rec.architecture), ("framework", rec.framework), ("task", rec.task),
        ("datasets", ", ".join(rec.datasets)), ("license", f"{rec.license} (written {rec.license_raw!r})"
                                                 if rec.license_raw and rec.license != rec.license_raw
                                                 else rec.license),
        ("version", rec.version), ("MindSpore", rec.mindspore_version),
        ("revision", f"{rec.revision} ({', '.join(rec.refs)})" if rec.revision and rec.refs else rec.revision),
        ("updated", rec.updated.isoformat() if rec.updated else None), ("base model", rec.base_model),
        ("author", rec.author), ("summary", rec.summary), ("evaluation", rec.evaluation_raw),
        ("lint", _STATUS.get(res.status, res.status)),
        ("loads on", _loads(record_backends(rec)) if record_backends(rec) != () else "no loader builds it"),
        ("signature", _signature(signature)),
    ]
    for k, v in fields:
        if v:
            head.add_row(k, str(v))
    out: list[Table | str] = [head]
    if rec.assets:
        assets = Table(title="assets", title_justify="left")
        for col in ("file", "format", "sha256", "kind", "cached", "url"):
            assets.add_column(col, overflow="fold")
        for a in rec.assets:
            cached = "[green]yes[/]" if cache.is_cached(rec, a) else "no"
            assets.add_row(a.filename, a.format, a.sha256 or "-", a.sha256_kind, cached, a.url or a.repo_id or "-")
        out.append(assets)
    if rec.metrics:
        metrics = Table(title="metrics", title_justify="left")
        for col in ("metric", "value", "dataset", "from"):
            metrics.add_column(col)
        for m in rec.metrics:
            metrics.add_row(m.name, str(m.value), m.dataset or "-", m.source)
        out.append(metrics)
    if rec.variants:
        variants = Table(title="variants in the card's results table", title_justify="left")
        for col in ("name", "figures", "weights"):
            variants.add_column(col, overflow="fold")
        for var in rec.variants:
            variants.add_row(var.name, ", ".join(f"{k} {x:g}" for k, x in var.metrics.items()), "\n".join(var.weights))
        out.append(variants)
    out.extend(diagnostic_lines(res.diagnostics))
    return out


def diagnostic_lines(diagnostics: Sequence[dict[str, Any]]) -> list[str]:
    color = {"error": "red", "warning": "yellow", "info": "blue"}
    return [f"[{color.get(d['severity'], 'white')}]{d['severity']}[/] {d['line']}:{d['col']} "
            + escape(f"[{d['rule']}] {d['message']}") for d in diagnostics]


def sync_dict(report: SyncReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


def sync_text(report: SyncReport, path: str) -> str:
    lines = [f"{path}: up to date ({report.unchanged} card(s))" if not report.changed else
             f"{path}: {len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
             f"{report.unchanged} unchanged"]
    lines += [f"source {label} is missing (moved or deleted?): its cards are kept; move it back, or forget it with "
              f"`hub index --remove {label}`" for label in report.missing]
    return "\n".join(lines)


def _signature(sig: dict[str, str | None] | None) -> str | None:
    if sig is None:
        return None
    asked = f" (rule {sig['rule']}: {sig['signers']})" if sig.get("rule") else ""
    return f"{sig['status']}: {sig['detail']}{asked}"
