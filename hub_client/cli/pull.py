"""``hub pull`` (download, verify, cache) and ``hub verify`` (re-hash what is cached)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._output import JsonOpt, NameArg, bars_wanted, emit_json, note


def pull(
    name: NameArg,
    format: Annotated[str | None, typer.Option("--format", help="Only assets of this format (ckpt; safetensors, bin)."
                                               )] = None,
    revision: Annotated[str | None, typer.Option(help="Hugging Face revision (branch, tag or commit).")] = None,
    to: Annotated[Path | None, typer.Option(help="Also copy the verified files into this folder.")] = None,
    allow_http: Annotated[bool, typer.Option(help="Accept plain http to allowed hosts (not only loopback).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, only the paths.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say how each file comes: connections, "
                                          "speed, resumed bytes.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Download every asset of a model, verify each against its card, and cache it; print the local paths."""
    if verbose:
        import logging

        logging.basicConfig(format="%(relativeCreated)7.0f ms  %(message)s", stream=sys.stderr)
        logging.getLogger("hub").setLevel(logging.INFO)
    from hub_client.fetch.pull import pull_record
    from hub_client.fetch.remote import keep_pulled, locate

    found = locate(name, revision=revision)
    if not (quiet or json_):
        note(found.reason)
    if bars_wanted(quiet or json_):
        from .progress import RichBars

        with RichBars() as progress:
            paths = pull_record(found.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None,
                                progress=progress, listed=found.listed)
    else:
        paths = pull_record(found.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None,
                            listed=found.listed)
    keep_pulled(found, paths)
    if json_:
        emit_json({"model": found.record.name, "uid": found.record.uid, "paths": [str(p) for p in paths]})
    else:
        for p in paths:
            typer.echo(str(p))


def verify(
    name: Annotated[str, typer.Argument(help="A model whose cached files to re-hash.")],
    repair: Annotated[bool, typer.Option("--repair", help="Fetch again what is damaged or missing.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Re-hash a model's cached files (assets, or a Hugging Face repo's files) against their cards; exit 1 if one
    does not match or is missing. With --repair, fetch those again."""
    from hub_client.fetch.pull import verify_cached
    from hub_client.fetch.remote import resolve

    results = verify_cached(resolve(name).record, repair=repair)
    if json_:
        emit_json(results)
    else:
        for r in results:
            typer.echo(f"{r['status']:8} {r['file']}" + (f"  expected {r['expected']}, got {r['sha256']}"
                                                          if r["status"] == "corrupt" else ""))
    raise typer.Exit(0 if all(r["status"] in ("ok", "repaired") for r in results) else 1)


def register(app: typer.Typer) -> None:
    app.command()(pull)
    app.command()(verify)
