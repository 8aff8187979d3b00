"""``load_model``: a registry name to a framework-native network with the card's weights, ready for inference.

The card says which ConvNeXt (a MindSpore Hub card by its model name, a Hugging Face card by its repo's
``config.json``); the fetcher brings and verifies the files; a backend builds the network and loads the
weights strictly. Everything but the last step is framework-free, so :func:`model_info` answers without
importing MindSpore.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from registry.errors import BackendUnavailableError, CheckpointError, NoLoaderError, UsageError
from registry.record import Dialect

from . import architecture, preprocess
from .api import resolve
from .architecture import ConvNeXtSpec
from .datasets import labels_for_dataset, preprocess_for_dataset
from .fetcher import ProgressFactory, pull_record
from .labels import default_labels
from .preprocess import Preprocess
from .weights import pick_weights

log = logging.getLogger("hub")

BACKENDS = ("auto", "mindspore", "torch")


@dataclass
class ModelInfo:
    """What a loaded network is: its card, architecture, numerics, labels, preprocessing and files."""

    name: str
    card: str | None
    spec: ConvNeXtSpec
    labels: tuple[str, ...]
    preprocess: Preprocess
    files: list[Path] = field(default_factory=list)
    weights: Path | None = None
    claims: dict[str, float] = field(default_factory=dict)
    backend: str = ""
    device: str = ""
    ignored_keys: list[str] = field(default_factory=list)
    head_reinitialised: bool = False


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(path, f"not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(path, "expected a JSON object")
    return data


def _spec_from_weights(path: Path, name: str) -> ConvNeXtSpec | None:
    """A custom-width ConvNeXt declared by its checkpoint's shapes (read without any framework)."""
    try:
        if path.name.endswith(".ckpt"):
            from .ckpt import shapes as ckpt_shapes

            shapes = ckpt_shapes(path)
        elif path.name.endswith(".safetensors"):
            from .weights import safetensors_shapes

            shapes = safetensors_shapes(path)
        else:
            return None
    except CheckpointError as e:
        log.info("cannot read the architecture off %s: %s", path, e)
        return None  # the caller's NoLoaderError names the file
    return architecture.spec_from_shapes(shapes, name=name)


def model_info(name: str, *, pretrained: bool = True, progress: ProgressFactory | None = None) -> ModelInfo:
    """Resolve, pull (weights only when ``pretrained``), and work out the architecture; no framework import."""
    record = resolve(name)
    hf = record.dialect is Dialect.HUGGINGFACE
    files: list[Path] = []
    if pretrained or hf:
        files = pull_record(record, fmt=None if pretrained else "config", progress=progress)
    by_name = {p.name: p for p in files}
    wpath = pick_weights(files) if pretrained else None
    if hf:
        cfg_path = by_name.get("config.json")
        if cfg_path is None:
            raise NoLoaderError(record.name, "no config.json in the repo", files, architecture.supported())
        cfg = _read_json(cfg_path)
        try:
            spec = architecture.spec_from_hf_config(cfg, name=record.uid or record.name)
        except ValueError as e:
            raise NoLoaderError(record.name, f"{cfg_path}: {e}", files, architecture.supported()) from None
        if spec is None:
            raise NoLoaderError(record.name, f"model_type {cfg.get('model_type')!r}", files,
                                architecture.supported())
        pre_path = by_name.get("preprocessor_config.json")
        prep = preprocess.load_hf_preprocessor(pre_path) if pre_path else preprocess.Preprocess()
    else:
        found = architecture.spec_for_record(record)
        if found is None and architecture.mentions_convnext(record) and wpath is not None:
            found = _spec_from_weights(wpath, record.name)
        if found is None:
            raise NoLoaderError(record.name, record.architecture or record.name, files, architecture.supported())
        spec = replace(found, labels=found.labels or labels_for_dataset(record.datasets, found.num_classes))
        prep = preprocess_for_dataset(record.datasets)
    if pretrained and wpath is None:
        raise NoLoaderError(record.name, "no weights file among the pulled assets", files,
                            architecture.supported())
    claims = {m.name: float(m.value) for m in record.metrics if isinstance(m.value, (int, float))}
    return ModelInfo(name=record.name, card=record.card_path, spec=spec,
                     labels=spec.labels or default_labels(spec.num_classes), preprocess=prep, files=files,
                     weights=wpath, claims=claims)


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def pick_backend(backend: str, device: str) -> str:
    """``auto``: Ascend → MindSpore; CUDA and CPU → PyTorch when installed (its CPU kernels run ConvNeXt
    10-20x faster than MindSpore's here), else MindSpore. An explicit backend must be installed."""
    b = backend.strip().lower()
    if b not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    have_torch, have_ms = _installed("torch", "transformers"), _installed("mindspore")
    if b == "torch" and not have_torch:
        raise BackendUnavailableError("PyTorch", "torch", "torch and transformers are needed")
    if b == "mindspore" and not have_ms:
        raise BackendUnavailableError("MindSpore", "mindspore")
    if b != "auto":
        return b
    d = device.strip().lower()
    if d.startswith(("ascend", "npu")):
        if not have_ms:
            raise BackendUnavailableError("MindSpore", "mindspore", "Ascend needs MindSpore")
        return "mindspore"
    if have_torch:
        return "torch"
    if have_ms:
        return "mindspore"
    raise BackendUnavailableError("any", "torch] or hub[mindspore", "neither PyTorch nor MindSpore is installed")


def _mindspore(device: str) -> tuple[str, Any]:
    """Import the MindSpore half only now, and select the device; a missing install names the extra."""
    try:
        from . import msload
    except ImportError as e:
        raise BackendUnavailableError("MindSpore", "mindspore", str(e)) from None
    from .devices import use_mindspore

    return use_mindspore(device), msload


def load_model(name: str, *, device: str = "cpu", pretrained: bool = True, num_classes: int | None = None,
               backend: str = "auto", seed: int | None = None, progress: ProgressFactory | None = None) -> Any:
    """The network ``name`` names, with its card's weights, in inference mode on ``device``.

    ``backend``: ``mindspore`` returns a ``mindspore.nn.Cell``, ``torch`` a transformers
    ``ConvNext(V2)ForImageClassification``; ``auto`` picks the fastest installed for the device.

    ``num_classes`` other than the checkpoint's builds a fresh classifier (with a warning) for fine-tuning.
    The returned network carries ``hub_info`` (:class:`ModelInfo`): labels, preprocessing, numerics, files.
    """
    if num_classes is not None and num_classes < 1:
        raise UsageError(f"num_classes must be a positive integer, got {num_classes}")
    chosen = pick_backend(backend, device)
    info = model_info(name, pretrained=pretrained, progress=progress)
    net: Any
    if chosen == "torch":
        from . import torchnet

        net, ignored, reinit, used_device = torchnet.build_and_load(info.spec, info.weights, device=device,
                                                                    num_classes=num_classes, seed=seed)
    else:
        used_device, msload = _mindspore(device)
        net, ignored, reinit = msload.build_and_load(info.spec, info.weights, num_classes=num_classes, seed=seed)
    if ignored:
        log.info("set aside %d training-state entries of %s (optimizer moments, step counters)", len(ignored),
                 info.weights)
    if reinit and num_classes is not None:
        info.spec = info.spec.with_classes(num_classes)
        info.labels = default_labels(num_classes)
    info.backend, info.device, info.ignored_keys, info.head_reinitialised = chosen, used_device, ignored, reinit
    net.hub_info = info
    return net
