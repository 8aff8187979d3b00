"""MindCV's zoo on PyTorch: per family, transformers' network of the same structure and a name map from MindCV's
parameters to it, written once as data (``MAPS``, ``CONFIGS``), with MindSpore's numerics where they differ.

timm, the first choice, cannot be imported here (it imports torchvision, whose wheels are CUDA builds that fail
beside the CPU torch), so the networks are transformers' (no torchvision). Where MindSpore computes otherwise than
transformers' defaults, the network is told: MindCV's ResNet pools its stem with ``pad_mode="same"`` (the extra
row and column at the bottom and right, as TensorFlow; transformers pads both sides, so the pool gets
``same_pad``); MindCV's ViT runs MindSpore's GELU (the tanh approximation) and LayerNorm epsilon (1e-7) where
transformers' ViT has the exact GELU and 1e-12. Each difference moves the logits past the tests' bound.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: MindSpore's BatchNorm names → PyTorch's.
_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_BN_LEAF = "(gamma|beta|moving_mean|moving_variance)"

_LN_LEAF = "(gamma|beta)"

#: Per MindCV family: (MindCV name pattern, transformers name template); ``{bn}`` is the BatchNorm or LayerNorm
#: leaf renamed, ``{l}``/``{c}`` the numbered groups counted from 0 (MindCV counts layers and convolutions from 1).
#: A tuple of templates splits the tensor into that many equal parts along its first axis (ViT's joined
#: ``qkv`` projection is transformers' ``q_proj``, ``k_proj``, ``v_proj``, in that order).
MAPS: dict[str, list[tuple[str, str | tuple[str, ...]]]] = {
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
    "vit": [
        (r"cls_token", "vit.embeddings.cls_token"),
        (r"pos_embed", "vit.embeddings.position_embeddings"),
        (r"patch_embed\.proj\.(?P<leaf>weight|bias)", "vit.embeddings.patch_embeddings.projection.{leaf}"),
        (rf"blocks\.(?P<b>\d+)\.norm1\.{_LN_LEAF}", "vit.layers.{b}.layernorm_before.{bn}"),
        (r"blocks\.(?P<b>\d+)\.attn\.qkv\.(?P<leaf>weight|bias)",
         tuple(f"vit.layers.{{b}}.attention.{x}_proj.{{leaf}}" for x in "qkv")),
        (r"blocks\.(?P<b>\d+)\.attn\.proj\.(?P<leaf>weight|bias)", "vit.layers.{b}.attention.o_proj.{leaf}"),
        (rf"blocks\.(?P<b>\d+)\.norm2\.{_LN_LEAF}", "vit.layers.{b}.layernorm_after.{bn}"),
        (r"blocks\.(?P<b>\d+)\.mlp\.(?P<fc>fc[12])\.(?P<leaf>weight|bias)", "vit.layers.{b}.mlp.{fc}.{leaf}"),
        (rf"norm\.{_LN_LEAF}", "vit.layernorm.{bn}"),
        (r"head\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
}
_BASIC = {"layer_type": "basic", "hidden_sizes": [64, 128, 256, 512]}
_BOTTLENECK = {"layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048]}
_VIT = {"b": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
        "l": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}}
#: transformers' config of each architecture a map covers (its family is the key of ``MAPS``).
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet18": ("resnet", {"depths": [2, 2, 2, 2], **_BASIC}),
    "resnet34": ("resnet", {"depths": [3, 4, 6, 3], **_BASIC}),
    "resnet50": ("resnet", {"depths": [3, 4, 6, 3], **_BOTTLENECK}),
    "resnet101": ("resnet", {"depths": [3, 4, 23, 3], **_BOTTLENECK}),
    "resnet152": ("resnet", {"depths": [3, 8, 36, 3], **_BOTTLENECK}),
    **{f"vit_{size}_{patch}_{image}": ("vit", {**_VIT[size], "patch_size": int(patch), "image_size": int(image)})
       for size, patch, image in (("b", "16", "224"), ("b", "16", "384"), ("b", "32", "224"), ("b", "32", "384"),
                                  ("l", "16", "224"), ("l", "16", "384"), ("l", "32", "224"))},
}
_COMPILED = {family: [(re.compile(rf"^{p}$"), t) for p, t in rules] for family, rules in MAPS.items()}


def supports(arch: str) -> bool:
    """Whether MindCV's ``arch`` has a PyTorch network here."""
    return arch in CONFIGS


def torch_name(family: str, name: str) -> str | tuple[str, ...] | None:
    """MindCV's parameter ``name`` as transformers' network of ``family`` calls it (several names: the tensor is
    split among them); None when no rule takes it."""
    for pattern, template in _COMPILED[family]:
        m = pattern.match(name)
        if m is None:
            continue
        parts = m.groupdict()
        for key in ("l", "c"):
            if key in parts:
                parts[key] = str(int(parts[key]) - 1)
        bn = next((g for g in m.groups() if g in _BN), None)
        fill = {**parts, "bn": _BN[bn] if bn else ""}
        if isinstance(template, tuple):
            return tuple(t.format(**fill) for t in template)
        return template.format(**fill)
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
        elif isinstance(renamed, tuple):
            part = value.shape[0] // len(renamed)
            out.update({n: value[i * part:(i + 1) * part] for i, n in enumerate(renamed)})
        else:
            out[renamed] = value
    return out, unknown


def build(arch: str, num_classes: int, in_channels: int) -> Any:
    """transformers' network for MindCV's ``arch``, computing as MindSpore does where MindCV's differs."""
    family, kw = CONFIGS[arch]
    model = _BUILDERS[family](kw, num_classes, in_channels)
    model.eval()
    return model


def _resnet(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    import transformers
    from torch import nn

    config: Any = transformers.ResNetConfig(embedding_size=64, num_channels=in_channels, **kw)
    config.num_labels = num_classes
    model: Any = transformers.ResNetForImageClassification(config)
    model.resnet.embedder.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=0)
    model.resnet.embedder.pooler.register_forward_pre_hook(same_pad)
    return model


def _vit(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    import transformers

    config: Any = transformers.ViTConfig(num_channels=in_channels, qkv_bias=True, hidden_act="gelu_pytorch_tanh",
                                         layer_norm_eps=1e-7, **kw)
    config.num_labels = num_classes
    return transformers.ViTForImageClassification(config)


_BUILDERS = {"resnet": _resnet, "vit": _vit}


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
