"""``hub pull`` (download, verify, cache) and ``hub verify`` (re-hash what is cached)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._output import (
    ChainOpt,
    IdentityOpt,
    IssuerOpt,
    JsonOpt,
    KeyOpt,
    NameArg,
    bars_wanted,
    emit_json,
    note,
    settings,
    trust_anchor,
)


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

    chosen = settings()
    found = locate(name, revision=revision, settings=chosen)
    if not (quiet or json_):
        note(found.reason)
    if bars_wanted(quiet or json_):
        from .progress import RichBars

        with RichBars() as progress:
            paths = pull_record(found.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None,
                                progress=progress, listed=found.listed, settings=chosen)
    else:
        paths = pull_record(found.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None,
                            listed=found.listed, settings=chosen)
    keep_pulled(found, paths, settings=chosen)
    if json_:
        emit_json({"model": found.record.name, "uid": found.record.uid, "paths": [str(p) for p in paths]})
    else:
        for p in paths:
            typer.echo(str(p))


def verify(
    name: Annotated[str, typer.Argument(help="A model whose cached files to check, or a folder (with a signer).")],
    repair: Annotated[bool, typer.Option("--repair", help="Fetch again what is damaged or missing.")] = False,
    key: KeyOpt = None,
    certificate_chain: ChainOpt = None,
    identity: IdentityOpt = None,
    issuer: IssuerOpt = None,
    signature: Annotated[Path | None, typer.Option(help="A folder's signature file (default FOLDER/model.sig).")
                         ] = None,
    json_: JsonOpt = False,
) -> None:
    """Re-hash a model's cached files (assets, or a Hugging Face repo's files) against their cards; exit 1 if one
    does not match or is missing. With --repair, fetch those again.

    With a signer (--key, --certificate-chain, or --identity and --issuer), check the OpenSSF signature instead: of
    a folder (model.sig in it, as `model_signing sign` writes it), or of a pulled model (the model.sig pulled with
    it, against the digests its pull computed); exit 1, naming the file, when one differs or is not signed."""
    from hub_client.fetch.remote import resolve

    chosen = settings()
    anchor = trust_anchor(key, certificate_chain, identity, issuer)
    if anchor is not None:
        from hub_client.fetch.signed import cached_verdict
        from hub_client.provenance import verify_folder

        folder = Path(name)
        if folder.is_dir():
            verdict = verify_folder(folder, anchor, signature)
        else:
            verdict = cached_verdict(resolve(name, settings=chosen).record, [anchor], settings=chosen)
        if json_:
            emit_json({"model": verdict.model, "signed_by": verdict.signer, "files": list(verdict.checked),
                       "signed_not_pulled": list(verdict.not_present)})
        else:
            typer.echo(f"ok       {verdict.model}: {len(verdict.checked)} file(s) signed by {verdict.signer}")
            for f in verdict.not_present:
                typer.echo(f"not here {f} (signed, not pulled)")
        return
    from hub_client.fetch.pull import verify_cached

    results = verify_cached(resolve(name, settings=chosen).record, settings=chosen, repair=repair)
    if json_:
        emit_json(results)
    else:
        for r in results:
            typer.echo(f"{r['status']:8} {r['file']}" + (f"  expected {r['expected']}, got {r['sha256']}"
                                                          if r["status"] == "corrupt" else ""))
    raise typer.Exit(0 if all(r["status"] in ("ok", "repaired") for r in results) else 1)


def prefetch(
    names: Annotated[list[str], typer.Argument(help="Models to bring into the mirror: registry names, MindSpore Hub "
                                               "uids, or hf:org/name.")],
    mirror: Annotated[str | None, typer.Option(help="The hub serve address (default: the first of HUB_MIRRORS, else "
                                               "HF_ENDPOINT).")] = None,
    revision: Annotated[str | None, typer.Option(help="Hugging Face revision (branch, tag or commit).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Fill a team mirror (hub serve) before a job: every file of each model is asked of it once, so it fetches
    what it lacks from upstream, and checked against its card; nothing is written here."""
    from hub_client.fetch.prefetch import mirror_url, prefetch_assets, prefetch_hf
    from hub_client.fetch.remote import resolve
    from registry.errors import InvalidCardError

    chosen = settings()
    where = mirror_url(mirror, chosen)
    done = []
    for name in names:
        if name.startswith("hf:"):
            repo, _, rev = name[3:].partition("@")
            done.append(prefetch_hf(repo, revision or rev or None, where, settings=chosen))
            continue
        record = resolve(name, settings=chosen).record
        hf = [a for a in record.assets if a.repo_id]
        if hf:
            done.append(prefetch_hf(hf[0].repo_id or "", revision or hf[0].revision, where, settings=chosen))
            continue
        missing = [a.filename for a in record.assets if not (a.url and a.sha256 and a.sha256_kind != "none")]
        if missing:
            raise InvalidCardError(record.name, record.card_path or "", [
                f"it gives no URL or usable sha256 for {', '.join(missing)}, so the mirror's copy cannot be checked"])
        done.append(prefetch_assets(record.name, [(a.url or "", a.sha256 or "", a.sha256_kind == "prefix")
                                                  for a in record.assets], where, settings=chosen))
    if json_:
        emit_json([{"name": d.name, "files": d.files, "bytes": d.bytes, "mirror": where} for d in done])
    else:
        for d in done:
            typer.echo(f"{d.name}: {d.files} file(s), {d.bytes / 1e6:.1f} MB on {where}")


def register(app: typer.Typer) -> None:
    app.command()(pull)
    app.command()(verify)
    app.command()(prefetch)
