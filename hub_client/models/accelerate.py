"""The engine step of ``load_model``: after the weights are loaded strictly, run them on the fastest engine and
numerics that keep the answers (``precision.py`` says which and how that is checked).

- ``openvino``: a cached IR is compiled directly (no PyTorch network is built, so a warm load is quick); else
  the PyTorch network is built, converted, compiled, checked and kept.
- ``torch``: bf16 weights in channels_last on a CPU with native bf16 or on a CUDA GPU with bf16 (fp16 on an older
  GPU), after the check; inputs are cast on the way in and logits back to float32 on the way out, so callers pass
  float32 as before. ``torch.compile`` is left to the caller: its first call compiles for far longer than a load
  may take (``python -m bench.gpu`` measures what it gives).
- ``mindspore``: fp32, as MindCV runs it.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import precision as checks
from .auto_spec import AutoSpec
from .backend import build_and_load, get_backend
from .devices import parse_device
from .spec import ConvNeXtSpec, NetSpec

log = logging.getLogger("hub")


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


def load_openvino(spec: ConvNeXtSpec, weights: Path, precision: str, size: int, engines: Path
                  ) -> tuple[Any, checks.Check | None, str]:
    """(compiled network, the precision check or None, the precision it runs at) for ``weights`` on OpenVINO;
    engines and checks are kept under ``engines``."""
    from . import ov_backend

    want = wanted(precision, "cpu")
    key = checks.weights_key(weights, repr(spec), "openvino", ov_backend.version(), _version("torch"),
                             _version("transformers"))
    check_key = f"{key}:{want}"
    ir = ov_backend.ir_path(engines, key)
    found = checks.cached_check(engines, check_key) if want != "fp32" else None
    if ir.is_file() and (want == "fp32" or found is not None):
        run = want if found is None or keep(found, precision) else "fp32"
        return ov_backend.compile_ir(ir, run, engines), found, run
    torch_net, _, _, _ = build_and_load(get_backend("torch"), spec, weights, device="cpu")
    ir = ov_backend.convert(torch_net, spec.in_channels, size, ir)
    net = ov_backend.compile_ir(ir, want, engines)
    if want == "fp32":
        return net, None, "fp32"
    from . import torch_backend

    probe = checks.probe_batch(spec.in_channels, size)
    exact = ov_backend.compile_ir(ir, "fp32", engines)  # the fp32 side of the timing is OpenVINO's own, not PyTorch's
    check = checks.checked(engines, check_key, "openvino", want, lambda: torch_backend.logits(torch_net, probe),
                           lambda: net(probe), lambda: exact(probe))
    return (net, check, want) if keep(check, precision) else (exact, check, "fp32")


def torch_precision(net: Any, spec: ConvNeXtSpec | AutoSpec, weights: Path | None, precision: str, device: str,
                    size: int, engines: Path) -> tuple[Any, checks.Check | None, str]:
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
    reduced = torch_backend.to_reduced(copy.deepcopy(net), want)
    probe = checks.probe_batch(spec.in_channels, size)
    check = checks.checked(engines, key, "torch", want, lambda: torch_backend.logits(net, probe),
                           lambda: torch_backend.logits(reduced, probe))
    return (reduced, check, want) if keep(check, precision) else (net, check, "fp32")


def with_engine(spec: NetSpec, engine_name: str, precision: str) -> NetSpec:
    return replace(spec, engine=engine_name, precision=precision)
