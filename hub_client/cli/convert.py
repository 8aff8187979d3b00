"""``hub convert``: a ConvNeXt, or a network of MindCV's zoo, from one ecosystem written out for the other."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ._output import JsonOpt, emit_json, settings


class Target(enum.StrEnum):
    hf = "hf"
    mindspore = "mindspore"


def require_convert() -> None:
    """numpy and safetensors, the two libraries a conversion writes with, or a message naming the extra."""
    import importlib.util

    from registry.about import install_hint
    from registry.errors import UsageError

    missing = [m for m in ("numpy", "safetensors", "google.protobuf") if importlib.util.find_spec(m.split(".")[0])
               is None]
    if missing:
        raise UsageError(f"converting needs {', '.join(missing)}: {install_hint('convert')}")


def convert(
    source: Annotated[str, typer.Argument(
        help="A registry name (pulled and verified first), a MindCV .ckpt file, or a Hugging Face repo folder.")],
    out: Annotated[Path, typer.Argument(help="The folder (--to hf) or .ckpt file (--to mindspore) to write.")],
    to: Annotated[Target, typer.Option("--to", help="hf: a repo folder transformers loads; mindspore: a .ckpt "
                                       "with MindCV's parameter names.")],
    image_size: Annotated[int | None, typer.Option(
        min=1, help="The input size the converted model will run at (default: its preprocessing's crop); a size "
        "where MindSpore's 'same' padding pads is refused for --to hf.")] = None,
    name: Annotated[str | None, typer.Option(help="The repo name its README uses (default: the folder's name).")
                    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT, once the new one is complete.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Convert a ConvNeXt v1/v2, or MindCV's ViT, MobileNet v1/v2, RegNet, PoolFormer, Swin (v1, v2),
    EfficientNet or BiT, between MindSpore (MindCV) and Hugging Face (transformers), with the same logits.

    Nothing is written under OUT until every file is complete; numerics the target cannot express are an error.
    """
    require_convert()
    from hub_client.convert import open_source, to_hf, to_mindspore

    src = open_source(source, settings=settings())
    if to is Target.hf:
        done = to_hf(src, out, name=name, image_size=image_size, overwrite=overwrite)
    else:
        done = to_mindspore(src, out, overwrite=overwrite)
    gelu = getattr(src.spec, "gelu", None)  # a ConvNeXt's; a zoo network's numerics are its family's
    if as_json:
        emit_json({"source": src.label, "to": to.value, "out": str(done.out), "bytes": done.size,
                   "files": [str(p) for p in done.files], "architecture": src.spec.name,
                   "numerics": {"gelu": gelu, "head_eps": getattr(src.spec, "head_eps", None)}, "notes": done.notes})
        return
    what = f"{src.spec.name}, {gelu} GELU" if gelu else f"MindCV's {src.spec.name}"
    typer.echo(f"{src.label} ({what}) -> {done.out} ({done.size / 1e6:.1f} MB)")
    for path in done.files:
        typer.echo(f"  {path}")
    for note in done.notes:
        typer.echo(f"note: {note}", err=True)


def export(
    name: Annotated[str, typer.Argument(help="Model name, name@version, MindSpore Hub uid, or HF id (hf:org/name).")],
    out: Annotated[Path, typer.Argument(help="The folder to write (model.onnx, or model.xml + model.bin, and "
                                        "preprocessing.json).")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (onnxruntime) or openvino (OpenVINO IR).")] = "onnx",
    overwrite: Annotated[bool, typer.Option(help="Replace OUT, once the new one is complete.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a model for deployment runtimes in fp32, checked by the runtime against PyTorch (at most 1e-4 of the
    largest logit)."""
    from registry.errors import UsageError
    from registry.formats import EXPORT_FORMATS

    if fmt.strip().lower() not in EXPORT_FORMATS:  # said before PyTorch and the exporters are imported
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    from hub_client.models.export import export as run
    from hub_client.models.extras import require_runtime

    require_runtime()
    done = run(name, fmt, out, overwrite=overwrite, settings=settings())
    if as_json:
        emit_json({"model": name, "format": done.format, "out": str(done.out), "files": [str(p) for p in done.files],
                   "max_abs_vs_torch": done.max_abs})
        return
    typer.echo(f"{name} -> {done.out} ({done.format}; logits within {done.max_abs:.1e} of PyTorch's on the probe)")
    for path in done.files:
        typer.echo(f"  {path}")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
    app.command("export")(export)
