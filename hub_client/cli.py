"""The ``hub`` command. The one place where exceptions become messages and exit codes.

Start-up stays light: nothing here imports mindspore or torch, and commands
import their heavy modules inside the function that needs them.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.errors import HubError

app = typer.Typer(
    name="hub",
    help="Model-hub registry and asset manager for vision checkpoints (MindSpore Hub and Hugging Face cards).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class DialectChoice(StrEnum):
    auto = "auto"
    mindspore_hub = "mindspore-hub"
    huggingface = "huggingface"


@app.callback()
def _root() -> None:
    """Model-hub registry and asset manager for vision checkpoints."""


@app.command()
def lint(
    paths: Annotated[list[Path], typer.Argument(help="Card files, or directories searched for *.md cards.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too, not only errors.")] = False,
    dialect: Annotated[DialectChoice, typer.Option(help="Card dialect; auto decides per file.")] = DialectChoice.auto,
    exclude: Annotated[list[str] | None, typer.Option(help="Glob of files to skip (repeatable).")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Rule id to leave out (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    online: Annotated[bool, typer.Option(help="Also ask each linked server whether the link works.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds per request with --online (HUB_TIMEOUT).")] = None,
) -> None:
    """Check cards for every problem before they are published.

    Exit status: 0 no errors (warnings allowed unless --strict), 1 errors, 2 usage error.
    """
    from registry import report
    from registry.diagnostics import RULES
    from registry.errors import UsageError
    from registry.lint import exit_status, lint_paths
    from registry.record import Dialect

    unknown = sorted(set(ignore or ()) - set(RULES))
    if unknown:
        raise UsageError(f"--ignore: unknown rule(s) {', '.join(unknown)}; known rules: {', '.join(sorted(RULES))}")
    chosen = None if dialect is DialectChoice.auto else Dialect(dialect.value)
    results = lint_paths(paths, dialect=chosen, exclude=exclude or (), ignore=ignore or ())
    if online and "link-unreachable" not in (ignore or ()):
        from registry.online import check_links

        check_links(results, timeout=timeout)
    rendered = report.render(results, format.value)
    if output is not None:
        output.write_text(rendered + "\n", encoding="utf-8")
        typer.echo(report.summary(results), err=True)
    else:
        typer.echo(rendered)
    raise typer.Exit(exit_status(results, strict=strict))


def _console(err: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    # In a pipe or a file nobody reads 80 columns: keep rows whole.
    return Console(stderr=err, highlight=False, soft_wrap=False, width=None if stream.isatty() else 200)


def _emit_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _resolve(name: str) -> Any:
    """The registry's resolution of ``name`` (see ``registry.resolve``), the registry closed again."""
    from registry.store import Registry

    with Registry() as reg:
        return reg.resolve(name)


@app.command("list")
def list_(
    backbone: Annotated[str | None, typer.Option(help="Backbone, e.g. convnext.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Training dataset, e.g. ImageNet2012.")] = None,
    framework: Annotated[str | None, typer.Option(help="mindspore, transformers, pytorch, ...")] = None,
    source: Annotated[str | None, typer.Option(help="mindspore-hub, huggingface, bundled, or an indexed path.")] = None,
    min_top1: Annotated[float | None, typer.Option(help="Only models with top-1 accuracy at least this (%).")] = None,
    json_: JsonOpt = False,
) -> None:
    """List the models in the registry, with filters."""
    from registry.store import Registry

    from . import views

    with Registry() as reg:
        rows = reg.list(backbone=backbone, dataset=dataset, framework=framework, source=source, min_top1=min_top1)
    if json_:
        _emit_json(views.listing_dicts(rows))
    else:
        _console().print(views.listing_table(rows, title=f"{len(rows)} model(s)"))


@app.command()
def search(
    text: Annotated[list[str], typer.Argument(help="Words to find in names, summaries and card text.")],
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 20,
    json_: JsonOpt = False,
) -> None:
    """Full-text search over the registry, best match first."""
    from registry.store import Registry

    from . import views

    with Registry() as reg:
        rows = reg.search(" ".join(text), limit=limit)
    if json_:
        _emit_json(views.listing_dicts(rows))
    else:
        _console().print(views.listing_table(rows, title=f"{len(rows)} result(s) for {' '.join(text)!r}"))


@app.command()
def info(
    name: Annotated[str, typer.Argument(help="Model name, name@version, MindSpore Hub uid, or HF id (hf:org/name).")],
    json_: JsonOpt = False,
) -> None:
    """Everything the registry knows of a model: card fields, assets and hashes, metrics, lint, cache."""
    from registry.errors import InvalidCardError
    from registry.store import Registry

    from . import views

    with Registry() as reg:
        try:
            res = reg.resolve(name)
        except InvalidCardError as e:
            if json_:
                _emit_json({"spec": name, "card": e.path, "usable": False, "diagnostics": e.diagnostics})
            else:
                con = _console()
                con.print(f"[red]{e.name}[/]: the card {e.path} has errors and no usable data")
                for line in views.diagnostic_lines(e.diagnostics):
                    con.print(line)
            raise typer.Exit(1) from None
    if json_:
        _emit_json(views.info_dict(res))
        return
    if res.reason:
        _console(err=True).print(f"note: {res.reason}")
    con = _console()
    for part in views.info_tables(res):
        con.print(part)


