"""The ``hub`` command: the app, its command groups, and the one place where exceptions become messages and
exit codes.

Start-up stays light: nothing here imports mindspore or torch, and each command imports its heavy modules
inside the function that needs them.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from registry.errors import HubError

from . import cache, catalog, lint, models, pull
from ._errors import message

app = typer.Typer(
    name="hub",
    help="Model-hub registry and asset manager for vision checkpoints (MindSpore Hub and Hugging Face cards).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from registry.about import DISTRIBUTION, version

        found = version()
        typer.echo(f"hub {found} ({DISTRIBUTION})" if found else "hub (not installed: run from a source checkout)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")] = False,
) -> None:
    """Model-hub registry and asset manager for vision checkpoints."""


for _group in (lint, catalog, pull, models, cache):
    _group.register(app)


def main() -> None:
    """Console-script entry point: a ``HubError`` is printed with its hint and exits with its code."""
    try:
        app(prog_name="hub")
    except HubError as e:
        typer.secho(f"error: {message(e)}", fg=typer.colors.RED, err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
