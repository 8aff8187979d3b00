"""``hub cache``: inspect and clean the local caches: ``HUB_HOME`` (MindSpore Hub assets) and the Hugging Face
cache that ``hf:`` repos go to (shared with transformers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._output import JsonOpt, complete_name, emit_json, settings

if TYPE_CHECKING:
    from hub_client.fetch.cache import Cache, Entry
    from hub_client.fetch.hf_cache import HfCache

cache_app = typer.Typer(help="Inspect and clean the local caches (HUB_HOME and the Hugging Face cache).",
                        no_args_is_help=True)


def human(size: int) -> str:
    """Bytes as people read them (1.2 MB), in powers of 1000 as huggingface_hub and pip show them."""
    from rich.filesize import decimal

    return decimal(size)


def _caches() -> tuple[Cache, HfCache]:
    """Ours and the Hugging Face cache, where the environment puts them."""
    from hub_client.fetch.cache import Cache
    from hub_client.fetch.hf_cache import HfCache

    found = settings()
    ours = Cache(found.home)
    return ours, HfCache(found.hf_cache, ours)


def _all_entries(cache: Cache, hf_cache: HfCache) -> list[tuple[str, Entry]]:
    return [("hub", e) for e in cache.entries()] + [("hf", e) for e in hf_cache.entries()]


@cache_app.command("ls")
def cache_ls(json_: JsonOpt = False) -> None:
    """Cached files by model, with their sizes: MindSpore Hub assets, then Hugging Face repos."""
    cache, hf_cache = _caches()
    found = _all_entries(cache, hf_cache)
    rows: list[dict[str, Any]] = [
        {"cache": where, "model": e.model, "file": e.name, "size": e.size, "ok": e.ok, "path": str(e.path)}
        for where, e in found]
    if json_:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['model']}/{r['file']}  {human(r['size'])}" + ("" if r["ok"] else "  (blob missing)"))
    for where, folder in (("hub", cache.root), ("hf", hf_cache.folder)):
        mine = [r for r in rows if r["cache"] == where]
        typer.echo(f"{len(mine)} file(s), {human(sum(r['size'] for r in mine))} in {folder}")


@cache_app.command("verify")
def cache_verify(json_: JsonOpt = False) -> None:
    """Re-hash every cached file (both caches) against its content address; exit 1 if any is corrupt or missing."""
    cache, hf_cache = _caches()
    rows: list[dict[str, Any]] = []
    for where, e in _all_entries(cache, hf_cache):
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
    from hub_client.fetch.cache import Cache
    from hub_client.fetch.hf_cache import HfCache
    from hub_client.fetch.remote import resolve
    from registry.record import Dialect

    found = settings()
    rec = resolve(name, settings=found).record
    if rec.dialect is Dialect.HUGGINGFACE and rec.uid:
        count, freed = HfCache(found.hf_cache, Cache(found.home)).remove_repo(rec.uid)
    else:
        removed, freed = Cache(found.home).remove_model(rec)
        count = len(removed)
    typer.echo(f"removed {count} file(s) of {rec.uid or rec.name}, freed {human(freed)}")


@cache_app.command("prune")
def cache_prune() -> None:
    """Delete blobs no model uses and partial downloads no process is writing, in both caches."""
    cache, hf_cache = _caches()
    gone, freed = cache.prune()
    hf_gone, hf_freed = hf_cache.prune()
    typer.echo(f"deleted {len(gone) + len(hf_gone)} file(s), freed {human(freed + hf_freed)}")


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
