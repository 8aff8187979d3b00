"""What ``hub convert`` reads: a registry name, a MindCV ``.ckpt`` file or a Hugging Face repo folder, opened
into one :class:`Source` (the network, the numerics its weights were trained with, the weights in MindCV
naming, checked strictly against that network, and the card when there is one): a ConvNeXt, or a network of
MindCV's zoo whose family has a PyTorch map (``zoo_repo``).

A ConvNeXt is read without a framework: ``.ckpt`` by the protobuf reader, safetensors by its numpy reader. A zoo
network is checked against transformers' network (PyTorch) or renamed into MindCV's (MindSpore).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from hub_client.models import zoo_torch
from hub_client.models.labels import default_labels
from hub_client.models.preprocess import Preprocess, load_hf_preprocessor, mindcv_imagenet
from hub_client.models.spec import (
    ConvNeXtSpec,
    mindcv_shapes,
    spec_from_hf_config,
    spec_from_shapes,
    variant_by_shape,
)
from hub_client.models.zoo import ZooSpec
from hub_client.weights.state import check_fit, pick_weights, read_shapes, read_state, split_training_state
from registry.errors import CheckpointError, ConversionError, HubError, NoLoaderError
from registry.record import ModelRecord
from registry.settings import Settings, or_env

log = logging.getLogger("hub")


@dataclass
class Source:
    """A checkpoint ready to be written out: ``state`` is in MindCV naming and fits ``spec`` exactly."""

    label: str
    spec: ConvNeXtSpec | ZooSpec
    weights: Path
    state: dict[str, NDArray[Any]]
    preprocess: Preprocess
    record: ModelRecord | None = None
    #: Training state MindSpore saved beside the weights (optimizer moments, step counters), left out.
    set_aside: list[str] = field(default_factory=list)
    #: What a user must know of the source's numerics once converted.
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels or default_labels(self.spec.num_classes)


def open_source(source: str | Path, *, progress: Any = None, settings: Settings | None = None) -> Source:
    """Open what ``source`` names: an existing folder (a Hugging Face repo), an existing ``.ckpt`` file, or
    else a registry name (pulled and verified first, with ``settings``; None reads the environment).

    Raises:
        ConversionError: neither a ConvNeXt nor a zoo network with a PyTorch map, or a file that does not say its
            numerics.
        CheckpointError: the weights are unreadable or do not fit the network (each key named).
        and every error of ``hub_client.pull`` for a registry name.
    """
    path = Path(source)
    if path.is_dir():
        src = _hf_folder(path)
    elif path.is_file():
        src = _weights_file(path)
    else:
        src = _registry_name(str(source), progress, or_env(settings))
    if src.state:  # a zoo repo's tensors, already under MindCV's names
        return src
    if isinstance(src.spec, ZooSpec):  # checked against the network it is written for
        state, set_aside = split_training_state(read_state(src.weights, rename=False))
        return replace(src, state=state, set_aside=set_aside)
    state, set_aside = split_training_state(read_state(src.weights))
    check_fit(src.weights, state, mindcv_shapes(src.spec))
    return replace(src, state=state, set_aside=set_aside)


def repo_spec(folder: Path) -> ConvNeXtSpec:
    """The ConvNeXt a Hugging Face repo folder's ``config.json`` describes.

    Raises:
        ConversionError: no ``config.json``, an unreadable one, or another model type.
    """
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise ConversionError(folder, "a folder is read as a Hugging Face repo, and it has no config.json")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        spec = spec_from_hf_config(cfg, name=folder.name) if isinstance(cfg, dict) else None
    except ValueError as e:
        raise ConversionError(cfg_path, str(e)) from None
    if spec is None:
        raise ConversionError(cfg_path, f"model_type {cfg.get('model_type') if isinstance(cfg, dict) else None!r} "
                              "is not a ConvNeXt (convnext or convnextv2)")
    return spec


def checkpoint_spec(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> ConvNeXtSpec:
    """The ConvNeXt a MindCV ``.ckpt`` holds, read off its record headers (``shapes``, when already read; no
    tensor byte is read).

    Raises:
        ConversionError: not a ConvNeXt in MindCV's layout (its first tensor names are given).
    """
    shapes = shapes if shapes is not None else read_shapes(path) or {}
    spec = spec_from_shapes(shapes, name=path.stem)
    if spec is None:
        names = ", ".join(list(shapes)[:4]) or "none"
        raise ConversionError(path, f"not a ConvNeXt in MindCV's layout (its first tensors: {names}); hub converts "
                              "ConvNeXt v1 and v2 checkpoints")
    return replace(spec, name=variant_by_shape(spec.version, spec.depths, spec.dims) or spec.name)


def _hf_folder(folder: Path) -> Source:
    zoo = _zoo_folder(folder)
    if zoo is not None:
        return zoo
    spec = repo_spec(folder)
    weights = pick_weights(sorted(p for p in folder.iterdir() if p.is_file()))
    if weights is None:
        raise ConversionError(folder, "no weights file (model.safetensors, *.ckpt or pytorch_model.bin)")
    pre_path = folder / "preprocessor_config.json"
    preprocess = load_hf_preprocessor(pre_path) if pre_path.is_file() else Preprocess()
    return Source(str(folder), spec, weights, {}, preprocess, _card(folder / "README.md"))


def _zoo_folder(folder: Path) -> Source | None:
    """A transformers repo of a MindCV family with a map, its tensors under MindCV's names; None for another."""
    from . import zoo_repo

    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # repo_spec says what is wrong with it
    spec = zoo_repo.folder_spec(folder, cfg) if isinstance(cfg, dict) else None
    if spec is None:
        return None
    weights, state = zoo_repo.folder_state(folder, spec)
    src = Source(str(folder), spec, weights, state, zoo_repo.folder_preprocess(folder, spec),
                 _card(folder / "README.md"))
    src.notes.extend(zoo_repo.numerics_notes(spec, cfg))
    return src


