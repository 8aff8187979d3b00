"""A ConvNeXt written as a Hugging Face repo folder that transformers' own ``from_pretrained`` loads, with no
code of ours, and runs with the numerics the weights were trained with (a network of MindCV's zoo: ``zoo_repo``).

MindCV's numerics map onto transformers' config: its tanh GELU is ``gelu_pytorch_tanh`` and its final
LayerNorm eps (1e-6) is ``layer_norm_eps``; every other LayerNorm is 1e-6 in both. What transformers cannot
say is MindSpore's ``pad_mode='same'``: its convolutions never pad, so an input size at which MindCV's stem or
a downsample would pad is refused, naming the layer, rather than written as a model that gives other logits.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hub_client.models.spec import ConvNeXtSpec
from hub_client.models.zoo import ZooSpec
from hub_client.weights.naming import mindcv_to_hf
from registry.atomic import staged_dir
from registry.errors import ConversionError

from .output import Converted
from .readme import hf_readme
from .source import Source

_ACT = {"tanh": "gelu_pytorch_tanh", "erf": "gelu"}


def check_expressible(src: Source, image_size: int) -> None:
    """Refuse numerics transformers' ConvNeXt cannot express at ``image_size``.

    Raises:
        ConversionError: MindSpore's ``same`` padding would pad at this size (which layer, by how much).
    """
    spec = src.spec
    if not isinstance(spec, ConvNeXtSpec) or spec.pad_mode != "same":
        return
    size = image_size
    layers = [("the stem", spec.patch_size)] + [(f"the downsample before stage {i}", 2) for i in (1, 2, 3)]
    for where, stride in layers:
        pad = math.ceil(size / stride) * stride - size
        if pad:
            good = 32 * max(1, round(image_size / 32))
            raise ConversionError(src.label, f"at a {image_size}x{image_size} input MindSpore's pad_mode='same' pads "
                                  f"{where} by {pad} pixel(s) ({size} is not a multiple of {stride}), and "
                                  "transformers' ConvNeXt never pads: the converted model would give other logits. "
                                  f"Convert for an input size that is a multiple of {spec.patch_size * 8} "
                                  f"(e.g. {good})")
        size //= stride


def hf_config(spec: ConvNeXtSpec, labels: tuple[str, ...], image_size: int) -> dict[str, Any]:
    """transformers' ``ConvNextConfig``/``ConvNextV2Config`` for ``spec``, as ``config.json`` holds it."""
    v2 = spec.version == 2
    cfg: dict[str, Any] = {
        "architectures": ["ConvNextV2ForImageClassification" if v2 else "ConvNextForImageClassification"],
        "model_type": "convnextv2" if v2 else "convnext",
        "num_channels": spec.in_channels, "patch_size": spec.patch_size, "num_stages": len(spec.depths),
        "hidden_sizes": list(spec.dims), "depths": list(spec.depths), "hidden_act": _ACT[spec.gelu],
        "initializer_range": 0.02, "layer_norm_eps": spec.head_eps, "drop_path_rate": 0.0,
        "image_size": image_size, "num_labels": spec.num_classes,
        "id2label": {str(i): name for i, name in enumerate(labels)},
        "label2id": {name: i for i, name in enumerate(labels)},
    }
    if not v2:
        cfg["layer_scale_init_value"] = 1e-6
    if len(set(labels)) != len(labels):  # label2id cannot hold repeated names; id2label is what is read
        del cfg["label2id"]
    return cfg


def preprocessor_config(src: Source) -> dict[str, Any]:
    """``ConvNextImageProcessor`` settings that reproduce the preprocessing the weights were evaluated with."""
    pre = src.preprocess
    return {
        "image_processor_type": "ConvNextImageProcessor", "do_resize": True, "size": {"shortest_edge": pre.crop},
        "crop_pct": pre.crop_pct if pre.crop_pct else 1.0, "resample": pre.resample, "do_rescale": True,
        "rescale_factor": pre.rescale, "do_normalize": True, "image_mean": list(pre.mean),
        "image_std": list(pre.std),
    }


def readme(src: Source, spec: ConvNeXtSpec, name: str) -> str:
    """A model card with ``model-index`` from the source card's evaluation."""
    record = src.record
    metrics = [(m.name, float(m.value), m.dataset) for m in (record.metrics if record else [])
               if isinstance(m.value, (int, float))]
    origin = f"the {'MindSpore Hub' if spec.origin == 'mindcv' else 'Hugging Face'} checkpoint {src.label}"
    intro = (f"{record.summary + chr(10) * 2 if record and record.summary else ''}"
             f"ConvNeXt{' V2' if spec.version == 2 else ''} ({spec.name}) converted by hub (hub-registry) from "
             f"{origin}, with the numerics it was trained with: `hidden_act={_ACT[spec.gelu]}`, "
             f"`layer_norm_eps={spec.head_eps:g}`.")
    return hf_readme(name, license_id=record.license if record else None,
                     datasets=record.datasets if record else (), metrics=metrics,
                     tags=["convnextv2" if spec.version == 2 else "convnext", "hub-convert"], intro=intro)


def to_hf(src: Source, out: str | Path, *, name: str | None = None, image_size: int | None = None,
          overwrite: bool = False) -> Converted:
    """Write ``src`` as a Hugging Face repo folder at ``out``.

    Args:
        src: an opened source (:func:`hub_client.convert.open_source`).
        out: the folder to create; it must not exist (or be empty) unless ``overwrite``.
        name: the repo name the README uses (default: the folder's name).
        image_size: the input size the model will run at (default: the crop its preprocessing makes).
        overwrite: replace what ``out`` holds, once the new folder is complete.

    Returns:
        What was written, with notes.

    Raises:
        ConversionError: numerics transformers cannot express at ``image_size``.
        UsageError: ``out`` holds something and ``overwrite`` is False.
    """
    from safetensors.numpy import save_file

    out = Path(out)
    if isinstance(src.spec, ZooSpec):
        from . import zoo_repo

        return zoo_repo.to_hf(src, out, name=name, image_size=image_size, overwrite=overwrite,
                              processor=preprocessor_config(src))
    size = image_size or src.preprocess.crop
    check_expressible(src, size)
    tensors: dict[str, Any] = {}
    for key, value in src.state.items():
        target = mindcv_to_hf(key, src.spec.version)
        if target is None:  # open_source checked every key against the network: a naming rule is missing
            raise ConversionError(src.label, f"{key} has no transformers name")
        tensors[target] = np.ascontiguousarray(value)
    cfg = hf_config(src.spec, src.labels, size)
    with staged_dir(out, overwrite=overwrite) as stage:
        save_file(tensors, str(stage / "model.safetensors"), metadata={"format": "pt"})
        (stage / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        (stage / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(src), indent=2) + "\n",
                                                        encoding="utf-8")
        (stage / "README.md").write_text(readme(src, src.spec, name or out.name), encoding="utf-8")
        names = sorted(p.name for p in stage.iterdir())
        size_total = sum((stage / n).stat().st_size for n in names)
    notes = []
    if src.set_aside:
        notes.append(f"left out {len(src.set_aside)} training-state entries (optimizer moments, step counters)")
    return Converted(out, [out / n for n in names], size_total, notes)
