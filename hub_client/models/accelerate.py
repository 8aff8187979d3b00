"""The engine step of ``load_model``: after the weights are loaded strictly, run them on the fastest engine and
numerics that keep the answers (``precision.py`` says which and how that is checked).

- ``openvino``: a cached IR is compiled directly, so a warm load is quick; else ConvNeXt's graph is built from
  the checkpoint's arrays (``ov_convnext``, no PyTorch import), compiled, checked and kept.
- ``torch``: bf16 weights in channels_last on a CPU with native bf16 or on a CUDA GPU with bf16 (fp16 on an older
  GPU), after the check; inputs are cast on the way in and logits back to float32 on the way out, so callers pass
  float32 as before. ``torch.compile`` is left to the caller: its first call compiles for far longer than a load
  may take (``python -m bench.gpu`` measures what it gives).
- ``mindspore``: fp32, as MindCV runs it.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import precision as checks
from .auto_spec import AutoSpec
from .devices import parse_device
from .spec import ConvNeXtSpec, NetSpec

log = logging.getLogger("hub")

#: Shows a step with no bytes that may take seconds (an engine built, a precision checked) while it runs: the CLI
#: draws it as a line beside its transfer bars; library callers see nothing.
Step = Callable[[str], contextlib.AbstractContextManager[None]]


def no_step(text: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def steps_of(progress: object) -> Step:
    """The ``step`` of a progress factory that has one (the CLI's bars), else :func:`no_step`."""
    found = getattr(progress, "step", None)
    return found if callable(found) else no_step


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def wanted(precision: str, device: str) -> str:
    """The precision to try, unless one is asked by name: ``bf16`` where the hardware has bf16 instructions (CPU
    flags; a CUDA GPU since Ampere), ``fp16`` on an older CUDA GPU, else ``fp32``; whether it is kept is the
    check's verdict (:func:`keep`)."""
    p = checks.check_precision(precision)
    if p != "auto":
        return p
    if parse_device(device).kind == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if checks.native_bf16() else "fp32"


def keep(check: checks.Check, precision: str) -> bool:
    """Run the reduced precision: it keeps the answers, and it is faster (or was asked for by name)."""
    return check.passed and (precision != "auto" or check.faster)


def load_openvino(spec: ConvNeXtSpec, weights: Path, precision: str, size: int, engines: Path,
                  step: Step = no_step) -> tuple[Any, checks.Check | None, str]:
    """(compiled network, the precision check or None, the precision it runs at) for ``weights`` on OpenVINO;
    engines and checks are kept under ``engines``. The graph is built from the checkpoint's arrays
    (``ov_convnext``): neither PyTorch nor transformers is imported, and the fp32 engine is the reference the
    reduced precision is checked against (the tests hold it to transformers' logits).

    Raises:
        CheckpointError: the weights file is unreadable, or a name or shape does not fit the network."""
    from . import ov_backend, ov_convnext

    want = wanted(precision, "cpu")
    key = checks.weights_key(weights, repr(spec), "openvino", ov_backend.version(), ov_convnext.BUILDER, str(size))
    check_key = f"{key}:{want}"
    ir = ov_backend.ir_path(engines, key)
    found = checks.cached_check(engines, check_key) if want != "fp32" else None
    if ir.is_file() and (want == "fp32" or found is not None):
        run = want if found is None or keep(found, precision) else "fp32"
        return ov_backend.compile_ir(ir, run, engines), found, run
    with step(f"building the OpenVINO engine of {spec.name} (once)"):
        ir = ov_backend.save(ov_convnext.build(spec, convnext_state(spec, weights), size), ir)
        net = ov_backend.compile_ir(ir, want, engines)
    if want == "fp32":
        return net, None, "fp32"
    probe = checks.probe_batch(spec.in_channels, size)
    with step(f"checking {want} on {spec.name} (once)"):
        exact = ov_backend.compile_ir(ir, "fp32", engines)
        check = checks.checked(engines, check_key, "openvino", want, lambda: exact(probe), lambda: net(probe))
    return (net, check, want) if keep(check, precision) else (exact, check, "fp32")


def convnext_state(spec: ConvNeXtSpec, path: Path) -> dict[str, Any]:
    """The weights of ``path`` as MindCV name → numpy array, checked strictly against ``spec`` (no framework).

    Raises:
        CheckpointError: the file cannot be read, or a name or shape does not fit the network (each one named).
    """
    from hub_client.weights import state as weights

    from .spec import mindcv_shapes

    kept, _ = weights.split_training_state(weights.read_state(path))
    weights.check_fit(path, kept, mindcv_shapes(spec))
    return kept


def torch_precision(net: Any, spec: ConvNeXtSpec | AutoSpec, weights: Path | None, precision: str, device: str,
                    size: int, engines: Path, step: Step = no_step) -> tuple[Any, checks.Check | None, str]:
    """``net`` (fp32, on its device) in the precision that keeps the answers: (network, check, precision)."""
    want = wanted(precision, device)
    if want == "fp32" or weights is None:
        return net, None, "fp32"
    from . import torch_backend

    kind = parse_device(device).kind
    key = checks.weights_key(weights, repr(spec), "torch", kind, _version("torch"), _version("transformers"), want)
    found = checks.cached_check(engines, key)
    if found is not None:
        return (torch_backend.to_reduced(net, want), found, want) if keep(found, precision) else (net, found, "fp32")
    with step(f"checking {want} on {spec.name} (once)"):
        reduced = torch_backend.to_reduced(copy.deepcopy(net), want)
        probe = checks.probe_batch(spec.in_channels, size)
        check = checks.checked(engines, key, "torch", want, lambda: torch_backend.logits(net, probe),
                               lambda: torch_backend.logits(reduced, probe))
    return (reduced, check, want) if keep(check, precision) else (net, check, "fp32")


def with_engine(spec: NetSpec, engine_name: str, precision: str) -> NetSpec:
    return replace(spec, engine=engine_name, precision=precision)
