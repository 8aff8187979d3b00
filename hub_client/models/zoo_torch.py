"""MindCV's zoo on PyTorch: per family, transformers' network of the same structure and a name map from MindCV's
parameters to it, written once as data (``MAPS``, ``CONFIGS`` in ``zoo_maps``), with MindSpore's numerics where they
differ.

timm, the first choice, cannot be imported here (it imports torchvision, whose wheels are CUDA builds that fail
beside the CPU torch), so the networks are transformers' (no torchvision). Where MindSpore computes otherwise than
transformers' defaults, the network is told: MindCV's ResNet pools its stem with ``pad_mode="same"`` (the extra
row and column at the bottom and right, as TensorFlow; transformers pads both sides, so the pool gets
``same_pad``); MindCV's ViT and PoolFormer run MindSpore's GELU (the tanh approximation), the ViT MindSpore's
LayerNorm epsilon (1e-7) where transformers' has 1e-12; MindCV's MobileNets pad symmetrically with MindSpore's
BatchNorm epsilon (1e-5) where transformers' default to TensorFlow's ``same`` and 1e-3; MindCV's EfficientNet is
MindSpore's ``same`` at every stride 2, for any input size (transformers' pads right for even sizes only); MindCV's
BiT pads symmetrically where Google's pads TensorFlow's way. Each difference moves the logits past the tests' bound
(``tests/hub_client/models/test_zoo.py`` shows it per family).
"""

from __future__ import annotations

import math
import re
from typing import Any

from hub_client.models.zoo_maps import BN_NAMES, CONFIGS, FAMILIES, FLAT, MAPS

__all__ = ["CONFIGS", "MAPS", "build", "config_kwargs", "same_pad", "supports", "to_mindcv", "to_torch", "torch_name"]

_COMPILED = {family: [(re.compile(rf"^{p}$"), t) for p, t in rules] for family, rules in MAPS.items()}


def supports(arch: str) -> bool:
    """Whether MindCV's ``arch`` has a PyTorch network here."""
    return arch in CONFIGS


def torch_name(family: str, name: str, blocks: tuple[int, ...] = ()) -> str | tuple[str, ...] | None:
    """MindCV's parameter ``name`` as transformers' network of ``family`` calls it (several names: the tensor is
    split among them), ``blocks`` per stage where the family numbers its blocks across stages; None when no rule
    takes it."""
    for pattern, template in _COMPILED[family]:
        m = pattern.match(name)
        if m is None:
            continue
        bn = next((g for g in m.groups() if g in BN_NAMES), None)
        fill = {**m.groupdict(), "bn": BN_NAMES[bn] if bn else ""}
        if isinstance(template, tuple):
            return tuple(_fill(t, fill, blocks) for t in template)
        return _fill(template, fill, blocks)
    return None


_FIELD = re.compile(r"\{(?:(\d+)\*)?(\w+)(?:-(\d+))?(?::(\w+))?\}")


def _fill(template: str, groups: dict[str, str], blocks: tuple[int, ...] = ()) -> str:
    """``template`` with ``{g}`` replaced by the group ``g``, ``{g-4}`` by its number less 4, ``{2*g-6}`` by twice
    its number less 6, ``{s-3:b}`` by the group ``b`` plus the ``blocks`` of the stages before stage ``s-3``."""
    def value(field: re.Match[str]) -> str:
        times, name, less, within = field.groups()
        if times is None and less is None and within is None:
            return groups[name]
        number = int(times or 1) * int(groups[name]) - int(less or 0)
        return str(number if within is None else sum(blocks[:number]) + int(groups[within]))

    return _FIELD.sub(value, template)


