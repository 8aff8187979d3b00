"""``hub cache``: inspect and clean the local caches: ``HUB_HOME`` (MindSpore Hub assets) and the Hugging Face
cache that ``hf:`` repos go to (shared with transformers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._output import JsonOpt, complete_name, emit_json

if TYPE_CHECKING:
    from hub_client.fetch.cache import Entry

cache_app = typer.Typer(help="Inspect and clean the local caches (HUB_HOME and the Hugging Face cache).",
                        no_args_is_help=True)


def human(size: int) -> str:
    """Bytes as people read them (1.2 MB), in powers of 1000 as huggingface_hub and pip show them."""
    from rich.filesize import decimal

    return decimal(size)


def _all_entries() -> list[tuple[str, Entry]]:
    from hub_client.fetch import cache, hf_cache

    return [("hub", e) for e in cache.entries()] + [("hf", e) for e in hf_cache.entries()]


@cache_app.command("ls")
def cache_ls(json_: JsonOpt = False) -> None:
    """Cached files by model, with their sizes: MindSpore Hub assets, then Hugging Face repos."""
    from hub_client.fetch import cache
    from registry.config import hf_cache_dir

    found = _all_entries()
    rows: list[dict[str, Any]] = [
        {"cache": where, "model": e.model, "file": e.name, "size": e.size, "ok": e.ok, "path": str(e.path)}
        for where, e in found]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['model']}/{r['file']}  {human(r['size'])}" + ("" if r["ok"] else "  (blob missing)"))
    for where, folder in (("hub", cache.root()), ("hf", hf_cache_dir())):
        mine = [r for r in rows if r["cache"] == where]
        typer.echo(f"{len(mine)} file(s), {human(sum(r['size'] for r in mine))} in {folder}")


@cache_app.command("verify")
def cache_verify(json_: JsonOpt = False) -> None:
    """Re-hash every cached file (both caches) against its content address; exit 1 if any is corrupt or missing."""
    from hub_client.fetch import cache, hf_cache

    rows: list[dict[str, Any]] = []
    for where, e in _all_entries():
        ok = (cache if where == "hub" else hf_cache).verify_entry(e)
        rows.append({"cache": where, "model": e.model, "file": e.name, "ok": ok, "path": str(e.path)})
    if json_:
        emit_json(rows)
    else:
        for r in rows:
            typer.echo(f"{'ok' if r['ok'] else 'CORRUPT':8} {r['model']}/{r['file']}")
        bad = sorted({r["model"] for r in rows if not r["ok"]})
        if bad:
            typer.echo(f"{len(bad)} model(s) damaged: `hub verify NAME --repair` fetches their files again, "
                       "`hub cache rm NAME` drops them", err=True)
        typer.echo(f"{sum(r['ok'] for r in rows)} of {len(rows)} file(s) ok")
    raise typer.Exit(0 if all(r["ok"] for r in rows) else 1)


@cache_app.command("rm")
def cache_rm(name: Annotated[str, typer.Argument(help="The model whose cached files to remove.",
                                                 autocompletion=complete_name)]) -> None:
    """Remove a model's cached files, and the blobs behind them that no other model uses."""
    from hub_client.fetch import cache, hf_cache
    from hub_client.fetch.remote import resolve
    from registry.record import Dialect

    rec = resolve(name).record
    if rec.dialect is Dialect.HUGGINGFACE and rec.uid:
        count, freed = hf_cache.remove_repo(rec.uid)
    else:
        removed, freed = cache.remove_model(rec)
        count = len(removed)
    typer.echo(f"removed {count} file(s) of {rec.uid or rec.name}, freed {human(freed)}")


@cache_app.command("prune")
def cache_prune() -> None:
    """Delete blobs no model uses and partial downloads no process is writing, in both caches."""
    from hub_client.fetch import cache, hf_cache

    gone, freed = cache.prune()
    hf_gone, hf_freed = hf_cache.prune()
    typer.echo(f"deleted {len(gone) + len(hf_gone)} file(s), freed {human(freed + hf_freed)}")


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
