"""Which ConvNeXt a card describes, and the numerics its weights were trained with: worked out here, once, from
the card and its pulled files (:func:`spec_for`).

No framework import, so the CLI can tell a user that a card has no loader before it imports MindSpore. The
numerics differ by where the weights come from: MindCV trains with MindSpore's default tanh-approximated GELU
and ``pad_mode='same'`` convolutions; Facebook/Hugging Face weights use the exact erf GELU and PyTorch's
unpadded stem and downsample convolutions. Running weights with the other numerics gives logits off by up to
~1e-3, so the spec records both.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hub_client.weights.state import read_shapes
from registry.errors import CheckpointError, NoLoaderError
from registry.record import Dialect, ModelRecord

from .auto_spec import AutoSpec, auto_spec
from .labels import config_labels, labels_for_dataset
from .support import HF_MODEL_TYPES, VARIANTS, mentions_convnext, variant_name
from .zoo import ZooSpec, candidates, spec_for_arch, unrunnable
from .zoo import table as zoo_table

log = logging.getLogger("hub")

Gelu = Literal["tanh", "erf"]
PadMode = Literal["same", "valid"]
Origin = Literal["mindcv", "huggingface"]

_HF_GELU: dict[str, Gelu] = {"gelu": "erf", "gelu_python": "erf", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh",
                             "gelu_fast": "tanh"}


@dataclass(frozen=True)
class ConvNeXtSpec:
    """Everything needed to build the network and to run its weights with the numerics they were trained with."""

    name: str
    version: int
    depths: tuple[int, ...]
    dims: tuple[int, ...]
    num_classes: int = 1000
    in_channels: int = 3
    patch_size: int = 4
    gelu: Gelu = "tanh"
    pad_mode: PadMode = "same"
    #: eps of the LayerNorm after pooling; every other LayerNorm uses 1e-6.
    head_eps: float = 1e-6
    origin: Origin = "mindcv"
    labels: tuple[str, ...] | None = field(default=None, compare=False)
    #: What runs it, once loaded: the engine (``torch``, ``openvino``, ``mindspore``) and its precision.
    engine: str = field(default="", compare=False)
    precision: str = field(default="fp32", compare=False)

    def with_classes(self, num_classes: int) -> ConvNeXtSpec:
        return replace(self, num_classes=num_classes, labels=None)


#: What the loader builds: a ConvNeXt of its own, a network of MindCV's zoo, or a transformers image classifier.
NetSpec = ConvNeXtSpec | ZooSpec | AutoSpec


def supported() -> list[str]:
    """What the loader builds: the ConvNeXt variants by name, and MindCV's zoo."""
    return [*sorted(VARIANTS), f"the {len(zoo_table())} architectures of MindCV's zoo (MindSpore)",
            "transformers' image classifiers (PyTorch)"]


def spec_for_variant(name: str, *, num_classes: int = 1000, origin: Origin = "mindcv") -> ConvNeXtSpec:
    """The spec of a named variant with MindCV numerics (or Hugging Face numerics for ``origin='huggingface'``)."""
    depths, dims = VARIANTS[name]
    version = 2 if name.startswith("convnextv2") else 1
    if origin == "huggingface":
        return ConvNeXtSpec(name, version, depths, dims, num_classes, gelu="erf", pad_mode="valid", head_eps=1e-12,
                            origin=origin)
    return ConvNeXtSpec(name, version, depths, dims, num_classes)


def spec_for_record(record: ModelRecord) -> ConvNeXtSpec | None:
    """A MindSpore Hub card's variant, from its model name (then its title); None when no loader fits."""
    for text in (record.name, record.title, record.uid):
        found = variant_name(text)
        if found:
            return spec_for_variant(found)
    return None