def _card(path: Path) -> ModelRecord | None:
    if not path.is_file():
        return None
    from registry.card.analyze import load_card

    try:
        return load_card(path)
    except HubError as e:  # the card is a courtesy here: the weights and config say what is converted
        log.info("the repo's README is not a card this reads (%s); converting without its metadata", e)
        return None


def _weights_file(path: Path) -> Source:
    if not path.name.lower().endswith(".ckpt"):
        raise ConversionError(path, "a single file is read as a MindCV checkpoint (.ckpt); for a Hugging Face "
                              "repo give its folder, whose config.json says the numerics of its weights")
    shapes = read_shapes(path) or {}
    if spec_from_shapes(shapes, name=path.stem) is None:  # no ConvNeXt: a network of MindCV's zoo, by its name?
        from . import zoo_repo

        zoo = zoo_repo.checkpoint_spec(path, shapes)
        if zoo is not None:
            return Source(str(path), zoo, path, {}, zoo_repo.default_preprocess(zoo))
    spec = checkpoint_spec(path, shapes)
    preprocess = mindcv_imagenet() if spec.num_classes == 1000 else Preprocess()
    return Source(str(path), spec, path, {}, preprocess)


def _registry_name(name: str, progress: Any, settings: Settings) -> Source:
    from hub_client.fetch.pull import resolve
    from hub_client.models.loader import model_info

    try:
        info = model_info(name, progress=progress, settings=settings)
    except NoLoaderError as e:
        raise ConversionError(name, f"{e}") from None
    if info.weights is None:  # model_info raises first; kept for the type checker
        raise CheckpointError(name, "no weights were pulled")
    if isinstance(info.spec, ZooSpec) and not zoo_torch.supports(info.spec.name):
        raise ConversionError(name, f"MindCV's {info.spec.name} has no PyTorch network here, so hub convert cannot "
                              "write it for transformers; the checkpoint loads as it is with load_model")
    if not isinstance(info.spec, (ConvNeXtSpec, ZooSpec)):
        raise ConversionError(name, f"{info.spec.name} is neither a ConvNeXt nor a network of MindCV's zoo with a "
                              "PyTorch map: hub convert does not write it; it loads as it is with load_model")
    return Source(name, info.spec, info.weights, {}, info.preprocess, resolve(name, settings=settings))
