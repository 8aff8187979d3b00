"""OpenVINO on the CPU (the ``openvino`` extra): ConvNeXt's graph, built from the checkpoint's arrays
(``ov_convnext``), kept as IR under ``HUB_HOME/engines/openvino/<key>/`` and compiled with OpenVINO's model
cache, so a later load reads and compiles the IR alone.

The batch stays dynamic, so one compiled model serves ``predict`` and ``eval`` at any batch; the image size is the
one the preprocessing makes, fixed, because MindSpore's ``same`` padding depends on it (any other size is refused
by OpenVINO rather than run with the wrong padding). The
precision is OpenVINO's ``INFERENCE_PRECISION_HINT``: ``bf16`` (what its CPU plugin picks by itself on a CPU with
native bf16) only after ``engine.checked`` agreed, else ``f32``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


class OpenVinoNet:
    """A compiled OpenVINO model with the interface ``predict`` and ``eval`` need: a (N, C, H, W) float32 batch
    in, logits (N, classes) float32 out. ``hub_info`` is set by ``load_model``."""

    def __init__(self, compiled: Any, precision: str, ir: Path) -> None:
        self.compiled = compiled
        self.precision = precision
        self.ir = ir
        self.hub_info: Any = None
        #: One inference request per batch size: a request keeps its buffers, and a batch of another size (the
        #: last, shorter one of a run) would make it reshape them, then back.
        self._requests: dict[int, Any] = {}

    def __call__(self, batch: NDArray[Any]) -> NDArray[Any]:
        request = self._requests.get(len(batch))
        if request is None:
            request = self._requests[len(batch)] = self.compiled.create_infer_request()
        out = request.infer([np.ascontiguousarray(batch, dtype=np.float32)])  # no copy when already float32 C
        return np.array(next(iter(out.values())), dtype=np.float32, copy=True)  # the request's buffer is reused

    def __repr__(self) -> str:
        return f"OpenVinoNet({self.ir.parent.name}, precision={self.precision})"


def available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def version() -> str:
    try:
        return importlib.metadata.version("openvino")
    except importlib.metadata.PackageNotFoundError:
        return "none"


_scratch: list[Path] = []


def engines_root(engines: Path) -> Path:
    """``engines/openvino`` (under the hub home), where converted and compiled engines are kept; in a read-only
    hub home, a folder of this process's own, removed at exit: the engine is built for this run and nothing new
    is kept."""
    home = engines / "openvino"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home
    except OSError:
        pass
    if not _scratch:
        import atexit
        import shutil
        import tempfile

        _scratch.append(Path(tempfile.mkdtemp(prefix="hub-engines-")))
        atexit.register(shutil.rmtree, _scratch[0], True)
    return _scratch[0]


def ir_path(engines: Path, key: str) -> Path:
    found = engines / "openvino" / key / "model.xml"
    return found if found.is_file() else engines_root(engines) / key / "model.xml"


def save(model: Any, target: Path) -> Path:
    """Keep an OpenVINO model as IR under ``target`` (an ``ir_path``), written to a stage folder and renamed, so a
    half-written engine is never read."""
    import shutil
    import tempfile

    import openvino as ov

    target.parent.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=target.parent.parent))
    try:
        ov.save_model(model, str(stage / target.name), compress_to_fp16=False)
        if target.parent.exists():
            shutil.rmtree(target.parent)
        os.replace(stage, target.parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def compile_ir(ir: Path, precision: str, engines: Path) -> OpenVinoNet:
    """Compile ``ir`` for the CPU at ``precision`` (``bf16``, ``fp16`` or ``fp32``), with OpenVINO's model
    cache."""
    import openvino as ov

    core = ov.Core()
    cache = engines_root(engines) / "compiled"
    cache.mkdir(parents=True, exist_ok=True)
    hint = {"bf16": "bf16", "fp16": "f16"}.get(precision, "f32")
    compiled = core.compile_model(str(ir), "CPU", {"INFERENCE_PRECISION_HINT": hint, "CACHE_DIR": str(cache)})
    return OpenVinoNet(compiled, precision, ir)


def logits(net: OpenVinoNet, batch: NDArray[Any]) -> NDArray[Any]:
    return net(batch)
