"""``hub export``: a model written for deployment runtimes, ONNX (onnxruntime) or OpenVINO IR, in fp32 with the
numerics its weights were trained with, and its preprocessing and labels beside it.

The network is the one ``load_model(..., backend="torch")`` builds, with the checkpoint loaded strictly: transformers'
ConvNeXt, a network of MindCV's zoo with a PyTorch map, or a transformers repo's own (MindSpore's ``same`` padding is
traced at the preprocessing's image size, so the export takes that size and any batch). Before the folder is renamed
into place the export is run by its runtime on a fixed probe batch and compared with the PyTorch network; a
difference over ``TOLERANCE`` of the largest logit is an error, not a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from registry.errors import BackendUnavailableError, ConversionError, UsageError
from registry.formats import EXPORT_FORMATS
from registry.settings import Settings

from .precision import probe_batch
from .torch_backend import quiet_tracing

FORMATS = EXPORT_FORMATS
#: Largest max-abs logit difference an fp32 export may show against PyTorch on the probe, as a fraction of the
#: largest logit (absolute for logits below 1).
TOLERANCE = 1e-4


@dataclass
class Exported:
    out: Path
    format: str
    files: list[Path]
    #: Max abs logit difference against PyTorch fp32 on the probe batch, as the runtime computed them.
    max_abs: float


def _onnx(wrapped: Any, probe: Any, stage: Path) -> tuple[list[Path], Any]:
    import importlib.util

    import torch

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        raise BackendUnavailableError("ONNX export", "export", "onnx and onnxruntime are needed")
    import onnxruntime as ort

    path = stage / "model.onnx"
    with quiet_tracing():
        torch.onnx.export(wrapped, (probe,), str(path), dynamo=False, input_names=["pixel_values"],
                          output_names=["logits"], dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [path], lambda x: session.run(None, {"pixel_values": x})[0]


def _openvino(wrapped: Any, probe: Any, stage: Path) -> tuple[list[Path], Any]:
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        raise BackendUnavailableError("OpenVINO export", "openvino", "openvino is needed")
    import openvino as ov

    with quiet_tracing():
        model = ov.convert_model(wrapped, example_input=probe,
                                 input=[ov.PartialShape([-1, *probe.shape[1:]])])
    ov.save_model(model, str(stage / "model.xml"), compress_to_fp16=False)
    compiled = ov.Core().compile_model(str(stage / "model.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return [stage / "model.xml", stage / "model.bin"], lambda x: compiled(x)[0]


def preprocessing(info: Any) -> dict[str, Any]:
    """What a deployment must do to an image before the model sees it, and what its outputs mean."""
    pre = info.preprocess
    return {"input": "pixel_values", "output": "logits", "layout": "NCHW", "channels": pre.channels,
            "resize_shorter_side": pre.resize, "center_crop": pre.crop, "resample": pre.resample,
            "rescale": pre.rescale, "mean": list(pre.mean), "std": list(pre.std),
            "numerics": numerics(info.spec), "labels": list(info.labels)}


def numerics(spec: Any) -> dict[str, Any]:
    """What the exported network computes beyond its weights: a ConvNeXt's GELU, padding and head epsilon; the
    MindCV architecture whose numerics a zoo network keeps; a transformers repo's model type."""
    from .auto_spec import AutoSpec
    from .zoo import ZooSpec

    if isinstance(spec, ZooSpec):
        return {"mindcv_architecture": spec.name, "family": spec.family}
    if isinstance(spec, AutoSpec):
        return {"model_type": spec.model_type}
    return {"gelu": spec.gelu, "pad_mode": spec.pad_mode, "head_eps": spec.head_eps}


def export(name: str, fmt: str, out: str | Path, *, overwrite: bool = False, progress: Any = None,
           settings: Settings | None = None) -> Exported:
    """Write ``name`` as ``fmt`` (``onnx`` or ``openvino``) into the folder ``out``, checked by its runtime;
    ``settings`` as ``load_model`` takes them.

    Raises:
        UsageError: an unknown format, or ``out`` holds something and ``overwrite`` is False.
        BackendUnavailableError: PyTorch, or the format's exporter and runtime, are not installed.
        ConversionError: the runtime's logits differ from PyTorch's by more than ``TOLERANCE``.
        and every error of ``load_model``'s pull and strict load.
    """
    from registry.atomic import check_target, staged_dir

    from .backend import build_and_load, get_backend, pick_backend
    from .loader import model_info

    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    check_target(out, overwrite=overwrite)
    pick_backend("torch", "cpu")  # the exporters trace the PyTorch network
    import torch

    info = model_info(name, progress=progress, settings=settings)
    net, _, _, _ = build_and_load(get_backend("torch"), info.spec, info.weights, device="cpu")
    from .torch_backend import logits_module

    wrapped = logits_module(net)
    x = probe_batch(info.spec.in_channels, info.preprocess.crop)
    with torch.no_grad():
        want = wrapped(torch.from_numpy(x)).numpy()
    with staged_dir(out, overwrite=overwrite) as stage:
        files, run = (_onnx if fmt == "onnx" else _openvino)(wrapped, torch.from_numpy(x[:1]), stage)
        got = np.asarray(run(x), dtype=np.float32)
        max_abs = float(np.abs(got - want).max())
        bound = TOLERANCE * max(1.0, float(np.abs(want).max()))  # fp32 rounding grows with the logits' size
        if max_abs > bound:
            raise ConversionError(name, f"the {fmt} export's logits differ from PyTorch's by {max_abs:.3g} on the "
                                  f"probe batch (at most {bound:.3g}, {TOLERANCE:g} of the largest logit, is taken)")
        (stage / "preprocessing.json").write_text(json.dumps(preprocessing(info), indent=1) + "\n")
        names = [f.name for f in files] + ["preprocessing.json"]
    return Exported(out, fmt, [out / n for n in names], max_abs)
