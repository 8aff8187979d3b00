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

from hub_client.models.zoo_maps import BN_NAMES, CONFIGS, FLAT, MAPS

__all__ = ["CONFIGS", "MAPS", "build", "same_pad", "supports", "to_mindcv", "to_torch", "torch_name"]

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
        out[name] = np.reshape(joined, own.shape) if isinstance(theirs, str) and theirs.startswith(FLAT) else joined
    unexpected = [k for k in state if k not in used and not k.endswith("num_batches_tracked")]
    return out, missing, unexpected


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


def _mobilenet_v2(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindCV pads its convolutions by hand (``pad_mode="pad"``, symmetric), not TensorFlow's way; its BatchNorm
    epsilon is MindSpore's 1e-5 (transformers' MobileNetV2 has TensorFlow's 1e-3)."""
    import transformers

    config: Any = transformers.MobileNetV2Config(num_channels=in_channels, tf_padding=False, hidden_act="relu6",
                                                 layer_norm_eps=1e-5, finegrained_output=True, **kw)
    config.num_labels = num_classes
    return transformers.MobileNetV2ForImageClassification(config)


def _mobilenet_v1(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """As MobileNetV2: MindCV's symmetric padding, MindSpore's BatchNorm epsilon, plain ReLU."""
    import transformers

    config: Any = transformers.MobileNetV1Config(num_channels=in_channels, tf_padding=False, hidden_act="relu",
                                                 layer_norm_eps=1e-5, **kw)
    config.num_labels = num_classes
    return transformers.MobileNetV1ForImageClassification(config)


def _regnet(layer_type: str) -> Any:
    def build(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
        import transformers

        config: Any = transformers.RegNetConfig(num_channels=in_channels, embedding_size=32, layer_type=layer_type,
                                                hidden_act="relu", **kw)
        config.num_labels = num_classes
        return transformers.RegNetForImageClassification(config)

    return build


def _poolformer(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindSpore's GELU (the tanh approximation) where transformers' PoolFormer has the exact one."""
    import transformers

    config: Any = transformers.PoolFormerConfig(num_channels=in_channels, hidden_act="gelu_pytorch_tanh", **kw)
    config.num_labels = num_classes
    return transformers.PoolFormerForImageClassification(config)


def _swin(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindSpore's tanh GELU; MindCV passes LayerNorm epsilon 1e-5, as transformers' Swin has it."""
    import transformers

    config: Any = transformers.SwinConfig(num_channels=in_channels, hidden_act="gelu_pytorch_tanh", image_size=224,
                                          patch_size=4, layer_norm_eps=1e-5, **kw)
    config.num_labels = num_classes
    return transformers.SwinForImageClassification(config)


def _pvt_v2(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindSpore's tanh GELU; MindCV's blocks normalise with epsilon 1e-6 as transformers' PVTv2 does, but its
    patch embeddings and spatial reductions with MindSpore's default 1e-7; its overlapping patch embeddings are
    MindSpore's default ``same`` convolutions (7x7 stride 4 pads 1 before and 2 after), not PyTorch's 3 and 3."""
    import transformers
    from torch import nn

    config: Any = transformers.PvtV2Config(num_channels=in_channels, hidden_act="gelu_pytorch_tanh",
                                           layer_norm_eps=1e-6, num_attention_heads=[1, 2, 5, 8], **kw)
    config.num_labels = num_classes
    model: Any = transformers.PvtV2ForImageClassification(config)
    for name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm) and name.endswith(("patch_embedding.layer_norm", "attention.layer_norm")):
            module.eps = 1e-7
        if isinstance(module, nn.Conv2d) and name.endswith("patch_embedding.proj"):
            module.padding = (0, 0)
            module.register_forward_pre_hook(same_pad)
    return model


def _efficientnet(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindSpore's ``same`` convolutions wherever the stride is 2, for any input size (transformers pads its stem and
    its strided depthwise convolutions one row and column after, which is the same only for even sizes)."""
    import transformers
    from torch import nn

    config: Any = transformers.EfficientNetConfig(num_channels=in_channels, hidden_act="swish",
                                                  **{k: v for k, v in kw.items() if k != "blocks"})
    config.num_labels = num_classes
    model: Any = transformers.EfficientNetForImageClassification(config)
    model.efficientnet.embeddings.padding = nn.Identity()
    model.efficientnet.embeddings.convolution.register_forward_pre_hook(same_pad)
    for block in model.efficientnet.encoder.blocks:
        if block.depthwise_conv.stride == 2:
            block.depthwise_conv.depthwise_conv_pad = nn.Identity()
            block.depthwise_conv.depthwise_conv.register_forward_pre_hook(same_pad)
    return model


def _swin_v2(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindSpore's tanh GELU; MindCV's blocks, patch embedding and last norm use LayerNorm epsilon 1e-6 (its patch
    merging 1e-5, as transformers' does)."""
    import transformers

    config: Any = transformers.Swinv2Config(num_channels=in_channels, hidden_act="gelu_pytorch_tanh", patch_size=4,
                                            layer_norm_eps=1e-6, **kw)
    config.num_labels = num_classes
    model: Any = transformers.Swinv2ForImageClassification(config)
    model.swinv2.embeddings.norm.eps = 1e-6
    return model


def _mobilevit(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """MindCV's MobileViT block projects its local features into the transformer with a 1x1 convolution followed by
    BatchNorm and SiLU, where transformers' has the bare convolution: that module is swapped for transformers' own
    convolution layer with both. MindSpore's LayerNorm epsilon (1e-7; transformers' is 1e-5)."""
    import transformers
    from transformers.models.mobilevit import modeling_mobilevit

    config: Any = transformers.MobileViTConfig(num_channels=in_channels, hidden_act="silu", layer_norm_eps=1e-7,
                                               **kw)
    config.num_labels = num_classes
    model: Any = transformers.MobileViTForImageClassification(config)
    for stage in model.mobilevit.encoder.layer:
        if hasattr(stage, "conv_1x1"):
            bare = stage.conv_1x1.convolution
            stage.conv_1x1 = modeling_mobilevit.MobileViTConvLayer(config, bare.in_channels, bare.out_channels, 1)
    return model


def _bit(kw: dict[str, Any], num_classes: int, in_channels: int) -> Any:
    """transformers' pre-activation BiT with PyTorch's symmetric padding, as MindCV pads by hand; MindCV
    standardises its convolutions' weights with epsilon 1e-10 where transformers has 1e-8 (1e-6 in its
    ``WeightStandardizedConv2d`` default); the width is given per stage, not as a factor (transformers' final norm
    and classifier read the unscaled last width)."""
    import transformers

    config: Any = transformers.BitConfig(num_channels=in_channels, layer_type="preactivation", global_padding=None,
                                         hidden_act="relu", **kw)
    config.num_labels = num_classes
    model: Any = transformers.BitForImageClassification(config)
    for module in model.modules():
        if type(module).__name__ == "WeightStandardizedConv2d":
            module.eps = 1e-10
    return model


_BUILDERS = {"resnet": _resnet, "vit": _vit, "mobilenetv2": _mobilenet_v2, "mobilenetv1": _mobilenet_v1,
             "regnet_x": _regnet("x"), "regnet_y": _regnet("y"), "poolformer": _poolformer, "swintransformer": _swin,
             "pvtv2": _pvt_v2, "efficientnet": _efficientnet,
             "bit": _bit, "swintransformerv2": _swin_v2, "mobilevit": _mobilevit}


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
