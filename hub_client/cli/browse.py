"""The registry's commands: ``hub list``, ``hub search``, ``hub info``, ``hub index``."""

from __future__ import annotations

from typing import Annotated

import typer

from ._output import JsonOpt, NameArg, bars_wanted, console, emit_json, note, settings


def list_(
    backbone: Annotated[str | None, typer.Option(help="Backbone, e.g. convnext.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Training dataset, e.g. ImageNet2012.")] = None,
    framework: Annotated[str | None, typer.Option(help="mindspore, transformers, pytorch, ...")] = None,
    source: Annotated[str | None, typer.Option(help="mindspore-hub, huggingface, bundled, or an indexed path.")] = None,
    min_top1: Annotated[float | None, typer.Option(
        min=0, max=100, help="Only models with top-1 accuracy at least this (%), on ImageNet-1k or on --dataset when "
        "given.")] = None,
    loadable: Annotated[bool, typer.Option("--loadable", help="Only models load_model, predict and eval can run "
                                           "(the 'loads on' column).")] = False,
    json_: JsonOpt = False,
) -> None:
    """List the models in the registry, with filters; 'loads on' says which backends load_model runs each on."""
    from registry.store.db import Registry

    from . import views

    with Registry(settings=settings()) as reg:
        rows = reg.list(backbone=backbone, dataset=dataset, framework=framework, source=source, min_top1=min_top1)
        about = reg.catalog()
    if loadable:
        rows = [r for r in rows if views.backends(r)]
    if json_:
        emit_json(views.listing_dicts(rows))
    else:
        console().print(views.listing_table(rows, title=f"{len(rows)} model(s)"))
        note(views.catalog_text(about))


def search(
    text: Annotated[list[str], typer.Argument(help="Words to find in names, summaries and card text.")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many results.")] = 20,
    hf: Annotated[bool, typer.Option("--hf", help="Search the Hugging Face Hub (HF_ENDPOINT) instead.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Full-text search over the registry, best match first; with --hf, the Hub's own search."""
    from registry.store.db import Registry

    from . import views

    if hf:
        from hub_client.fetch.remote import search_hf

        found = search_hf(" ".join(text), limit=limit, settings=settings())
        if json_:
            emit_json(found)
        else:
            console().print(views.hf_table(found, title=f"{len(found)} repo(s) for {' '.join(text)!r}"))
        return
    with Registry(settings=settings()) as reg:
        rows = reg.search(" ".join(text), limit=limit)
    if json_:
        emit_json(views.listing_dicts(rows))
    else:
        console().print(views.listing_table(rows, title=f"{len(rows)} result(s) for {' '.join(text)!r}"))


def info(name: NameArg, json_: JsonOpt = False) -> None:
    """Everything the registry knows of a model: card fields, assets and hashes, metrics, lint, cache."""
    from hub_client.fetch.cache import Cache
    from hub_client.fetch.remote import resolve
    from registry.config import CATALOG
    from registry.errors import InvalidCardError
    from registry.store.db import Registry

    from . import views

    chosen = settings()
    try:
        res = resolve(name, settings=chosen)
        with Registry(settings=chosen) as reg:
            about = reg.catalog() if res.candidate.source_kind == CATALOG else None
    except InvalidCardError as e:
        if json_:
            emit_json({"spec": name, "card": e.path, "usable": False, "diagnostics": e.diagnostics})
        else:
            con = console()
            con.print(f"[red]{e.name}[/]: the card {e.path} has errors and no usable data")
            for line in views.diagnostic_lines(e.diagnostics):
                con.print(line)
        raise typer.Exit(1) from None
    from hub_client.fetch.signed import signature_status

    signature = signature_status(res.record, chosen)
    if json_:
        emit_json({**views.info_dict(res, Cache(chosen.home), signature), "catalog": about})
        return
    note(res.reason)
    note(views.catalog_text(about))
    con = console()
    for part in views.info_tables(res, Cache(chosen.home), signature):
        con.print(part)


def index(
    path: Annotated[str | None, typer.Argument(help="A folder of cards to add as a source (kept for later syncs).")]
    = None,
    rebuild: Annotated[bool, typer.Option(help="Re-analyze every card of every source.")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Forget the folder PATH and its cards (files stay).")
                      ] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a card folder to the registry, forget one, or bring every source up to date."""
    from registry.errors import UsageError
    from registry.store.db import Registry

    from . import views

    if remove and path is None:
        raise UsageError("--remove needs the PATH of the source to forget")
    if path is not None and not path.strip():
        raise UsageError("an empty PATH names no folder: give the folder of cards (`hub index .` for this one)")
    with Registry(settings=settings()) as reg:
        removed = reg.remove_source(path) if remove and path is not None else []
        if path is not None and not remove:
            reg.add_source(path)
        report = reg.rebuild() if rebuild else reg.sync()
        report.removed[:0] = removed
        where = str(reg.path)
    if json_:
        emit_json({"registry": where, **views.sync_dict(report)})
    else:
        typer.echo(views.sync_text(report, where))


def update(
    from_: Annotated[str | None, typer.Option("--from", help="The archive's URL (default: HUB_CATALOG_URL, else "
                                              "upstream's mindspore-ai/hub).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Fetch the whole MindSpore Hub catalogue (an archive of its card repository) and index every card."""
    from hub_client.fetch.catalog import update as run

    from . import views

    if bars_wanted(quiet or json_):
        from .progress import RichBars

        with RichBars() as bars:
            done = run(from_, settings=settings(), progress=bars("catalogue"))
    else:
        done = run(from_, settings=settings())
    if json_:
        emit_json({"url": done.url, "sha256": done.sha256, "cards": done.cards, **views.sync_dict(done.report)})
    else:
        typer.echo(f"catalogue: {done.cards} card(s) from {done.url} (sha256 {done.sha256[:12]}): "
                   f"{len(done.report.added)} added, {len(done.report.updated)} updated, "
                   f"{len(done.report.removed)} removed")


def register(app: typer.Typer) -> None:
    app.command("list")(list_)
    app.command()(search)
    app.command()(info)
    app.command()(index)
    app.command()(update)