@app.command()
def index(
    path: Annotated[Path | None, typer.Argument(help="A folder of cards to add as a source (kept for later syncs).")]
    = None,
    rebuild: Annotated[bool, typer.Option(help="Re-analyze every card of every source.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a card folder to the registry, or bring every source up to date."""
    from registry.store import Registry

    from . import views

    with Registry() as reg:
        if path is not None:
            reg.add_source(path)
        report = reg.rebuild() if rebuild else reg.sync()
        where = str(reg.path)
    if json_:
        _emit_json({"registry": where, **views.sync_dict(report)})
    else:
        typer.echo(views.sync_text(report, where))


@app.command()
def pull(
    name: Annotated[str, typer.Argument(help="Model name, name@version, MindSpore Hub uid, or HF id (hf:org/name).")],
    format: Annotated[str | None, typer.Option("--format", help="Only assets of this format (ckpt; safetensors, bin)."
                                               )] = None,
    revision: Annotated[str | None, typer.Option(help="Hugging Face revision (branch, tag or commit).")] = None,
    to: Annotated[Path | None, typer.Option(help="Also copy the verified files into this folder.")] = None,
    allow_http: Annotated[bool, typer.Option(help="Accept plain http to allowed hosts (not only loopback).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, only the paths.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Download every asset of a model, verify each against its card, and cache it; print the local paths."""

    from .fetcher import pull_record

    res = _resolve(name)
    if res.reason and not (quiet or json_):
        _console(err=True).print(f"note: {res.reason}")
    bars = not (quiet or json_) and sys.stderr.isatty()
    if bars:
        from .progress import RichBars

        with RichBars() as progress:
            paths = pull_record(res.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None,
                                progress=progress)
    else:
        paths = pull_record(res.record, fmt=format, revision=revision, to=to, allow_http=allow_http or None)
    if json_:
        _emit_json({"model": res.record.name, "uid": res.record.uid, "paths": [str(p) for p in paths]})
    else:
        for p in paths:
            typer.echo(str(p))


@app.command()
def verify(
    name: Annotated[str, typer.Argument(help="A model whose cached files to re-hash.")],
    json_: JsonOpt = False,
) -> None:
    """Re-hash a model's cached files against their cards; exit 1 if one does not match or is missing."""
    from registry.errors import IntegrityError

    from . import cache
    from .fetcher import check_digest

    rec = _resolve(name).record
    results = []
    for asset in rec.assets:
        path = cache.asset_path(rec, asset)
        if not path.is_file():
            results.append({"file": asset.filename, "status": "missing", "path": str(path)})
            continue
        digest = cache.sha256_file(path)
        try:
            check_digest(digest, asset, str(path))
            results.append({"file": asset.filename, "status": "ok", "sha256": digest, "path": str(path)})
        except IntegrityError as e:
            results.append({"file": asset.filename, "status": "corrupt", "sha256": digest, "path": str(path),
                            "expected": e.expected})
    if json_:
        _emit_json(results)
    else:
        for r in results:
            typer.echo(f"{r['status']:8} {r['file']}" + (f"  expected {r['expected']}, got {r['sha256']}"
                                                          if r["status"] == "corrupt" else ""))
    raise typer.Exit(0 if all(r["status"] == "ok" for r in results) else 1)


cache_app = typer.Typer(help="Inspect and clean the local cache (HUB_HOME).", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("ls")
def cache_ls(json_: JsonOpt = False) -> None:
    """Cached files, by model."""
    from . import cache

    rows = [{"model": e.model, "file": e.path.name, "size": e.size, "ok": e.ok, "path": str(e.path)}
            for e in cache.entries()]
    if json_:
        _emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['model']}/{r['file']}  {r['size']} bytes" + ("" if r["ok"] else "  (blob missing)"))
    typer.echo(f"{len(rows)} file(s) in {cache.root()}")


@cache_app.command("verify")
def cache_verify(json_: JsonOpt = False) -> None:
    """Re-hash every cached blob against its name; exit 1 if any is corrupt or missing."""
    from . import cache

    rows = [{"model": e.model, "file": e.path.name, "ok": cache.verify_entry(e)} for e in cache.entries()]
    if json_:
        _emit_json(rows)
    else:
        for r in rows:
            typer.echo(f"{'ok' if r['ok'] else 'CORRUPT':8} {r['model']}/{r['file']}")
    raise typer.Exit(0 if all(r["ok"] for r in rows) else 1)


@cache_app.command("rm")
def cache_rm(name: Annotated[str, typer.Argument(help="The model whose cached files to remove.")]) -> None:
    """Remove a model's files from the cache (their blobs go at the next prune)."""

    from . import cache

    rec = _resolve(name).record
    removed = cache.remove_model(rec)
    typer.echo(f"removed {len(removed)} file(s) of {rec.uid or rec.name}")


@cache_app.command("prune")
def cache_prune() -> None:
    """Delete blobs no model uses and partial downloads not in progress."""
    from . import cache

    gone, freed = cache.prune()
    typer.echo(f"deleted {len(gone)} file(s), freed {freed} bytes")


from .cli_models import register as _register_model_commands  # noqa: E402  (needs ``app`` defined)

_register_model_commands(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="hub")
    except HubError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
