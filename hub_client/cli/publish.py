"""``hub publish``: a checkpoint and its card, written to a folder, an S3 bucket or a Hugging Face endpoint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._output import JsonOpt, emit_json, settings

if TYPE_CHECKING:
    from hub_client.provenance import SigningKey
    from hub_client.publish import CardOptions, Package, Published


def _date(text: str | None) -> dt.date | None:
    from registry.errors import UsageError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date {text!r} is not an ISO date: write it as 2026-11-30") from None


def publish(
    path: Annotated[Path, typer.Argument(help="A MindCV .ckpt file (published with a MindSpore Hub card) or a "
                                         "Hugging Face repo folder (published to --to hf:org/name).")],
    name: Annotated[str, typer.Option(help="The model's name in its card (and its asset's file name).")],
    to: Annotated[str, typer.Option(help="s3://bucket/prefix (AWS_* settings), hf:org/name (HF_ENDPOINT, HF_TOKEN), "
                                    "or a folder.")],
    base_url: Annotated[str | None, typer.Option(
        help="The https URL the target's root is served at, for the card's links (required for a folder; for a "
        "bucket, default its endpoint's object URLs).")] = None,
    license_: Annotated[str, typer.Option("--license", help="An SPDX license id.")] = "Apache-2.0",
    author: Annotated[str | None, typer.Option(help="Default: your user name.")] = None,
    dataset: Annotated[str | None, typer.Option(help="The training set (default ImageNet2012 for a 1000-class "
                                                "head; required otherwise).")] = None,
    evaluation: Annotated[str | None, typer.Option(help="Metrics as MindSpore Hub writes them: "
                                                   "'top1acc81.28 | top5acc95.61'.")] = None,
    summary: Annotated[str | None, typer.Option(help="One line about the model.")] = None,
    model_version: Annotated[str, typer.Option(help="The model's version.")] = "1.0",
    mindspore_version: Annotated[str | None, typer.Option(
        help="The MindSpore version it runs on (default: the installed one).")] = None,
    repo_link: Annotated[str | None, typer.Option(help="Where its code lives (default: the target's URL).")] = None,
    date: Annotated[str | None, typer.Option(help="update-time, ISO (default: today, or the date of the card "
                                             "already published for these bytes).")] = None,
    private: Annotated[bool, typer.Option(help="hf: create the repo private.")] = False,
    sign_key: Annotated[Path | None, typer.Option(help="Sign what is published with this private key (PEM): an HF "
                                                  "repo's model.sig, or ASSET.sig beside a checkpoint, named by its "
                                                  "card.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a checkpoint with a card that passes lint --strict: hashed in the one pass that uploads it,
    architecture read off it, uploaded only if the target lacks it, and the card written after the asset."""
    from .convert import require_convert

    require_convert()
    from hub_client.publish import CardOptions, inspect

    pkg = inspect(path)
    opts = CardOptions(license=license_, author=author, dataset=dataset, evaluation=evaluation, summary=summary,
                       model_version=model_version, mindspore_version=mindspore_version, repo_link=repo_link,
                       updated=_date(date))
    signer = None
    if sign_key is not None:
        from hub_client.provenance import SigningKey

        signer = SigningKey(private_key=sign_key)
    done = _run(pkg, name, to, base_url, opts, private, signer)
    if as_json:
        emit_json({"name": done.name, "to": done.where, "sha256": done.sha256, "link": done.link, "card": done.card,
                   "architecture": pkg.architecture, "uploaded_bytes": done.uploaded, "wrote": done.wrote})
        return
    state = f"uploaded {done.uploaded / 1e6:.1f} MB" if done.uploaded else "already there, nothing uploaded"
    typer.echo(f"{done.name} ({pkg.architecture}) -> {done.link} ({state})")
    typer.echo(f"  sha256 {done.sha256}")
    typer.echo(f"  card   {done.card}")


def _run(pkg: Package, name: str, to: str, base_url: str | None, opts: CardOptions, private: bool,
         signer: SigningKey | None) -> Published:
    from hub_client.publish import DirTarget, S3Target, publish_ckpt
    from hub_client.publish.hf_repo import publish_hf
    from registry.errors import UsageError

    found = settings()
    if to.startswith(("hf:", "hf-hub:")):
        return publish_hf(pkg, to.split(":", 1)[1], opts, private=private, endpoint=found.hf_endpoint,
                          token=found.hf_token, signer=signer)
    target: DirTarget | S3Target
    if to.startswith("s3://"):
        target = S3Target(to, base_url, settings=found)
    else:
        if not base_url:
            raise UsageError(f"a folder target needs the https URL it is served at, for the card's links "
                             f"(--base-url https://files.example.com/{Path(to).name})")
        target = DirTarget(Path(to), base_url)
    return publish_ckpt(pkg, name, target, opts, signer)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
