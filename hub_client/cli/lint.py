"""``hub lint``: check cards before they are published, in the format a CI wants."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class DialectChoice(StrEnum):
    auto = "auto"
    mindspore_hub = "mindspore-hub"
    huggingface = "huggingface"


def lint(
    paths: Annotated[list[Path], typer.Argument(help="Card files, or directories searched for *.md cards.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too, not only errors.")] = False,
    dialect: Annotated[DialectChoice, typer.Option(help="Card dialect; auto decides per file.")] = DialectChoice.auto,
    exclude: Annotated[list[str] | None, typer.Option(help="Glob of files to skip (repeatable).")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Rule id to leave out (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    online: Annotated[bool, typer.Option(help="Also ask each linked server whether the link works.")] = False,
    timeout: Annotated[float | None, typer.Option(min=0.001, help="Seconds per request with --online (HUB_TIMEOUT).")
                       ] = None,
    allow_empty: Annotated[bool, typer.Option(help="Pass when no card is found (by default that is an error, "
                                                   "so a misconfigured CI job fails).")] = False,
) -> None:
    """Check cards for every problem before they are published.

    Exit status: 0 no errors (warnings allowed unless --strict), 1 errors, 2 usage error.
    """
    from registry.card.diagnostics import RULES
    from registry.errors import UsageError
    from registry.lint import report
    from registry.lint.paths import exit_status, lint_paths
    from registry.record import Dialect

    unknown = sorted(set(ignore or ()) - set(RULES))
    if unknown:
        raise UsageError(f"--ignore: unknown rule(s) {', '.join(unknown)}; known rules: {', '.join(sorted(RULES))}")
    chosen = None if dialect is DialectChoice.auto else Dialect(dialect.value)
    results = lint_paths(paths, dialect=chosen, exclude=exclude or (), ignore=ignore or ())
    if not results and not allow_empty:
        excluded = f" once {', '.join(exclude)} were excluded" if exclude else ""
        raise UsageError(f"no card found under {', '.join(str(p) for p in paths)}{excluded}: check the paths "
                         "(cards are *.md and *.markdown files), or pass --allow-empty")
    if online and "link-unreachable" not in (ignore or ()):
        from registry.lint.online import check_links
        from registry.settings import Settings

        check_links(results, settings=Settings.from_env(), timeout=timeout)
    rendered = report.render(results, format.value)
    if output is not None:
        try:
            output.write_text(rendered + "\n", encoding="utf-8")
        except OSError as e:
            raise UsageError(f"--output {output}: cannot write the report there ({e.strerror or e}); give a file "
                             "in an existing, writable folder") from None
        typer.echo(report.summary(results), err=True)
    else:
        typer.echo(rendered)
    raise typer.Exit(exit_status(results, strict=strict))


def register(app: typer.Typer) -> None:
    app.command()(lint)