def mindcv_head(arch: str) -> str | None:
    """The prefix of MindCV's classifier parameters for ``arch``, read off the map's rule for transformers'
    ``classifier`` (its pattern's literal start: ``head\\.fc\\.`` is ``head.fc.``); None when no rule names it."""
    for pattern, template in MAPS[CONFIGS[arch][0]]:
        if isinstance(template, str) and template.removeprefix(FLAT).startswith("classifier."):
            literal = re.match(r"(?:\w|\\\.)*", pattern)
            return literal.group(0).replace("\\.", ".") if literal else None
    return None


def to_torch(arch: str, state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``state`` (MindCV names) in transformers' names, and the names no rule of the family takes."""
    family, kw = CONFIGS[arch]
    blocks = tuple(kw.get("blocks", ()))
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in state.items():
        renamed = torch_name(family, name, blocks)
        if renamed is None:
            unknown.append(name)
        elif renamed == ():
            continue
        elif isinstance(renamed, tuple):
            part = value.shape[0] // len(renamed)
            out.update({n: value[i * part:(i + 1) * part] for i, n in enumerate(renamed)})
        elif renamed.startswith(FLAT):
            flat = getattr(value, "ndim", 0) > 2
            out[renamed.removeprefix(FLAT)] = value.reshape(value.shape[0], -1) if flat else value
        else:
            out[renamed] = value
    return out, unknown


def to_mindcv(arch: str, state: dict[str, Any], network: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """The inverse of :func:`to_torch`: transformers' tensors ``state`` under MindCV's names, in the order of
    ``network`` (MindCV's own parameters, name → value, which also give the shapes; a tensor transformers' network
    computes itself keeps MindCV's value). Also returns MindCV's names no tensor of ``state`` fills, and the
    tensors of ``state`` no MindCV name takes."""
    import numpy as np  # not at the top: ``hub list`` reads this module's table without numpy

    family, kw = CONFIGS[arch]
    blocks = tuple(kw.get("blocks", ()))
    out: dict[str, Any] = {}
    missing: list[str] = []
    used: set[str] = set()
    for name, own in network.items():
        theirs = torch_name(family, name, blocks)
        if theirs == ():
            out[name] = own
            continue
        parts = [t.removeprefix(FLAT) for t in (theirs if isinstance(theirs, tuple) else (theirs or "",))]
        found = [state[t] for t in parts if t in state]
        if not found or len(found) != len(parts):
            missing.append(name)
            continue
        used.update(parts)
        joined = found[0] if len(found) == 1 else np.concatenate(found, axis=0)
        flat = isinstance(theirs, str) and theirs.startswith(FLAT)  # as many rows as it has: a fresh head's differ
        out[name] = np.reshape(joined, (joined.shape[0], *own.shape[1:])) if flat else joined
    unexpected = [k for k in state if k not in used and not k.endswith("num_batches_tracked")]
    return out, missing, unexpected


def config_kwargs(arch: str) -> dict[str, Any]:
    """The keyword arguments of transformers' config for MindCV's ``arch``: its family's (``FAMILIES``: MindSpore's
    numerics where they differ from transformers' defaults) and its own (``CONFIGS``)."""
    family, kw = CONFIGS[arch]
    return {**FAMILIES[family].config, **{k: v for k, v in kw.items() if k != "blocks"}}


def build(arch: str, num_classes: int, in_channels: int) -> Any:
    """transformers' network for MindCV's ``arch``, computing as MindSpore does where MindCV's differs: the config
    says what it can; the family's patch changes the modules for what no config field says."""
    import transformers

    family = FAMILIES[CONFIGS[arch][0]]
    config: Any = getattr(transformers, f"{family.classes}Config")(num_channels=in_channels, **config_kwargs(arch))
    config.num_labels = num_classes
    model: Any = getattr(transformers, f"{family.classes}ForImageClassification")(config)
    patch = _PATCHES.get(CONFIGS[arch][0])
    if patch is not None:
        patch(model, config)
    model.eval()
    return model


def _resnet(model: Any, config: Any) -> None:
    """MindCV pools ResNet's stem with MindSpore's ``same`` padding (the extra row and column after)."""
    from torch import nn

    model.resnet.embedder.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=0)
    model.resnet.embedder.pooler.register_forward_pre_hook(same_pad)


def _pvt_v2(model: Any, config: Any) -> None:
    """MindCV's PVTv2 normalises its patch embeddings and spatial reductions with MindSpore's default epsilon
    1e-7 (its blocks with 1e-6, as transformers'); its overlapping patch embeddings are MindSpore's default ``same``
    convolutions (7x7 stride 4 pads 1 before and 2 after), not PyTorch's 3 and 3."""
    from torch import nn

    for name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm) and name.endswith(("patch_embedding.layer_norm", "attention.layer_norm")):
            module.eps = 1e-7
        if isinstance(module, nn.Conv2d) and name.endswith("patch_embedding.proj"):
            module.padding = (0, 0)
            module.register_forward_pre_hook(same_pad)


