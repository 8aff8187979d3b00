"""``load_model``: a registry name to a framework-native network with the card's weights, ready for inference.

The steps, written once for every model: resolve the name, pull and verify the files, work out the network
(``spec.spec_for``), its labels and preprocessing, then a backend builds it and loads the weights strictly
(``backend.build_and_load``). Everything but the last step is framework-free, so :func:`model_info` answers
without importing MindSpore or PyTorch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub_client.fetch.pull import ProgressFactory, pull_record, resolve
from hub_client.weights.state import pick_weights
from registry.errors import CheckpointError, DamagedFileError, NoLoaderError, UsageError
from registry.record import Dialect

from .backend import build_and_load, get_backend, pick_backend
from .labels import default_labels
from .preprocess import Preprocess, preprocess_for
from .spec import ConvNeXtSpec, spec_for, supported

log = logging.getLogger("hub")


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
    #: The card's top-1 accuracy in percent and the metric it came from (``ModelRecord.top1``).
    top1_claim: tuple[float, str] | None = None
    backend: str = ""
    device: str = ""
    ignored_keys: list[str] = field(default_factory=list)
    head_reinitialised: bool = False


def model_info(name: str, *, pretrained: bool = True, progress: ProgressFactory | None = None) -> ModelInfo:
    """Resolve, pull, and work out the network, its labels and its preprocessing, without a framework import.

    Args:
        name: a model name, ``name@version``, a MindSpore Hub uid, or ``hf:org/repo``.
        pretrained: pull the weights too (a Hugging Face repo's configuration is pulled either way).
        progress: a factory of per-transfer progress sinks.

    Returns:
        The :class:`ModelInfo` ``load_model`` builds from.

    Raises:
        NoLoaderError: the card describes no network this loader builds, or no weights were pulled.
        and every error of ``hub_client.pull``.
    """
    record = resolve(name)
    files: list[Path] = []
    if pretrained or record.dialect is Dialect.HUGGINGFACE:
        files = pull_record(record, fmt=None if pretrained else "config", progress=progress)
    wpath = pick_weights(files) if pretrained else None
    spec = spec_for(record, files, wpath)
    if pretrained and wpath is None:
        raise NoLoaderError(record.name, "no weights file among the pulled assets", files, supported())
    return ModelInfo(name=record.name, card=record.card_path, spec=spec,
                     labels=spec.labels or default_labels(spec.num_classes), preprocess=preprocess_for(record, files),
                     files=files, weights=wpath, claims=record.numeric_metrics(), top1_claim=record.top1())


def _name_the_damage(error: CheckpointError, name: str) -> None:
    """A weights file that will not load may be a cached file damaged since it was verified: hash it, and when it
    no longer matches its address, say that (and the cure) instead of blaming the card or the network."""
    from hub_client.fetch.cache import damage

    found = damage(Path(error.path))
    if found is not None:
        what, expected, actual = found
        problem = str(error).removeprefix(f"{error.path}: ").split("; ")[0]
        raise DamagedFileError(error.path, expected=expected, actual=actual, what=what, name=name,
                               problem=problem) from error


def load_model(name: str, *, device: str = "cpu", pretrained: bool = True, num_classes: int | None = None,
               backend: str = "auto", seed: int | None = None, progress: ProgressFactory | None = None) -> Any:
    """The network ``name`` names, with its card's weights, in inference mode on ``device``.

    Args:
        name: a model name, ``name@version``, a MindSpore Hub uid, or ``hf:org/repo``.
        device: ``cpu``, ``cuda[:N]`` (or ``gpu``), ``ascend[:N]``.
        pretrained: load the card's weights; False builds a freshly initialised network and downloads no weights.
        num_classes: another number of classes than the checkpoint's builds a fresh classifier (with a warning),
            for fine-tuning.
        backend: ``mindspore`` returns a ``mindspore.nn.Cell``, ``torch`` a transformers
            ``ConvNext(V2)ForImageClassification``; ``auto`` picks the fastest installed for the device.
        seed: makes a fresh initialisation repeatable.
        progress: a factory of per-transfer progress sinks.

    Returns:
        The network, carrying ``hub_info`` (:class:`ModelInfo`): labels, preprocessing, numerics, files.

    Raises:
        UsageError: a bad ``num_classes``, backend or device name.
        BackendUnavailableError: the backend's framework is not installed.
        DeviceUnavailableError: the device is not here (``available`` lists those that are).
        CheckpointError: the weights file is unreadable or does not fit the network (each key named).
        DamagedFileError: the cached weights changed on disk since they were verified (the next pull re-fetches).
        NoLoaderError: the card describes no network this loader builds.
        and every error of ``hub_client.pull``.
    """
    if num_classes is not None and num_classes < 1:
        raise UsageError(f"num_classes must be a positive integer, got {num_classes}")
    chosen = pick_backend(backend, device)
    try:
        info = model_info(name, pretrained=pretrained, progress=progress)
        net, ignored, reinit, used_device = build_and_load(get_backend(chosen), info.spec, info.weights,
                                                           device=device, num_classes=num_classes, seed=seed)
    except CheckpointError as e:
        _name_the_damage(e, name)
        raise
    if ignored:
        log.info("set aside %d training-state entries of %s (optimizer moments, step counters)", len(ignored),
                 info.weights)
    if reinit and num_classes is not None:
        info.spec = info.spec.with_classes(num_classes)
        info.labels = default_labels(num_classes)
    info.backend, info.device, info.ignored_keys, info.head_reinitialised = chosen, used_device, ignored, reinit
    net.hub_info = info
    return net
