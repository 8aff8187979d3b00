"""The ``hub`` command: the app, its command groups, and the one place where exceptions become messages and
exit codes.

Start-up stays light: nothing here imports mindspore or torch, and each command imports its heavy modules
inside the function that needs them.
"""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from registry.errors import HubError

from . import browse, bundle, cache, convert, lint, models, publish, pull, serve, sign
from ._errors import message, os_message

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


for _group in (lint, browse, pull, sign, bundle, models, convert, publish, cache, serve):
    _group.register(app)


def _say(text: str) -> None:
    """An error line on stderr, whatever it contains (text from a file name that is not UTF-8 included)."""
    try:
        typer.secho(f"error: {text}", fg=typer.colors.RED, err=True)
    except UnicodeEncodeError:
        sys.stderr.write(f"error: {text}\n".encode("utf-8", "backslashreplace").decode("utf-8"))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point: a ``HubError`` is printed with its hint and exits with its code; an error of
    the file system, or text that is not UTF-8, is a one-line message too, never a traceback."""
    for stream in (sys.stdout, sys.stderr):  # a name that is not UTF-8 is shown escaped, not a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    # SIGTERM (a job scheduler, a container stop) unwinds like Ctrl-C: a download flushes what arrived, so the
    # next pull continues from there, and locks and staging files are cleaned up as on any error.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app(prog_name="hub")
    except HubError as e:
        _say(message(e))
        sys.exit(e.exit_code)
    except OSError as e:  # the file system refused something the library did not expect to fail: say what
        _say(os_message(e))
        sys.exit(1)
    except UnicodeError as e:  # undecodable bytes in an argument or a variable reached a text-only place
        bad = e.object[e.start:e.end] if isinstance(e, (UnicodeEncodeError, UnicodeDecodeError)) else ""
        _say(f"{bad!a} is not UTF-8 text (a name or value with undecodable bytes): pass it as UTF-8")
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