def _efficientnet(model: Any, config: Any) -> None:
    """MindSpore's ``same`` convolutions wherever the stride is 2, for any input size (transformers pads its stem and
    its strided depthwise convolutions one row and column after, which is the same only for even sizes)."""
    from torch import nn

    model.efficientnet.embeddings.padding = nn.Identity()
    model.efficientnet.embeddings.convolution.register_forward_pre_hook(same_pad)
    for block in model.efficientnet.encoder.blocks:
        if block.depthwise_conv.stride == 2:
            block.depthwise_conv.depthwise_conv_pad = nn.Identity()
            block.depthwise_conv.depthwise_conv.register_forward_pre_hook(same_pad)


def _swin_v2(model: Any, config: Any) -> None:
    """MindCV normalises Swin V2's patch embedding with epsilon 1e-6 (transformers' is fixed at 1e-5)."""
    model.swinv2.embeddings.norm.eps = 1e-6


def _mobilevit(model: Any, config: Any) -> None:
    """MindCV's MobileViT block projects its local features into the transformer with a 1x1 convolution followed by
    BatchNorm and SiLU, where transformers' has the bare convolution: that module is swapped for transformers' own
    convolution layer with both."""
    from transformers.models.mobilevit import modeling_mobilevit

    for stage in model.mobilevit.encoder.layer:
        if hasattr(stage, "conv_1x1"):
            bare = stage.conv_1x1.convolution
            stage.conv_1x1 = modeling_mobilevit.MobileViTConvLayer(config, bare.in_channels, bare.out_channels, 1)


def _bit(model: Any, config: Any) -> None:
    """MindCV standardises BiT's convolution weights with epsilon 1e-10, where transformers has 1e-8."""
    for module in model.modules():
        if type(module).__name__ == "WeightStandardizedConv2d":
            module.eps = 1e-10


#: Per family, what the network needs beyond its config to compute as MindCV's does.
_PATCHES = {"resnet": _resnet, "pvtv2": _pvt_v2, "efficientnet": _efficientnet, "swintransformerv2": _swin_v2,
            "mobilevit": _mobilevit, "bit": _bit}


def same_pad(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """MindSpore's ``pad_mode="same"`` for a pool or convolution without padding (a forward pre-hook): the output
    is ceil(size/stride) and the extra row and column go at the bottom and right. Zeros are a max pool's padding
    too where it follows a ReLU (ResNet's stem), so no window's maximum is below zero."""
    import torch.nn.functional as F

    x = args[0]
    k = module.kernel_size if isinstance(module.kernel_size, tuple) else (module.kernel_size,) * 2
    s = module.stride if isinstance(module.stride, tuple) else (module.stride,) * 2
    pads: list[int] = []
    for dim, kk, ss in ((x.shape[-1], k[1], s[1]), (x.shape[-2], k[0], s[0])):
        total = max((math.ceil(dim / ss) - 1) * ss + kk - dim, 0)
        pads += [total // 2, total - total // 2]
    return (F.pad(x, pads),) if any(pads) else args
