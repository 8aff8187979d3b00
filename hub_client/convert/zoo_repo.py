"""MindCV's zoo, for the families with a PyTorch map, written as a transformers repo folder and back.

To a repo: the tensors renamed by the family's map (``hub_client.models.zoo_torch``), checked against
transformers' network shape for shape, and the network's own config (MindSpore's GELU and epsilons where they
differ from transformers' defaults), so that ``AutoModelForImageClassification.from_pretrained`` alone gives
MindCV's logits. A family whose MindSpore numerics no config field can say (ResNet's ``same``-padded stem pool,
...) is refused, naming what differs, rather than written as a repo that computes other logits.

Back to MindSpore: the repo's architecture from ``mindcv_architecture`` (written here) or its config's structure,
the tensors under the names of MindCV's own network, in its order, so that ``mindcv.create_model`` loads the file
strictly. Both need the frameworks: transformers (PyTorch) to a repo, MindCV (MindSpore) back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hub_client.models import hf_names, zoo, zoo_hf, zoo_torch
from hub_client.models.preprocess import Preprocess, load_hf_preprocessor, mindcv_default
from hub_client.models.zoo import ZooSpec
from hub_client.models.zoo_maps import CONFIGS, NOT_IN_CONFIG, NUMERICS
from hub_client.weights.state import pick_weights, read_state
from registry.atomic import staged_dir
from registry.errors import CheckpointError, ConversionError

from .output import Converted
from .readme import hf_readme


def checkpoint_spec(path: Path, shapes: dict[str, tuple[int, ...]]) -> ZooSpec | None:
    """The MindCV architecture a ``.ckpt`` holds, by its file name as MindCV and MindSpore Hub name them
    (``resnet50-e0733ab8.ckpt``), with its classes read off its headers; None when the name is no architecture
    with a PyTorch map."""
    arch = zoo.arch_named(zoo.asset_stem(path.name))
    if arch is None or not zoo_torch.supports(arch):
        return None
    return zoo.spec_for_arch(arch, shapes)


def default_preprocess(spec: ZooSpec) -> Preprocess:
    return mindcv_default(spec.image_size) if spec.num_classes == 1000 else Preprocess(crop=spec.image_size)


def config_gap(spec: ZooSpec, image_size: int) -> str | None:
    """Why transformers, built from the config alone, would compute otherwise than MindCV at ``image_size``."""
    family = CONFIGS[spec.name][0]
    if family in NOT_IN_CONFIG:
        return NOT_IN_CONFIG[family]
    if family == "efficientnet" and image_size % 32:
        return (f"at a {image_size}x{image_size} input MindSpore's pad_mode='same' pads EfficientNet's strided "
                "convolutions on both sides somewhere, and transformers' pads one row and column after; convert "
                f"for an input size that is a multiple of 32 (e.g. {32 * max(1, round(image_size / 32))})")
    return None


def hf_config(model: Any, spec: ZooSpec, labels: tuple[str, ...], image_size: int) -> dict[str, Any]:
    """The config of ``model`` (the network the loader builds for ``spec``) as ``config.json`` holds it."""
    cfg: dict[str, Any] = model.config.to_dict()
    cfg.update(architectures=[type(model).__name__], id2label={str(i): n for i, n in enumerate(labels)},
               label2id={n: i for i, n in enumerate(labels)}, **{zoo_hf.ARCH_KEY: spec.name})
    if "image_size" in cfg and CONFIGS[spec.name][0] not in ("vit", "swintransformer", "swintransformerv2"):
        cfg["image_size"] = image_size  # a size the network takes at any value (ViT and Swin fix theirs)
    if len(set(labels)) != len(labels):
        del cfg["label2id"]
    for key in ("transformers_version", "_name_or_path", "dtype", "torch_dtype"):
        cfg.pop(key, None)
    return cfg


def to_hf(src: Any, out: Path, *, name: str | None, image_size: int | None, overwrite: bool,
          processor: dict[str, Any]) -> Converted:
    """Write the zoo checkpoint ``src`` (a ``convert.Source``) as a transformers repo folder at ``out``, with
    ``processor`` as its ``preprocessor_config.json``.

    Raises:
        ConversionError: numerics transformers' config cannot say, or a tensor with no place in its network.
    """
    from safetensors.numpy import save_file

    spec: ZooSpec = src.spec
    size = image_size or src.preprocess.crop
    gap = config_gap(spec, size)
    if gap:
        raise ConversionError(src.label, f"{gap}: a repo transformers loads from its config alone would give other "
                              "logits; load the checkpoint as it is with load_model (backend='torch' runs it on "
                              "PyTorch with MindSpore's numerics)")
    tensors, unknown = zoo_torch.to_torch(spec.name, src.state)  # the Hub's names, as the repo holds them
    model = meta_network(spec)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    placed = hf_names.to_model(model, tensors, src.weights)
    wrong = [(k, tuple(v.shape), expected[k]) for k, v in placed.items() if k in expected and
             tuple(v.shape) != expected[k]]
    if unknown or wrong or set(placed) != set(expected):
        raise CheckpointError(src.weights, f"does not fit transformers' network for {spec.name}",
                              missing=sorted(set(expected) - set(placed)),
                              unexpected=unknown + sorted(set(placed) - set(expected)), mismatched=wrong)
    cfg = hf_config(model, spec, src.labels, size)
    intro = (f"MindCV's {spec.name} converted by hub (hub-registry) from {src.label}, with the numerics it was "
             f"trained with ({', '.join(f'`{k}={cfg[k]}`' for k in NUMERICS if k in cfg)}).")
    record = src.record
    metrics = [(m.name, float(m.value), m.dataset) for m in (record.metrics if record else [])
               if isinstance(m.value, (int, float))]
    text = hf_readme(name or out.name, license_id=record.license if record else None,
                     datasets=record.datasets if record else (), metrics=metrics,
                     tags=[cfg["model_type"], "mindcv", "hub-convert"], intro=intro)
    with staged_dir(out, overwrite=overwrite) as stage:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(stage / "model.safetensors"),
                  metadata={"format": "pt"})
        (stage / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
        (stage / "preprocessor_config.json").write_text(json.dumps(processor, indent=2) + "\n",
                                                        encoding="utf-8")
        (stage / "README.md").write_text(text, encoding="utf-8")
        names = sorted(p.name for p in stage.iterdir())
        total = sum((stage / n).stat().st_size for n in names)
    notes = [f"left out {len(src.set_aside)} training-state entries (optimizer moments, step counters)"
             ] if src.set_aside else []
    approximate = zoo_hf.approximation(spec.name)
    if approximate:
        notes.append(f"{approximate}, which no config field sets: the logits differ slightly from MindCV's (within "
                     "1e-4 of the largest)")
    return Converted(out, [out / n for n in names], total, notes)


def meta_network(spec: ZooSpec) -> Any:
    """transformers' network for ``spec``, built on the meta device (no memory, no draws)."""
    import torch

    with torch.device("meta"):
        return zoo_torch.build(spec.name, spec.num_classes, spec.in_channels)


