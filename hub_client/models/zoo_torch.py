"""MindCV's zoo on PyTorch: per family, transformers' network of the same structure and a name map from MindCV's
parameters to it, written once as data (``MAPS``, ``CONFIGS``), with MindSpore's numerics where they differ.

timm, the first choice, cannot be imported here (it imports torchvision, whose wheels are CUDA builds that fail
beside the CPU torch), so the networks are transformers' (no torchvision). Where MindSpore computes otherwise than
transformers' defaults, the network is told: MindCV's ResNet pools its stem with ``pad_mode="same"`` (the extra
row and column at the bottom and right, as TensorFlow; transformers pads both sides, so the pool gets
``same_pad``); MindCV's ViT and PoolFormer run MindSpore's GELU (the tanh approximation), the ViT MindSpore's
LayerNorm epsilon (1e-7) where transformers' has 1e-12; MindCV's MobileNets pad symmetrically with MindSpore's
BatchNorm epsilon (1e-5) where transformers' default to TensorFlow's ``same`` and 1e-3. Each difference moves the
logits past the tests' bound (``tests/hub_client/models/test_zoo.py`` shows it per family).
"""

from __future__ import annotations

import math
import re
from typing import Any

#: MindSpore's BatchNorm names → PyTorch's.
_BN = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_BN_LEAF = "(gamma|beta|moving_mean|moving_variance)"

_LN_LEAF = "(gamma|beta)"


def _under(prefix: str, theirs: str | tuple[str, ...]) -> str | tuple[str, ...]:
    """``theirs`` under ``prefix``: each name of a split (a dropped tensor, the empty tuple, stays dropped)."""
    return tuple(prefix + t for t in theirs) if isinstance(theirs, tuple) else prefix + theirs