def spec_from_hf_config(cfg: dict[str, Any], *, name: str = "") -> ConvNeXtSpec | None:
    """The spec a transformers ``config.json`` describes; None for another model type.

    Depths and widths come from the config, not a variant table, so fine-tuned and custom-width repos load
    too; the class names come from ``id2label`` in label-id order.
    """
    model_type = str(cfg.get("model_type", "")).lower()
    if model_type not in HF_MODEL_TYPES:
        return None
    version = 2 if model_type == "convnextv2" else 1
    depths = tuple(int(d) for d in cfg.get("depths", (3, 3, 9, 3)))
    dims = tuple(int(d) for d in cfg.get("hidden_sizes", (96, 192, 384, 768)))
    labels, num_classes = config_labels(cfg)
    act = str(cfg.get("hidden_act", "gelu"))
    if act not in _HF_GELU:
        raise ValueError(f"config.json hidden_act {act!r} is not a GELU this loader knows ({', '.join(_HF_GELU)})")
    if version == 1 and not float(cfg.get("layer_scale_init_value", 1e-6)) > 0:
        raise ValueError("config.json sets layer_scale_init_value <= 0 (no layer scale): not a layout this loader "
                         "builds")
    found = variant_by_shape(version, depths, dims) or variant_name(name)
    return ConvNeXtSpec(
        name=found or name or model_type, version=version, depths=depths, dims=dims, num_classes=num_classes,
        in_channels=int(cfg.get("num_channels", 3)), patch_size=int(cfg.get("patch_size", 4)),
        gelu=_HF_GELU[act], pad_mode="valid", head_eps=float(cfg.get("layer_norm_eps", 1e-12)),
        origin="huggingface", labels=labels)


def variant_by_shape(version: int, depths: tuple[int, ...], dims: tuple[int, ...]) -> str | None:
    prefix = "convnextv2_" if version == 2 else "convnext_"
    return next((n for n, v in VARIANTS.items() if n.startswith(prefix) and v == (depths, dims)), None)


def spec_from_shapes(shapes: dict[str, tuple[int, ...]], *, name: str) -> ConvNeXtSpec | None:
    """The ConvNeXt a MindCV-layout weights file holds (depths, widths, classes, v1/v2), read off its shapes.

    For cards that name a ConvNeXt of their own width (the MindSpore Hub schema has no field for it): the
    checkpoint is then the declaration, checked for internal consistency; MindCV numerics.
    """
    try:
        stem = shapes["feature.0.0.weight"]
        dims = [stem[0]]
        for part in (2, 4, 6):
            dims.append(shapes[f"feature.{part}.1.weight"][0])
        depths = []
        for part in (1, 3, 5, 7):
            blocks = {int(k.split(".")[2]) for k in shapes if k.startswith(f"feature.{part}.") and
                      k.endswith(".dwconv.weight")}
            if not blocks or blocks != set(range(len(blocks))):
                return None
            depths.append(len(blocks))
        num_classes = shapes["classifier.weight"][0]
    except (KeyError, IndexError):
        return None
    version = 2 if any(".grn." in k for k in shapes) else 1
    return ConvNeXtSpec(name=name, version=version, depths=tuple(depths), dims=tuple(int(d) for d in dims),
                        num_classes=int(num_classes), in_channels=int(stem[1]), patch_size=int(stem[2]))


def spec_for(record: ModelRecord, files: list[Path], weights: Path | None) -> NetSpec:
    """The network ``record`` and its pulled ``files`` describe, with class names where the card implies them.

    A Hugging Face repo says it in ``config.json``; a MindSpore Hub card by its model name (then its title),
    else, for a card that names a ConvNeXt of its own width, by the shapes in its checkpoint's headers; any other
    card of MindCV's zoo by its checkpoint's file name and its names (``zoo.candidates``).

    Raises:
        NoLoaderError: no ConvNeXt this loader builds; the error lists the pulled files, still usable by hand.
        CheckpointError: ``config.json`` is not readable JSON.
    """
    if record.dialect is Dialect.HUGGINGFACE:
        return _from_hf_repo(record, files)
    found: NetSpec | None = spec_for_record(record)
    if found is None and mentions_convnext(record) and weights is not None:
        found = _from_weights(weights, record.name)
    if found is None:
        found = _from_zoo(record, weights)
    if found is None:
        raise NoLoaderError(record.name, record.architecture or record.name, files, supported())
    return replace(found, labels=found.labels or labels_for_dataset(record.datasets, found.num_classes))


