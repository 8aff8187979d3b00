"""What every command shares: the options they have in common, and where output goes (stdout, stderr, JSON).

Library code returns values; these helpers are the only place the CLI prints them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hub_client.provenance import TrustAnchor
    from registry.settings import Settings


def settings() -> Settings:
    """The command's settings, read from the environment: once per command, and passed down from there."""
    from registry.settings import Settings

    return Settings.from_env()


def complete_name(incomplete: str) -> list[str]:
    """Shell completion of a model name: the registry's names and uids that start with what was typed. Never
    fails: a broken registry completes nothing rather than printing an error into the shell."""
    try:
        from registry.store.db import Registry

        with Registry(settings=settings()) as reg:
            return reg.names(incomplete)
    except Exception:  # completion must never break the shell line
        return []


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
NameArg = Annotated[str, typer.Argument(
    help="Model name, name@version, MindSpore Hub uid, or HF id (hf:org/name).", autocompletion=complete_name)]
DeviceOpt = Annotated[str, typer.Option("--device", "-d",
                                        help="cpu, cuda[:N] (torch); CPU, GPU, Ascend (MindSpore).")]
BackendOpt = Annotated[str, typer.Option("--backend", "-b", help="auto (fastest installed for the device), "
                                         "openvino (CPU), torch or mindspore.")]
PrecisionOpt = Annotated[str | None, typer.Option(
    "--precision", help="auto (bf16 where the hardware has it, fp16 on an older CUDA GPU, once a check on the "
    "model shows the answers unchanged), fp32 (exact), bf16 or fp16. Default: auto with --backend auto, fp32 with "
    "a backend named.", show_default=False)]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say which engine and precision run it.")]
# Who must have signed: one of a public key, a certificate chain, a Sigstore identity and issuer.
KeyOpt = Annotated[Path | None, typer.Option("--key", help="The signer's public key (PEM, elliptic curve).")]
ChainOpt = Annotated[list[Path] | None, typer.Option(
    "--certificate-chain", help="A certificate the signing certificate must lead to (repeat for a chain).")]
IdentityOpt = Annotated[str | None, typer.Option("--identity", help="Sigstore keyless: the signer's identity "
                                                 "(an e-mail or a workflow URL); with --issuer.")]
IssuerOpt = Annotated[str | None, typer.Option("--issuer", help="Sigstore keyless: the OIDC issuer that vouches "
                                               "for --identity.")]


def trust_anchor(key: Path | None, chain: list[Path] | None, identity: str | None,
                 issuer: str | None) -> TrustAnchor | None:
    """The anchor the signature options name; None when none is given."""
    if key is None and not chain and identity is None and issuer is None:
        return None
    from hub_client.provenance import TrustAnchor

    return TrustAnchor(key=key, certificate_chain=tuple(chain or ()), identity=identity, issuer=issuer)


def console(err: bool = False) -> Any:
    """A rich console on stdout (or stderr); in a pipe or a file, rows are kept whole rather than cut at 80."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    return Console(stderr=err, highlight=False, soft_wrap=False, width=None if stream.isatty() else 200)


def emit_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (dates and paths as strings)."""
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def note(text: str | None) -> None:
    """A side remark on stderr (why a card was chosen), so stdout stays the command's result."""
    if text:
        console(err=True).print(f"note: {text}")


def bars_wanted(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal, never in a pipe or with --json."""
    return not quiet and sys.stderr.isatty()