def folder_spec(folder: Path, cfg: dict[str, Any]) -> ZooSpec | None:
    """The zoo spec of a transformers repo folder, its classes and labels from ``id2label``; None when no
    architecture with a map fits its config."""
    from hub_client.models.labels import config_labels

    arch = zoo_hf.arch_for_config(cfg)
    if arch is None:
        return None
    labels, num_classes = config_labels(cfg)
    base = zoo.spec_for_arch(arch)
    return ZooSpec(name=arch, family=base.family, num_classes=num_classes, in_channels=int(cfg.get("num_channels", 3)),
                   head=base.head, image_size=base.image_size, origin="huggingface", labels=labels)


def folder_preprocess(folder: Path, spec: ZooSpec) -> Preprocess:
    pre = folder / "preprocessor_config.json"
    return load_hf_preprocessor(pre) if pre.is_file() else default_preprocess(spec)


def numerics_notes(spec: ZooSpec, cfg: dict[str, Any]) -> list[str]:
    """Where the repo says other numerics than MindCV's network computes (a repo MindCV did not write)."""
    gaps = zoo_hf.numerics_gaps(spec.name, cfg)
    return [f"{gap}: MindSpore's logits will differ from the repo's own" for gap in gaps]


def folder_state(folder: Path, spec: ZooSpec) -> tuple[Path, dict[str, Any]]:
    """The repo's tensors under MindCV's names, in the order of MindCV's own network (built with MindCV, which
    needs MindSpore).

    Raises:
        CheckpointError: no weights file, or tensors that do not fill MindCV's network exactly.
    """
    weights = pick_weights(sorted(p for p in folder.iterdir() if p.is_file()))
    if weights is None:
        raise ConversionError(folder, "no weights file (model.safetensors or pytorch_model.bin)")
    state = read_state(weights, rename=False)
    network = mindcv_network(spec)
    out, missing, unexpected = zoo_torch.to_mindcv(spec.name, state, network)
    wrong = [(k, tuple(np.shape(v)), tuple(network[k].shape)) for k, v in out.items()
             if tuple(np.shape(v)) != tuple(network[k].shape)]
    if missing or unexpected or wrong:
        raise CheckpointError(weights, f"does not fill MindCV's {spec.name}", missing=missing, unexpected=unexpected,
                              mismatched=wrong)
    return weights, out


def mindcv_network(spec: ZooSpec) -> dict[str, Any]:
    """MindCV's network for ``spec``: its parameters, name → value, in its own order."""
    try:
        import mindcv
    except ImportError:
        from registry.about import install_hint

        raise ConversionError(spec.name, "writing MindCV's layout builds MindCV's own network, and MindCV is not "
                              f"installed: {install_hint('mindspore')}") from None

    net = mindcv.create_model(spec.name, pretrained=False, num_classes=spec.num_classes,
                              in_channels=spec.in_channels)
    return {p.name: p.asnumpy() for p in net.get_parameters()}
