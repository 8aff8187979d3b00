"""One interface for the MindSpore and PyTorch backends, and the loading steps written once for both.

A backend module (``ms_backend``, ``torch_backend``) provides the framework-specific pieces of
:class:`Backend`; :func:`build_and_load` runs the same steps with any of them: build the network, read the
weights file into MindCV names, set training state aside, check every name and shape strictly, assign, and,
when the caller asks for another number of classes, keep a fresh head with one warning.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from numpy.typing import NDArray

from hub_client.weights import state as weights
from registry.errors import BackendUnavailableError, CheckpointError, UsageError

from .devices import Device, parse_device
from .spec import ConvNeXtSpec, NetSpec
from .zoo import ZooSpec

BACKENDS = ("auto", "mindspore", "torch", "openvino")
_MODULES = {"mindspore": "hub_client.models.ms_backend", "torch": "hub_client.models.torch_backend",
            "openvino": "hub_client.models.ov_backend"}
_EXTRAS = {"mindspore": ("MindSpore", "mindspore"), "torch": ("PyTorch", "torch"),
           "openvino": ("OpenVINO", "openvino")}


class Backend(Protocol):
    """What a backend module provides; the network type is the framework's own."""

    def select_device(self, device: Device) -> str:
        """Make ``device`` the one networks run on, or raise ``DeviceUnavailableError``; its name there."""

    def build(self, spec: NetSpec, *, init_weights: bool = True, seed: int | None = None,
              shapes: dict[str, tuple[int, ...]] | None = None) -> Any:
        """A network for ``spec`` in inference mode, initialised for training when ``init_weights``; ``shapes``
        (the weights file's) choose among the spec's alternative architectures, where it has any."""

    def own_names(self, spec: NetSpec, state: dict[str, Any], path: Path) -> dict[str, Any]:
        """The file's tensors (MindCV or transformers names) by the names this backend's network has."""

    def into(self, net: Any, spec: NetSpec, state: dict[str, Any], path: Path) -> dict[str, Any]:
        """``state`` by the names of the built ``net``, where only the network knows them (a transformers repo
        into MindCV's network, whose parameter list the names come from); as it is otherwise."""

    def parameter_shapes(self, net: Any) -> dict[str, tuple[int, ...]]:
        """Every parameter of ``net`` by its MindCV name, with its shape."""

    def read_ckpt(self, path: Path) -> dict[str, Any]:
        """A MindSpore ``.ckpt`` as name → tensor, by this backend's reader."""

    def assign(self, net: Any, state: dict[str, Any], path: Path, *, fresh_head: bool) -> None:
        """Put checked tensors (MindCV names) into ``net``; ``fresh_head`` leaves its classifier as built."""

    def init_head(self, net: Any, seed: int | None, head: str) -> None:
        """Draw a new classifier (``head``: its parameters' prefix) for fine-tuning, as the framework's training
        would."""

    def finish(self, net: Any, device: str) -> Any:
        """``net`` in inference mode on ``device``."""

    def logits(self, net: Any, batch: NDArray[Any]) -> NDArray[Any]:
        """Raw scores (N, classes) as float32 for a (N, C, H, W) float32 batch."""


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def pick_backend(backend: str, device: str) -> str:
    """``auto``: Ascend → MindSpore; a CPU → OpenVINO when installed (it builds ConvNeXt from the checkpoint's
    arrays, so it needs no PyTorch), else PyTorch; CUDA → PyTorch; MindSpore where nothing else is installed (its
    CPU kernels run ConvNeXt slowest: ``python -m bench.infer``). An explicit backend must be installed."""
    b = backend.strip().lower()
    if b not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    have_torch, have_ms = _installed("torch", "transformers"), _installed("mindspore")
    have_ov = _installed("openvino")
    if b == "torch" and not have_torch:
        raise BackendUnavailableError("PyTorch", "torch", "torch and transformers are needed")
    if b == "mindspore" and not have_ms:
        raise BackendUnavailableError("MindSpore", "mindspore")
    if b == "openvino" and not have_ov:
        raise BackendUnavailableError("OpenVINO", "openvino")
    kind = parse_device(device).kind
    if b == "openvino" and kind != "cpu":
        raise UsageError(f"the OpenVINO backend runs on the CPU here, not {device!r}: use backend='torch'")
    if b != "auto":
        return b
    if kind == "ascend":
        if not have_ms:
            raise BackendUnavailableError("MindSpore", "mindspore", "Ascend needs MindSpore")
        return "mindspore"
    if have_ov and kind == "cpu":
        return "openvino"
    if have_torch:
        return "torch"
    if have_ms:
        return "mindspore"
    raise BackendUnavailableError("any", ("torch", "mindspore"), "neither PyTorch nor MindSpore is installed")


