"""``hub bundle export`` and ``hub bundle import``: models carried to an air-gapped machine or mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._output import JsonOpt, emit_json, settings

bundle_app = typer.Typer(help="Carry models to an air-gapped machine: export them with their cards, signatures and "
                         "digests into one tar; import it on the other side, every file checked first.",
                         no_args_is_help=True)


@bundle_app.command("export")
def export(
    names: Annotated[list[str], typer.Argument(help="Models to bundle: names, MindSpore Hub uids, or hf:org/name.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The tar to write.")],
    json_: JsonOpt = False,
) -> None:
    """Pull each model (verified, and signed where a trust rule asks), then write its files, card, signature
    and a manifest of sha256 digests into one tar."""
    from hub_client.bundle import export_bundle

    done = export_bundle(names, out, settings=settings())
    if json_:
        emit_json({"bundle": str(done.path), "bytes": done.bytes,
                   "models": [{"name": m.name, "uid": m.uid, "files": len(m.files)} for m in done.manifest.models]})
        return
    for m in done.manifest.models:
        typer.echo(f"{m.uid}: {len(m.files)} file(s)")
    typer.echo(f"{done.path} ({done.bytes / 1e6:.1f} MB)")


@bundle_app.command("import")
def import_(
    bundle: Annotated[Path, typer.Argument(help="A tar written by hub bundle export.")],
    into: Annotated[str | None, typer.Option(help="A mirror's storage (the folder or s3://bucket/prefix of hub "
                                             "serve --storage) instead of this machine's cache.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Check every file of a bundle against its manifest, the cards and any trust policy (HUB_TRUST), then make
    the models available (HUB_OFFLINE=1 hub predict NAME works); a bundle that fails a check changes nothing.
    Importing the same bundle again changes nothing either."""
    chosen = settings()
    if into is None:
        from hub_client.bundle import import_bundle

        done = import_bundle(bundle, settings=chosen)
    else:
        from hub_server.bundles import import_into

        done = import_into(bundle, into, settings=chosen)
    if json_:
        emit_json([{"name": c.entry.name, "uid": c.entry.uid, "files": len(c.entry.files)} for c in done])
        return
    for c in done:
        typer.echo(f"{c.entry.uid}: {len(c.entry.files)} file(s) checked and placed")


def register(app: typer.Typer) -> None:
    app.add_typer(bundle_app, name="bundle")