def _from_zoo(record: ModelRecord, weights: Path | None) -> ZooSpec | None:
    """A network of MindCV's zoo, with the classes and input channels its checkpoint's headers give."""
    names = candidates(record)
    if not names:
        return None
    why = unrunnable(names[0])
    if why is not None:
        raise NoLoaderError(record.name, f"MindCV's {names[0]}: {why}", [weights] if weights else [], supported())
    shapes = None
    if weights is not None:
        try:
            shapes = read_shapes(weights)
        except CheckpointError as e:
            log.info("cannot read the shapes of %s: %s", weights, e)  # the strict load names the problem
    return spec_for_arch(names[0], shapes, tuple(names[1:]))


def _from_hf_repo(record: ModelRecord, files: list[Path]) -> ConvNeXtSpec | AutoSpec:
    cfg_path = next((p for p in files if p.name == "config.json"), None)
    if cfg_path is None:
        raise NoLoaderError(record.name, "no config.json in the repo", files, supported())
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(cfg_path, f"not readable JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(cfg_path, "expected a JSON object")
    try:
        spec: ConvNeXtSpec | AutoSpec | None = spec_from_hf_config(cfg, name=record.uid or record.name)
        if spec is None:
            spec = auto_spec(cfg, cfg_path.parent, name=record.uid or record.name)
    except ValueError as e:
        raise NoLoaderError(record.name, f"{cfg_path}: {e}", files, supported()) from None
    if spec is None:
        raise NoLoaderError(record.name, f"model_type {cfg.get('model_type')!r}", files, supported())
    return spec


def _from_weights(path: Path, name: str) -> ConvNeXtSpec | None:
    """A custom-width ConvNeXt declared by its checkpoint's shapes (read off the headers, no framework)."""
    try:
        shapes = read_shapes(path)
    except CheckpointError as e:
        log.info("cannot read the architecture off %s: %s", path, e)
        return None  # the caller's NoLoaderError names the file
    return spec_from_shapes(shapes, name=name) if shapes is not None else None


def mindcv_shapes(spec: ConvNeXtSpec) -> dict[str, tuple[int, ...]]:
    """name → shape of every parameter of ``spec``'s network in MindCV's layout, in MindCV's order, worked out
    without a framework: what a checkpoint is checked against before it is converted."""
    d, p = spec.dims, spec.patch_size
    out: dict[str, tuple[int, ...]] = {"feature.0.0.weight": (d[0], spec.in_channels, p, p),
                                       "feature.0.0.bias": (d[0],), "feature.0.1.gamma": (d[0],),
                                       "feature.0.1.beta": (d[0],)}
    for i, depth in enumerate(spec.depths):
        if i:
            out |= {f"feature.{2 * i}.0.gamma": (d[i - 1],), f"feature.{2 * i}.0.beta": (d[i - 1],),
                    f"feature.{2 * i}.1.weight": (d[i], d[i - 1], 2, 2), f"feature.{2 * i}.1.bias": (d[i],)}
        for b in range(depth):
            pre = f"feature.{2 * i + 1}.{b}."
            if spec.version == 1:
                out[pre + "gamma_"] = (d[i],)
            out |= {pre + "dwconv.weight": (d[i], 1, 7, 7), pre + "dwconv.bias": (d[i],),
                    pre + "norm.gamma": (d[i],), pre + "norm.beta": (d[i],),
                    pre + "pwconv1.weight": (4 * d[i], d[i]), pre + "pwconv1.bias": (4 * d[i],)}
            if spec.version == 2:
                out |= {pre + "grn.gamma": (1, 1, 1, 4 * d[i]), pre + "grn.beta": (1, 1, 1, 4 * d[i])}
            out |= {pre + "pwconv2.weight": (d[i], 4 * d[i]), pre + "pwconv2.bias": (d[i],)}
    return out | {"norm.gamma": (d[-1],), "norm.beta": (d[-1],), "classifier.weight": (spec.num_classes, d[-1]),
                  "classifier.bias": (spec.num_classes,)}
