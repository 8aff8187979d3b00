"""MindCV's zoo on PyTorch: per family, transformers' network of the same structure and a name map from MindCV's
parameters to it, written once as data (``MAPS``, ``CONFIGS``), with MindSpore's numerics where they differ.

timm, the first choice, cannot be imported here (it imports torchvision, whose wheels are CUDA builds that fail
beside the CPU torch), so the networks are transformers' (no torchvision). MindCV's ResNet pools its stem with
``pad_mode="same"`` (the extra row and column at the bottom and right, as TensorFlow); transformers pads both
sides, so the pool is given MindSpore's padding (``same_pad``) or the logits move.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: MindSpore's BatchNorm names → PyTorch's.
_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_BN_LEAF = "(gamma|beta|moving_mean|moving_variance)"

#: Per MindCV family: (MindCV name pattern, transformers name template); ``{bn}`` is the BatchNorm leaf renamed,
#: ``{l}``/``{c}`` the numbered groups counted from 0 (MindCV counts layers and convolutions from 1).
MAPS: dict[str, list[tuple[str, str]]] = {
    "resnet": [
        (r"conv1\.weight", "resnet.embedder.embedder.convolution.weight"),
        (rf"bn1\.{_BN_LEAF}", "resnet.embedder.embedder.normalization.{bn}"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.conv(?P<c>\d)\.weight",
         "resnet.encoder.stages.{l}.layers.{b}.layer.{c}.convolution.weight"),
        (rf"layer(?P<l>\d)\.(?P<b>\d+)\.bn(?P<c>\d)\.{_BN_LEAF}",
         "resnet.encoder.stages.{l}.layers.{b}.layer.{c}.normalization.{bn}"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.down_sample\.0\.weight",
         "resnet.encoder.stages.{l}.layers.{b}.shortcut.convolution.weight"),
        (rf"layer(?P<l>\d)\.(?P<b>\d+)\.down_sample\.1\.{_BN_LEAF}",
         "resnet.encoder.stages.{l}.layers.{b}.shortcut.normalization.{bn}"),
        (r"classifier\.(?P<leaf>weight|bias)", "classifier.1.{leaf}"),
    ],
}
_BASIC = {"layer_type": "basic", "hidden_sizes": [64, 128, 256, 512]}
_BOTTLENECK = {"layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048]}
#: transformers' config of each architecture a map covers (its family is the key of ``MAPS``).
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet18": ("resnet", {"depths": [2, 2, 2, 2], **_BASIC}),
    "resnet34": ("resnet", {"depths": [3, 4, 6, 3], **_BASIC}),
    "resnet50": ("resnet", {"depths": [3, 4, 6, 3], **_BOTTLENECK}),
    "resnet101": ("resnet", {"depths": [3, 4, 23, 3], **_BOTTLENECK}),
    "resnet152": ("resnet", {"depths": [3, 8, 36, 3], **_BOTTLENECK}),
}
_COMPILED = {family: [(re.compile(rf"^{p}$"), t) for p, t in rules] for family, rules in MAPS.items()}


def supports(arch: str) -> bool:
    """Whether MindCV's ``arch`` has a PyTorch network here."""
    return arch in CONFIGS


def torch_name(family: str, name: str) -> str | None:
    """MindCV's parameter ``name`` as transformers' network of ``family`` calls it; None when no rule takes it."""
    for pattern, template in _COMPILED[family]:
        m = pattern.match(name)
        if m is None:
            continue
        parts = m.groupdict()
        for key in ("l", "c"):
            if key in parts:
                parts[key] = str(int(parts[key]) - 1)
        bn = next((g for g in m.groups() if g in _BN), None)
        return template.format(**parts, bn=_BN[bn] if bn else "")
    return None


def to_torch(arch: str, state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``state`` (MindCV names) in transformers' names, and the names no rule of the family takes."""
    family = CONFIGS[arch][0]
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in state.items():
        renamed = torch_name(family, name)
        if renamed is None:
            unknown.append(name)
        else:
            out[renamed] = value
    return out, unknown


def build(arch: str, num_classes: int, in_channels: int) -> Any:
    """transformers' network for MindCV's ``arch``, with MindSpore's ``same`` padding where MindCV uses it."""
    import transformers
    from torch import nn

    family, kw = CONFIGS[arch]
    config: Any = transformers.ResNetConfig(embedding_size=64, num_channels=in_channels, **kw)
    config.num_labels = num_classes
    model: Any = transformers.ResNetForImageClassification(config)
    model.resnet.embedder.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=0)
    model.resnet.embedder.pooler.register_forward_pre_hook(same_pad)
    model.eval()
    return model


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
