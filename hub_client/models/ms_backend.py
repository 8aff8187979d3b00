"""The MindSpore backend (see ``backend.Backend``): devices, the ConvNeXt of ``ms_convnext`` and every network of
MindCV's zoo (``mindcv.create_model``), MindSpore's own ``.ckpt`` reader, strict assignment with
``load_param_into_net``. Importing it imports MindSpore."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mindspore as ms
import numpy as np
from numpy.typing import NDArray

from hub_client.weights import ckpt
from registry.errors import CheckpointError, DeviceUnavailableError, NoLoaderError

from . import ms_convnext
from .auto_spec import AutoSpec
from .devices import Device
from .spec import ConvNeXtSpec
from .zoo import ZooSpec

log = logging.getLogger("hub")

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


def build(spec: ConvNeXtSpec | ZooSpec | AutoSpec, *, init_weights: bool = True, seed: int | None = None,
          shapes: dict[str, tuple[int, ...]] | None = None) -> ms.nn.Cell:
    """The network of ``spec``: the ConvNeXt of ``ms_convnext``, or MindCV's own for a network of its zoo. Where the
    card's names fit several of MindCV's architectures, the first whose parameter names are the file's
    (``shapes``) is built.

    Raises:
        CheckpointError: none of the architectures the card's names fit has the file's parameters (each named,
            with how it differs).
    """
    if isinstance(spec, ConvNeXtSpec):
        return ms_convnext.build(spec, init_weights=init_weights, seed=seed)
    if isinstance(spec, AutoSpec):
        raise NoLoaderError(spec.name, f"transformers' {spec.model_type} has no MindSpore network here: load it with "
                            "backend='torch'", [], [spec.name])
    names = (spec.name, *spec.alternatives)
    tried: list[str] = []
    # MindCV draws a network's head as it builds it: a head the file does not fill (other classes) is drawn
    draw = init_weights or shapes is None or any(
        k.startswith(spec.head) and v[:1] != (spec.num_classes,) for k, v in shapes.items())
    for name in names:
        net = _create(name, spec, seed, draw=draw)
        if shapes is None or len(names) == 1:
            return net
        have = {k: tuple(v) for k, v in parameter_shapes(net).items() if not k.startswith(spec.head)}
        given = {k: v for k, v in shapes.items() if not k.startswith(spec.head)}
        if have == given:
            return net
        missing, extra = len(set(have) - set(given)), len(set(given) - set(have))
        tried.append(f"{name}: {missing} of its parameters missing from the file, {extra} of the file's unknown "
                     "to it" if missing or extra else f"{name}: same names, other shapes")
    raise CheckpointError("<weights>", f"the card's names fit {', '.join(names)}, and none has the checkpoint's "
                          f"parameters ({'; '.join(tried)})")


def _create(name: str, spec: ZooSpec, seed: int | None, *, draw: bool = True) -> ms.nn.Cell:
    """``mindcv.create_model``: MindCV draws its initialisation as it builds (``seed`` makes it repeatable); with
    ``draw=False`` (weights follow, and the strict load overwrites every value) the draws are skipped."""
    import mindcv

    if seed is not None:
        ms.set_seed(seed)
    with _Quiet(), _DRAWING, (contextlib.nullcontext() if draw else no_draws()):
        net: ms.nn.Cell = mindcv.create_model(name, num_classes=spec.num_classes, in_channels=spec.in_channels,
                                              pretrained=False)
    _change(net, dict(spec.changes))
    net.set_train(False)
    return net


#: MindSpore's random fills, by the names its initializer module calls them: (seed, array, *parameters).
_FILLS = ("_random_normal", "_random_uniform", "_truncated_normal")
#: Held while a network is built, so no other thread builds one while the fills are swapped.
_DRAWING = threading.Lock()


def _zeros(seed: int, data: NDArray[Any], *parameters: float) -> None:
    data.fill(0)


@contextlib.contextmanager
def no_draws() -> Iterator[None]:
    """MindSpore's random fills made zero fills while a network whose every value the load replaces is built, as
    transformers' ``no_init_weights`` does for ``from_pretrained``: MindCV draws its initial weights as it builds,
    which is most of its build time for a large network (``python -m bench.zoo``). Where MindSpore's initializer
    names them otherwise, it draws as before."""
    from mindspore.common import initializer

    kept = {n: getattr(initializer, n) for n in _FILLS if hasattr(initializer, n)}
    if len(kept) < len(_FILLS):
        yield
        return
    for n in _FILLS:
        setattr(initializer, n, _zeros)
    try:
        yield
    finally:
        for n, f in kept.items():
            setattr(initializer, n, f)


def _change(net: ms.nn.Cell, changes: dict[str, Any]) -> None:
    """MindCV's cells told to compute as the weights' numerics say (``zoo_hf.mindspore_changes``): the exact GELU;
    another LayerNorm epsilon (MindSpore bakes it into the cell's operator, which is made again)."""
    for _, cell in net.cells_and_names():
        if "gelu" in changes and isinstance(cell, ms.nn.GELU):
            cell.approximate = changes["gelu"]
        if "layer_norm_eps" in changes and isinstance(cell, ms.nn.LayerNorm):
            cell.epsilon = changes["layer_norm_eps"]
            cell.layer_norm = ms.ops.LayerNorm(begin_norm_axis=cell.begin_norm_axis,
                                               begin_params_axis=cell.begin_params_axis, epsilon=cell.epsilon)


def own_names(spec: ConvNeXtSpec | ZooSpec | AutoSpec, state: dict[str, Any], path: Path) -> dict[str, Any]:
    """MindSpore's networks have MindCV's names: the file's, as they are."""
    return state


def into(net: ms.nn.Cell, spec: ConvNeXtSpec | ZooSpec | AutoSpec, state: dict[str, Any],
         path: Path) -> dict[str, Any]:
    """A transformers repo of a family with a map (``spec.origin == "huggingface"``) under the names of MindCV's
    network, taken from the built network itself (a tensor MindCV computes for itself keeps its value).

    Raises:
        CheckpointError: tensors that do not fill MindCV's network exactly (each named).
    """
    if not (isinstance(spec, ZooSpec) and spec.origin == "huggingface"):
        return state
    from . import zoo_torch

    own = {p.name: p for p in net.get_parameters()}  # shapes, and the values MindCV computes itself: no copy
    named = {k: np.asarray(v) for k, v in state.items()}
    out, missing, unexpected = zoo_torch.to_mindcv(spec.name, named, own)
    if missing or unexpected:
        raise CheckpointError(path, f"the repo's tensors do not fill MindCV's {spec.name}", missing=missing,
                              unexpected=unexpected)
    return {k: v.asnumpy() if isinstance(v, ms.Parameter) else v for k, v in out.items()}


def parameter_shapes(net: ms.nn.Cell) -> dict[str, tuple[int, ...]]:
    if isinstance(net, ms_convnext.ConvNeXt):
        return ms_convnext.param_shapes(net)
    return {p.name: tuple(p.shape) for p in net.get_parameters()}


def read_ckpt(path: Path) -> dict[str, Any]:
    """name → ``mindspore.Parameter``; MindSpore's own reader (protobuf, with its CRC check when present).

    MindSpore refuses a file larger than the memory the kernel calls free, not counting the page cache it would
    give back: right after a large download, a 500 MB checkpoint is refused on a machine with gigabytes to spare.
    Then the file is read record by record by ``weights.ckpt`` (the same records, CRC checked the same way).
    """
    try:
        return dict(ms.load_checkpoint(str(path)))
    except (ValueError, RuntimeError, TypeError, OSError) as e:
        if isinstance(e, ValueError) and "available memory" in str(e):
            log.info("%s: MindSpore counts only free memory (%s); reading it record by record", path.name, e)
            return ckpt.read(path)
        raise CheckpointError(path, f"not a readable MindSpore checkpoint ({e})") from None


def _as_parameter(name: str, value: Any) -> ms.Parameter:
    if isinstance(value, ms.Parameter):
        return value
    arr = np.asarray(value)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return ms.Parameter(ms.Tensor(arr), name=name)


def assign(net: ms.nn.Cell, state: dict[str, Any], path: Path, *, fresh_head: bool) -> None:
    params = {k: _as_parameter(k, v) for k, v in state.items()}
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=True)
    # With a fresh head, the head is not in ``state`` (left out by name in ``backend.load_weights``): what counts
    # is a tensor given and not taken.
    not_loaded = [n for n in not_loaded if n in params] if fresh_head else list(not_loaded)
    if not_loaded:
        raise CheckpointError(path, "MindSpore did not load every parameter", missing=list(not_loaded))


def init_head(net: ms.nn.Cell, seed: int | None, head: str) -> None:
    """A ConvNeXt's classifier drawn again; MindCV's networks drew theirs as they were built (after ``seed``)."""
    if isinstance(net, ms_convnext.ConvNeXt):
        ms_convnext.init_classifier(net, seed=seed)


def finish(net: ms.nn.Cell, device: str) -> ms.nn.Cell:
    net.set_train(False)
    return net


def logits(net: ms.nn.Cell, batch: NDArray[Any]) -> NDArray[Any]:
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