#: Per MindCV family: (MindCV name pattern, transformers name template), the first pattern that matches wins;
#: ``{bn}`` is the BatchNorm or LayerNorm leaf renamed, ``{g}`` a named group as matched, ``{g-4}`` that number
#: less 4 and ``{2*g-6}`` twice it less 6 (MindCV counts ResNet's layers from 1, MobileNet's blocks after the
#: stem's cells, and MobileNetV1's block is two of transformers' layers). A tuple of templates
#: splits the tensor into that many equal parts along its first axis (ViT's joined ``qkv`` projection is
#: transformers' ``q_proj``, ``k_proj``, ``v_proj``, in that order); the empty tuple drops a tensor the network
#: computes itself (Swin's relative position index and shifted-window mask, which MindCV saves).
MAPS: dict[str, list[tuple[str, str | tuple[str, ...]]]] = {
    "resnet": [
        (r"conv1\.weight", "resnet.embedder.embedder.convolution.weight"),
        (rf"bn1\.{_BN_LEAF}", "resnet.embedder.embedder.normalization.{bn}"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.conv(?P<c>\d)\.weight",
         "resnet.encoder.stages.{l-1}.layers.{b}.layer.{c-1}.convolution.weight"),
        (rf"layer(?P<l>\d)\.(?P<b>\d+)\.bn(?P<c>\d)\.{_BN_LEAF}",
         "resnet.encoder.stages.{l-1}.layers.{b}.layer.{c-1}.normalization.{bn}"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.down_sample\.0\.weight",
         "resnet.encoder.stages.{l-1}.layers.{b}.shortcut.convolution.weight"),
        (rf"layer(?P<l>\d)\.(?P<b>\d+)\.down_sample\.1\.{_BN_LEAF}",
         "resnet.encoder.stages.{l-1}.layers.{b}.shortcut.normalization.{bn}"),
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
    # features: the stem's convolution (0-2), the first block (3, no expansion: transformers' stem holds it),
    # 16 inverted residuals (4-19: 1x1 expand, 3x3 depthwise, 1x1 reduce, each with its BatchNorm), the last 1x1
    "mobilenetv2": [
        (r"features\.0\.weight", "mobilenet_v2.conv_stem.first_conv.convolution.weight"),
        (rf"features\.1\.{_BN_LEAF}", "mobilenet_v2.conv_stem.first_conv.normalization.{bn}"),
        (r"features\.3\.layers\.0\.weight", "mobilenet_v2.conv_stem.conv_3x3.convolution.weight"),
        (rf"features\.3\.layers\.1\.{_BN_LEAF}", "mobilenet_v2.conv_stem.conv_3x3.normalization.{bn}"),
        (r"features\.3\.layers\.3\.weight", "mobilenet_v2.conv_stem.reduce_1x1.convolution.weight"),
        (rf"features\.3\.layers\.4\.{_BN_LEAF}", "mobilenet_v2.conv_stem.reduce_1x1.normalization.{bn}"),
        (r"features\.20\.weight", "mobilenet_v2.conv_1x1.convolution.weight"),
        (rf"features\.21\.{_BN_LEAF}", "mobilenet_v2.conv_1x1.normalization.{bn}"),
        *((rf"features\.(?P<n>\d+)\.layers\.{i}\.weight", f"mobilenet_v2.layer.{{n-4}}.{conv}.convolution.weight")
          for i, conv in ((0, "expand_1x1"), (3, "conv_3x3"), (6, "reduce_1x1"))),
        *((rf"features\.(?P<n>\d+)\.layers\.{i}\.{_BN_LEAF}", f"mobilenet_v2.layer.{{n-4}}.{conv}.normalization.{{bn}}")
          for i, conv in ((1, "expand_1x1"), (4, "conv_3x3"), (7, "reduce_1x1"))),
        (r"classifier\.1\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # features: the stem's convolution (0-2), then 13 blocks (3-15) of a 3x3 depthwise and a 1x1 convolution, each
    # with its BatchNorm: two of transformers' layers per block
    "mobilenetv1": [
        (r"features\.0\.weight", "mobilenet_v1.conv_stem.convolution.weight"),
        (rf"features\.1\.{_BN_LEAF}", "mobilenet_v1.conv_stem.normalization.{bn}"),
        (r"features\.(?P<n>\d+)\.0\.weight", "mobilenet_v1.layer.{2*n-6}.convolution.weight"),
        (rf"features\.(?P<n>\d+)\.1\.{_BN_LEAF}", "mobilenet_v1.layer.{2*n-6}.normalization.{bn}"),
        (r"features\.(?P<n>\d+)\.3\.weight", "mobilenet_v1.layer.{2*n-5}.convolution.weight"),
        (rf"features\.(?P<n>\d+)\.4\.{_BN_LEAF}", "mobilenet_v1.layer.{2*n-5}.normalization.{bn}"),
        (r"classifier\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],    # stem, then per stage s and block b: the shortcut's projection, the 1x1 (a), the grouped 3x3 (b), the Y
    # variant's squeeze-excitation, the 1x1 (c); MindSpore names stage 0's blocks "0.blocks.{b}" and the later
    # ones' "0.blocks.{s}.blocks.{b}"
    **{family: [
        (r"stem\.conv\.weight", "regnet.embedder.embedder.convolution.weight"),
        (rf"stem\.bn\.{_BN_LEAF}", "regnet.embedder.embedder.normalization.{bn}"),
        *((rf"0\.blocks\.{where}\.{mine}", f"regnet.encoder.stages.{stage}.layers.{{b}}.{theirs}")
          for where, stage in ((r"(?P<s>[1-9]\d*)\.blocks\.(?P<b>\d+)", "{s}"), (r"(?P<b>\d+)", "0"))
          for mine, theirs in (
              (r"proj\.weight", "shortcut.convolution.weight"),
              (rf"bn\.{_BN_LEAF}", "shortcut.normalization.{bn}"),
              (r"f\.a\.weight", "layer.0.convolution.weight"),
              (rf"f\.a_bn\.{_BN_LEAF}", "layer.0.normalization.{bn}"),
              (r"f\.b\.weight", "layer.1.convolution.weight"),
              (rf"f\.b_bn\.{_BN_LEAF}", "layer.1.normalization.{bn}"),
              (r"f\.se\.conv_reduce\.(?P<leaf>weight|bias)", "layer.2.attention.0.{leaf}"),
              (r"f\.se\.conv_expand\.(?P<leaf>weight|bias)", "layer.2.attention.2.{leaf}"),
              (r"f\.c\.weight", f"layer.{last}.convolution.weight"),
              (rf"f\.c_bn\.{_BN_LEAF}", f"layer.{last}.normalization.{{bn}}"),
          )),
        (r"head\.fc\.(?P<leaf>weight|bias)", "classifier.1.{leaf}"),
    ] for family, last in (("regnet_x", 2), ("regnet_y", 3))},
    # network: the four stages (0, 2, 4, 6) with the downsampling embeddings between them (1, 3, 5)
    "poolformer": [
        (r"patch_embed\.proj\.(?P<leaf>weight|bias)", "poolformer.encoder.patch_embeddings.0.projection.{leaf}"),
        *((rf"network\.{2 * i - 1}\.proj\.(?P<leaf>weight|bias)",
           f"poolformer.encoder.patch_embeddings.{i}.projection.{{leaf}}") for i in (1, 2, 3)),
        *((rf"network\.{2 * i}\.(?P<b>\d+)\.{mine}", f"poolformer.encoder.block.{i}.{{b}}.{theirs}")
          for i in range(4) for mine, theirs in (
              (r"(?P<ls>layer_scale_[12])", "{ls}"),
              (rf"norm1\.{_LN_LEAF}", "before_norm.{bn}"),
              (rf"norm2\.{_LN_LEAF}", "after_norm.{bn}"),
              (r"mlp\.fc(?P<k>[12])\.(?P<leaf>weight|bias)", "output.conv{k}.{leaf}"))),
        (rf"norm\.{_LN_LEAF}", "norm.{bn}"),
        (r"head\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # as RegNet's, MindSpore names stage 0's blocks "0.blocks.{b}" and the later ones' "0.blocks.{s}.blocks.{b}"
    "swintransformer": [
        (r"patch_embed\.proj\.(?P<leaf>weight|bias)", "swin.embeddings.patch_embeddings.projection.{leaf}"),
        (rf"patch_embed\.norm\.{_LN_LEAF}", "swin.embeddings.norm.{bn}"),
        *((rf"0\.{where}{mine}", _under(f"swin.encoder.layers.{stage}.", theirs))
          for where, stage in ((r"blocks\.(?P<s>[1-9]\d*)\.", "{s}"), (r"", "0"))
          for mine, theirs in (
              (r"blocks\.(?P<b>\d+)\.attn\.relative_bias\.relative_position_bias_table",
               "blocks.{b}.attention.relative_position_bias.relative_position_bias_table"),
              (r"blocks\.(?P<b>\d+)\.attn\.relative_bias\.index", ()),
              (r"blocks\.(?P<b>\d+)\.attn_mask", ()),
              (r"blocks\.(?P<b>\d+)\.attn\.(?P<x>[qkv])\.(?P<leaf>weight|bias)",
               "blocks.{b}.attention.{x}_proj.{leaf}"),
              (r"blocks\.(?P<b>\d+)\.attn\.proj\.(?P<leaf>weight|bias)", "blocks.{b}.attention.o_proj.{leaf}"),
              (rf"blocks\.(?P<b>\d+)\.norm1\.{_LN_LEAF}", "blocks.{b}.layernorm_before.{bn}"),
              (rf"blocks\.(?P<b>\d+)\.norm2\.{_LN_LEAF}", "blocks.{b}.layernorm_after.{bn}"),
              (r"blocks\.(?P<b>\d+)\.mlp\.(?P<fc>fc[12])\.(?P<leaf>weight|bias)", "blocks.{b}.mlp.{fc}.{leaf}"),
              (r"downsample\.reduction\.weight", "downsample.reduction.weight"),
              (rf"downsample\.norm\.{_LN_LEAF}", "downsample.norm.{bn}"),
          )),
        (rf"norm\.{_LN_LEAF}", "swin.layernorm.{bn}"),
        (r"classifier\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    "pvtv2": [
        (r"patch_embed_list\.(?P<s>\d)\.proj\.(?P<leaf>weight|bias)",
         "pvt_v2.encoder.layers.{s}.patch_embedding.proj.{leaf}"),
        (rf"patch_embed_list\.(?P<s>\d)\.norm\.{_LN_LEAF}",
         "pvt_v2.encoder.layers.{s}.patch_embedding.layer_norm.{bn}"),
        *((rf"block_list\.(?P<s>\d)\.(?P<b>\d+)\.{mine}", _under("pvt_v2.encoder.layers.{s}.blocks.{b}.", theirs))
          for mine, theirs in (
              (rf"norm1\.{_LN_LEAF}", "layer_norm_1.{bn}"),
              (rf"norm2\.{_LN_LEAF}", "layer_norm_2.{bn}"),
              (r"attn\.q\.(?P<leaf>weight|bias)", "attention.query.{leaf}"),
              (r"attn\.kv\.(?P<leaf>weight|bias)", ("attention.key.{leaf}", "attention.value.{leaf}")),
              (r"attn\.proj\.(?P<leaf>weight|bias)", "attention.proj.{leaf}"),
              (r"attn\.sr\.(?P<leaf>weight|bias)", "attention.spatial_reduction.{leaf}"),
              (rf"attn\.norm\.{_LN_LEAF}", "attention.layer_norm.{bn}"),
              (r"mlp\.fc(?P<k>[12])\.(?P<leaf>weight|bias)", "mlp.dense{k}.{leaf}"),
              (r"mlp\.dwconv\.dwconv\.(?P<leaf>weight|bias)", "mlp.dwconv.dwconv.{leaf}"))),
        (rf"norm_list\.(?P<s>\d)\.{_LN_LEAF}", "pvt_v2.encoder.layers.{s}.layer_norm.{bn}"),
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
    **{f"mobilenet_v2_{width}": ("mobilenetv2", {"depth_multiplier": int(width[:3]) / 100})
       for width in ("140", "130_224", "100", "100_192", "100_160", "100_128", "100_96", "075", "075_192", "075_160",
                     "075_128", "075_96", "050_224", "050_192", "050_160", "050_128", "050_96", "035_224", "035_192",
                     "035_160", "035_128", "035_96")},
    **{f"mobilenet_v1_{width}": ("mobilenetv1", {"depth_multiplier": int(width) / 100})
       for width in ("025", "050", "075", "100")},
    # (depths, widths, the widest group): MindCV's generated RegNets, read off their parameters
    **{name: (name[:8], {"depths": d, "hidden_sizes": w, "groups_width": g}) for name, (d, w, g) in {
        "regnet_x_200mf": ([1, 1, 4, 7], [24, 56, 152, 368], 8),
        "regnet_x_400mf": ([1, 2, 7, 12], [32, 64, 160, 384], 16),
        "regnet_x_600mf": ([1, 3, 5, 7], [48, 96, 240, 528], 24),
        "regnet_x_800mf": ([1, 3, 7, 5], [64, 128, 288, 672], 16),
        "regnet_x_1_6gf": ([2, 4, 10, 2], [72, 168, 408, 912], 24),
        "regnet_x_3_2gf": ([2, 6, 15, 2], [96, 192, 432, 1008], 48),
        "regnet_x_4_0gf": ([2, 5, 14, 2], [80, 240, 560, 1360], 40),
        "regnet_x_6_4gf": ([2, 4, 10, 1], [168, 392, 784, 1624], 56),
        "regnet_x_8_0gf": ([2, 5, 15, 1], [80, 240, 720, 1920], 120),
        "regnet_x_12gf": ([2, 5, 11, 1], [224, 448, 896, 2240], 112),
        "regnet_x_16gf": ([2, 6, 13, 1], [256, 512, 896, 2048], 128),
        "regnet_x_32gf": ([2, 7, 13, 1], [336, 672, 1344, 2520], 168),
        "regnet_y_200mf": ([1, 1, 4, 7], [24, 56, 152, 368], 8),
        "regnet_y_400mf": ([1, 3, 6, 6], [48, 104, 208, 440], 8),
        "regnet_y_600mf": ([1, 3, 7, 4], [48, 112, 256, 608], 16),
        "regnet_y_800mf": ([1, 3, 8, 2], [64, 128, 320, 768], 16),
        "regnet_y_1_6gf": ([2, 6, 17, 2], [48, 120, 336, 888], 24),
        "regnet_y_3_2gf": ([2, 5, 13, 1], [72, 216, 576, 1512], 24),
        "regnet_y_4_0gf": ([2, 6, 12, 2], [128, 192, 512, 1088], 64),
        "regnet_y_6_4gf": ([2, 7, 14, 2], [144, 288, 576, 1296], 72),
        "regnet_y_8_0gf": ([2, 4, 10, 1], [168, 448, 896, 2016], 56),
        "regnet_y_12gf": ([2, 5, 11, 1], [224, 448, 896, 2240], 112),
        "regnet_y_16gf": ([2, 4, 11, 1], [224, 448, 1232, 3024], 112),
        "regnet_y_32gf": ([2, 5, 12, 1], [232, 696, 1392, 3712], 232),
    }.items()},
    **{f"poolformer_{size}": ("poolformer", {"depths": depths, "hidden_sizes": widths})
       for size, depths, widths in (("s12", [2, 2, 6, 2], [64, 128, 320, 512]),
                                    ("s24", [4, 4, 12, 4], [64, 128, 320, 512]),
                                    ("s36", [6, 6, 18, 6], [64, 128, 320, 512]),
                                    ("m36", [6, 6, 18, 6], [96, 192, 384, 768]),
                                    ("m48", [8, 8, 24, 8], [96, 192, 384, 768]))},
    **{f"pvt_v2_b{i}": ("pvtv2", {"hidden_sizes": widths, "depths": depths, "mlp_ratios": ratios})
       for i, widths, depths, ratios in ((0, [32, 64, 160, 256], [2, 2, 2, 2], [8, 8, 4, 4]),
                                         (1, [64, 128, 320, 512], [2, 2, 2, 2], [8, 8, 4, 4]),
                                         (2, [64, 128, 320, 512], [3, 4, 6, 3], [8, 8, 4, 4]),
                                         (3, [64, 128, 320, 512], [3, 4, 18, 3], [8, 8, 4, 4]),
                                         (4, [64, 128, 320, 512], [3, 8, 27, 3], [8, 8, 4, 4]),
                                         (5, [64, 128, 320, 512], [3, 6, 40, 3], [4, 4, 4, 4]))},
    "swin_tiny": ("swintransformer", {"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24],
                                      "window_size": 7}),
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
        bn = next((g for g in m.groups() if g in _BN), None)
        fill = {**m.groupdict(), "bn": _BN[bn] if bn else ""}
        if isinstance(template, tuple):
            return tuple(_fill(t, fill) for t in template)
        return _fill(template, fill)
    return None


_FIELD = re.compile(r"\{(?:(\d+)\*)?(\w+)(?:-(\d+))?\}")


def _fill(template: str, groups: dict[str, str]) -> str:
    """``template`` with ``{g}`` replaced by the group ``g``, ``{g-4}`` by its number less 4, ``{2*g-6}`` by twice
    its number less 6."""
    def value(field: re.Match[str]) -> str:
        times, name, less = field.groups()
        if times is None and less is None:
            return groups[name]
        return str(int(times or 1) * int(groups[name]) - int(less or 0))

    return _FIELD.sub(value, template)


def to_torch(arch: str, state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``state`` (MindCV names) in transformers' names, and the names no rule of the family takes."""
    family = CONFIGS[arch][0]
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in state.items():
        renamed = torch_name(family, name)
        if renamed is None:
            unknown.append(name)
        elif renamed == ():
            continue
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


_BUILDERS = {"resnet": _resnet, "vit": _vit, "mobilenetv2": _mobilenet_v2, "mobilenetv1": _mobilenet_v1,
             "regnet_x": _regnet("x"), "regnet_y": _regnet("y"), "poolformer": _poolformer, "swintransformer": _swin,
             "pvtv2": _pvt_v2}


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
