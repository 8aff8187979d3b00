"""``hub sign``: an OpenSSF model signature (``model.sig``) over every file of a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._output import JsonOpt, emit_json


def sign(
    folder: Annotated[Path, typer.Argument(help="The model's folder (a Hugging Face repo folder, or a folder of "
                                           "checkpoints).")],
    key: Annotated[Path | None, typer.Option("--key", help="The private key (PEM, elliptic curve).")] = None,
    certificate: Annotated[Path | None, typer.Option(help="The signing certificate of --key (certificate method)."
                                                     )] = None,
    certificate_chain: Annotated[list[Path] | None, typer.Option(
        "--certificate-chain", help="Certificates from --certificate up to the root (repeat).")] = None,
    sigstore: Annotated[bool, typer.Option("--sigstore", help="Sign keyless with Sigstore (needs its servers and an "
                                           "OIDC login).")] = False,
    signature: Annotated[Path | None, typer.Option(help="Where to write it (default FOLDER/model.sig).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Sign every file of a folder (git's files and the signature left out) into model.sig, in the format
    `model_signing verify` and `hub verify` check."""
    from hub_client.provenance import SigningKey, sign_folder

    signer = SigningKey(private_key=key, certificate=certificate, certificate_chain=tuple(certificate_chain or ()),
                        sigstore=sigstore)
    out = sign_folder(folder, signer, signature)
    if json_:
        emit_json({"folder": str(folder), "signature": str(out)})
    else:
        typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command()(sign)
