"""``hub predict`` and ``hub eval``: the commands that run a network.

These commands import a framework, but only inside the command body: ``hub --help`` never does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import (
    BackendOpt,
    DeviceOpt,
    JsonOpt,
    NameArg,
    PrecisionOpt,
    VerboseOpt,
    bars_wanted,
    console,
    emit_json,
    settings,
)


def _quiet_frameworks() -> None:
    """Check that a model can run here at all (a plain install names the extra to install), and keep
    MindSpore's C++ warnings (missing Ascend plugins...) off stderr unless told otherwise."""
    from hub_client.models.extras import require_runtime

    require_runtime()
    os.environ.setdefault("GLOG_v", "3")


def _load(name: str, device: str, backend: str, precision: str | None, quiet: bool, verbose: bool = False) -> Any:
    from hub_client.models.loader import load_model

    _quiet_frameworks()
    if bars_wanted(quiet):
        from .progress import RichBars

        with RichBars() as progress:
            model = load_model(name, device=device, backend=backend, precision=precision, progress=progress,
                               settings=settings())
    else:
        model = load_model(name, device=device, backend=backend, precision=precision, settings=settings())
    if verbose:
        typer.echo(engine_line(model.hub_info), err=True)
    return model


def engine_line(info: Any) -> str:
    """What runs the model, and the check that let a reduced precision run."""
    check = info.check
    found = (f"; precision check: max relative logit error {check.max_rel_error:.2g} (tolerance "
             f"{check.tolerance:g}), top-1 agreement {check.top1_agreement:.0%} on {check.decisive} of {check.probe} "
             f"probe images{'' if check.passed else ', failed: running fp32'}") if check else ""
    return f"engine: {info.spec.engine} on {info.device}, {info.spec.precision}{found}"


def predict(
    name: NameArg,
    images: Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, ...).")],
    topk: Annotated[int, typer.Option("--topk", "-k", min=1, help="How many labels per image.")] = 5,
    device: DeviceOpt = "cpu",
    backend: BackendOpt = "auto",
    precision: PrecisionOpt = None,
    verbose: VerboseOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Classify images with a model: its top labels and their probabilities, per image."""
    _quiet_frameworks()
    from hub_client.inference.prediction import predict as run

    model = _load(name, device, backend, precision, quiet=json_, verbose=verbose)
    results = run(model, [str(p) for p in images], topk=topk)
    info = model.hub_info
    if json_:
        emit_json({"model": info.name, "backend": info.backend, "device": info.device,
                    "precision": info.spec.precision, "results": [r.as_dict() for r in results]})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{info.name} ({info.backend}, {info.device})", title_justify="left")
    table.add_column("image", overflow="fold")
    table.add_column("#", justify="right")
    table.add_column("label", overflow="fold")
    table.add_column("probability", justify="right")
    for r in results:
        for rank, t in enumerate(r.top, 1):
            table.add_row(escape(r.image) if rank == 1 else "", str(rank), escape(t.label), f"{t.probability:.4f}")
    console().print(table)


def eval_(
    name: NameArg,
    dataset: Annotated[str, typer.Option(
        "--dataset", help="sklearn-digits, or an ImageFolder tree root/<class>/<image>.")],
    device: DeviceOpt = "cpu",
    backend: BackendOpt = "auto",
    precision: PrecisionOpt = None,
    verbose: VerboseOpt = False,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Images per forward pass.")] = 32,
    limit: Annotated[int | None, typer.Option(min=1, help="Evaluate on this many images, spread over the dataset.")
                     ] = None,
    tolerance: Annotated[float | None, typer.Option(
        min=0, max=100, help="Points of top-1 within which the claim counts as reproduced (default: 2 standard "
        "errors).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Measure top-1/top-5 on a dataset and check the card's accuracy claim; exit 1 if below it."""
    _quiet_frameworks()
    from hub_client.inference.evaluation import evaluate

    model = _load(name, device, backend, precision, quiet=json_, verbose=verbose)
    if bars_wanted(json_):
        from .progress import EvalBar

        with EvalBar(f"eval {name}") as bar:
            result = evaluate(model, dataset, batch_size=batch_size, limit=limit, tolerance=tolerance, progress=bar)
    else:
        result = evaluate(model, dataset, batch_size=batch_size, limit=limit, tolerance=tolerance)
    if json_:
        emit_json({**result.as_dict(), "precision": model.hub_info.spec.precision})
    else:
        claim = (f"card claims {result.claim_top1:.2f}% ({result.claim_source}); tolerance ±{result.tolerance:.2f}"
                 if result.claim_top1 is not None else "the card claims no top-1")
        typer.echo(f"{result.model} on {result.dataset}: {result.images} images, {result.backend} on "
                   f"{result.device} ({model.hub_info.spec.precision}), {result.seconds:.1f} s\n"
                   f"  top-1 {result.top1:.2f}%  top-{result.k} {result.top5:.2f}%\n"
                   f"  {claim}\n"
                   f"  verdict: {result.verdict}")
    if result.verdict == "below claim":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(predict)
    app.command("eval")(eval_)