def get_backend(name: str) -> Backend:
    """The backend module ``name`` (``mindspore`` or ``torch``), imported now; a broken install names the extra."""
    try:
        module: Backend = importlib.import_module(_MODULES[name])
    except ImportError as e:
        label, extra = _EXTRAS[name]
        raise BackendUnavailableError(label, extra, str(e)) from None
    return module


def head_of(spec: NetSpec) -> str:
    """The prefix of the classifier's parameters: what a fresh head leaves as built."""
    return "classifier." if isinstance(spec, ConvNeXtSpec) else spec.head


def own_head(backend: Backend, spec: NetSpec, path: Path) -> str:
    """``head_of(spec)`` in the backend's names: MindCV's ``head.`` of a ViT is ``classifier.`` in transformers'."""
    head = head_of(spec)
    try:
        [renamed] = backend.own_names(spec, {f"{head}weight": None}, path)
    except (CheckpointError, ValueError):  # no rule for it: the names are the file's
        return head
    return str(renamed).removesuffix("weight")


def read_weights(backend: Backend, spec: NetSpec, path: Path) -> tuple[dict[str, Any], list[str]]:
    """The weights of ``path`` by the network's names (a zoo checkpoint of another MindCV release in the pinned
    one's layout), and the training-state keys set aside.

    Raises:
        CheckpointError: the file cannot be read, or its split tensors do not join.
    """
    state = weights.read_state(path, backend.read_ckpt, rename=isinstance(spec, ConvNeXtSpec))
    if isinstance(spec, ZooSpec):
        from hub_client.weights.layouts import to_pinned

        try:
            state = to_pinned(spec.family, state)
        except ValueError as e:
            raise CheckpointError(path, str(e)) from None
    kept, ignored = weights.split_training_state(state)
    return backend.own_names(spec, kept, path), ignored


def load_weights(backend: Backend, net: Any, path: Path, *, fresh_head: bool = False, head: str = "classifier.",
                 state: dict[str, Any] | None = None) -> list[str]:
    """Load ``path`` into ``net`` strictly (``state``: its tensors, when already read); ``fresh_head`` leaves the
    ``head`` as built. Returns the training-state keys that were set aside (none when ``state`` is given).

    Raises:
        CheckpointError: the file cannot be read, or a name or shape does not fit the network (each one named).
    """
    ignored: list[str] = []
    if state is None:
        state, ignored = weights.split_training_state(weights.read_state(path, backend.read_ckpt))
    skip = (head,) if fresh_head else ()
    weights.check_fit(path, state, backend.parameter_shapes(net), skip_prefixes=skip)
    backend.assign(net, {k: v for k, v in state.items() if not (skip and k.startswith(skip))}, path,
                   fresh_head=fresh_head)
    return ignored


def build_and_load(backend: Backend, spec: NetSpec, path: Path | None, *, device: str,
                   num_classes: int | None = None, seed: int | None = None) -> tuple[Any, list[str], bool, str]:
    """The network of ``spec`` with the weights of ``path`` on ``device``: (network, set-aside keys, whether the
    head was re-drawn, the device's name in the framework). ``num_classes`` ≠ the file's re-draws the head."""
    used = backend.select_device(parse_device(device))
    reinit = num_classes is not None and num_classes != spec.num_classes
    target = spec.with_classes(num_classes) if reinit and num_classes is not None else spec
    state: dict[str, Any] = {}
    ignored: list[str] = []
    if path is not None:
        state, ignored = read_weights(backend, spec, path)
    shapes = {k: tuple(v.shape) for k, v in state.items()} if state else None
    net = backend.build(target, init_weights=path is None, seed=seed, shapes=shapes)
    if path is not None:
        state = backend.into(net, spec, state, path)
        head = own_head(backend, spec, path)
        load_weights(backend, net, path, state=state, head=head, fresh_head=reinit)
        if reinit:
            backend.init_head(net, seed, head)
            warnings.warn(f"{path.name} has a {spec.num_classes}-class head; the network was built with "
                          f"num_classes={num_classes} and its classifier re-initialised: fine-tune it before use",
                          stacklevel=3)
    return backend.finish(net, used), ignored, reinit, used


if TYPE_CHECKING:  # mypy checks that each backend module provides the whole interface
    from . import ms_backend, torch_backend

    _MINDSPORE: Backend = ms_backend
    _TORCH: Backend = torch_backend
