"""``hub cache``: inspect and clean the local cache (``HUB_HOME``)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._output import JsonOpt, emit_json

cache_app = typer.Typer(help="Inspect and clean the local cache (HUB_HOME).", no_args_is_help=True)


@cache_app.command("ls")
def cache_ls(json_: JsonOpt = False) -> None:
    """Cached files, by model."""
    from hub_client.fetch import cache

    rows = [{"model": e.model, "file": e.path.name, "size": e.size, "ok": e.ok, "path": str(e.path)}
            for e in cache.entries()]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['model']}/{r['file']}  {r['size']} bytes" + ("" if r["ok"] else "  (blob missing)"))
    typer.echo(f"{len(rows)} file(s) in {cache.root()}")


@cache_app.command("verify")
def cache_verify(json_: JsonOpt = False) -> None:
    """Re-hash every cached blob against its name; exit 1 if any is corrupt or missing."""
    from hub_client.fetch import cache

    rows = [{"model": e.model, "file": e.path.name, "ok": cache.verify_entry(e)} for e in cache.entries()]
    if json_:
        emit_json(rows)
    else:
        for r in rows:
            typer.echo(f"{'ok' if r['ok'] else 'CORRUPT':8} {r['model']}/{r['file']}")
    raise typer.Exit(0 if all(r["ok"] for r in rows) else 1)


@cache_app.command("rm")
def cache_rm(name: Annotated[str, typer.Argument(help="The model whose cached files to remove.")]) -> None:
    """Remove a model's files from the cache (their blobs go at the next prune)."""
    from hub_client.fetch import cache
    from hub_client.fetch.remote import resolve

    rec = resolve(name).record
    removed = cache.remove_model(rec)
    typer.echo(f"removed {len(removed)} file(s) of {rec.uid or rec.name}")


@cache_app.command("prune")
def cache_prune() -> None:
    """Delete blobs no model uses and partial downloads not in progress."""
    from hub_client.fetch import cache

    gone, freed = cache.prune()
    typer.echo(f"deleted {len(gone)} file(s), freed {freed} bytes")


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
