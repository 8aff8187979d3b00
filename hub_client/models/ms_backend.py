"""The MindSpore backend (see ``backend.Backend``): devices, the ConvNeXt of ``ms_convnext``, MindSpore's own
``.ckpt`` reader, strict assignment with ``load_param_into_net``. Importing it imports MindSpore."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mindspore as ms
import numpy as np
from numpy.typing import NDArray

from registry.errors import CheckpointError, DeviceUnavailableError

from . import ms_convnext
from .devices import Device
from .spec import ConvNeXtSpec

#: MindSpore's device targets, by the kind ``devices.parse_device`` reads.
TARGETS = {"cpu": "CPU", "cuda": "GPU", "ascend": "Ascend"}


def mindspore_available() -> list[str]:
    """The MindSpore device targets whose plugin loads here (CPU always)."""
    from mindspore import hal

    with _Quiet():
        return [t for t in TARGETS.values() if t == "CPU" or _safe_available(hal, t)]


def _safe_available(hal: object, target: str) -> bool:
    try:
        return bool(hal.is_available(target))  # type: ignore[attr-defined]
    except (RuntimeError, ValueError):
        return False


def select_device(device: Device) -> str:
    """Make ``device`` MindSpore's target (``CPU``, ``GPU``, ``Ascend``, with its number), or say what is here."""
    target = TARGETS[device.kind]
    if target != "CPU":
        available = mindspore_available()
        if target not in available:
            raise DeviceUnavailableError(device.text, available, "MindSpore")
    if ms.get_context("device_target") != target or device.index is not None:
        try:
            ms.set_device(target, device.index) if device.index is not None else ms.set_device(target)
        except (RuntimeError, ValueError) as e:
            raise DeviceUnavailableError(device.text, mindspore_available(), f"MindSpore ({e})") from None
    return target


def build(spec: ConvNeXtSpec, *, init_weights: bool = True, seed: int | None = None) -> ms_convnext.ConvNeXt:
    return ms_convnext.build(spec, init_weights=init_weights, seed=seed)


def parameter_shapes(net: ms_convnext.ConvNeXt) -> dict[str, tuple[int, ...]]:
    return ms_convnext.param_shapes(net)


def read_ckpt(path: Path) -> dict[str, Any]:
    """name → ``mindspore.Parameter``; MindSpore's own reader (protobuf, with its CRC check when present)."""
    try:
        return dict(ms.load_checkpoint(str(path)))
    except (ValueError, RuntimeError, TypeError, OSError) as e:
        raise CheckpointError(path, f"not a readable MindSpore checkpoint ({e})") from None


def _as_parameter(name: str, value: Any) -> ms.Parameter:
    if isinstance(value, ms.Parameter):
        return value
    arr = np.asarray(value)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return ms.Parameter(ms.Tensor(arr), name=name)


def assign(net: ms_convnext.ConvNeXt, state: dict[str, Any], path: Path, *, fresh_head: bool) -> None:
    params = {k: _as_parameter(k, v) for k, v in state.items()}
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=True)
    not_loaded = [n for n in not_loaded if not (fresh_head and n.startswith("classifier."))]
    if not_loaded:
        raise CheckpointError(path, "MindSpore did not load every parameter", missing=list(not_loaded))


def init_head(net: ms_convnext.ConvNeXt, seed: int | None) -> None:
    ms_convnext.init_classifier(net, seed=seed)


def finish(net: ms_convnext.ConvNeXt, device: str) -> ms_convnext.ConvNeXt:
    net.set_train(False)
    return net


def logits(net: ms_convnext.ConvNeXt, batch: NDArray[Any]) -> NDArray[Any]:
    result: NDArray[Any] = np.asarray(net(ms.Tensor(batch)).asnumpy(), dtype=np.float32)
    return result


class _Quiet:
    """Silence MindSpore's 'plugin not found' warnings while probing devices that are not there."""

    def __enter__(self) -> None:
        self.loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                        if "mindspore" in n.lower()]
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self.loggers, self.levels, strict=True):
            lg.setLevel(level)
