"""MindCV's zoo in transformers' names: per family, a name map from MindCV's parameters to transformers' network of
the same structure, and per architecture that network's config, written once as data (timm's ``_registry``: a
declarative table of what exists). ``zoo_torch`` reads them, renames the tensors and builds the networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: MindSpore's BatchNorm names → PyTorch's.
BN_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_BN_LEAF = "(gamma|beta|moving_mean|moving_variance)"

_LN_LEAF = "(gamma|beta)"


def _under(prefix: str, theirs: str | Sequence[str]) -> str | tuple[str, ...]:
    """``theirs`` under ``prefix``: each name of a split (a dropped tensor, the empty tuple, stays dropped)."""
    return prefix + theirs if isinstance(theirs, str) else tuple(prefix + t for t in theirs)


#: A template's prefix: the tensor flattened to two axes where it has more (a 1x1 convolution's kernel as a linear
#: layer's weight).
FLAT = "flat:"
#: MindCV's ``ConvLayer`` (a convolution, ``features.0``, and its BatchNorm, ``features.1``) as transformers'.
_CONV_BN = (("0", "weight", "convolution.weight"), ("1", _BN_LEAF, "normalization.{bn}"))
#: MindCV's MBConv block, layer by layer (the 1x1 expansion, the depthwise convolution, the squeeze-excitation, the
#: 1x1 projection), as transformers' EfficientNet names it.
_MBCONV = ((r"weight", "expansion.expand_conv.weight"), (_BN_LEAF, "expansion.expand_bn.{bn}"),
           (r"weight", "depthwise_conv.depthwise_conv.weight"), (_BN_LEAF, "depthwise_conv.depthwise_norm.{bn}"),
           (r"conv_(?P<se>reduce|expand)\.(?P<leaf>weight|bias)", "squeeze_excite.{se}.{leaf}"),
           (r"weight", "projection.project_conv.weight"), (_BN_LEAF, "projection.project_bn.{bn}"))


#: A Swin stage's rules that Swin and Swin V2 share (under ``<model>.encoder.layers.<s>.``): the attention's
#: projections, the block's norms and MLP, the patch merging after the stage.
_SWIN_STAGE = (
    *((rf"blocks\.(?P<b>\d+)\.attn\.{x}\.(?P<leaf>weight|bias)", f"blocks.{{b}}.attention.self.{y}.{{leaf}}")
      for x, y in (("q", "query"), ("k", "key"), ("v", "value"))),
    (r"blocks\.(?P<b>\d+)\.attn\.proj\.(?P<leaf>weight|bias)", "blocks.{b}.attention.output.dense.{leaf}"),
    (rf"blocks\.(?P<b>\d+)\.norm1\.{_LN_LEAF}", "blocks.{b}.layernorm_before.{bn}"),
    (rf"blocks\.(?P<b>\d+)\.norm2\.{_LN_LEAF}", "blocks.{b}.layernorm_after.{bn}"),
    (r"blocks\.(?P<b>\d+)\.mlp\.fc1\.(?P<leaf>weight|bias)", "blocks.{b}.intermediate.dense.{leaf}"),
    (r"blocks\.(?P<b>\d+)\.mlp\.fc2\.(?P<leaf>weight|bias)", "blocks.{b}.output.dense.{leaf}"),
    (r"downsample\.reduction\.weight", "downsample.reduction.weight"),
    (rf"downsample\.norm\.{_LN_LEAF}", "downsample.norm.{bn}"),
)


#: Per MindCV family: (MindCV name pattern, transformers name template), the first pattern that matches wins. The
#: names are the Hub's, as ``save_pretrained`` writes them and every transformers release reads them (transformers 5
#: renames ViT's and Swin's in memory; ``hf_names`` converts);
#: ``{bn}`` is the BatchNorm or LayerNorm leaf renamed, ``{g}`` a named group as matched, ``{g-4}`` that number
#: less 4 and ``{2*g-6}`` twice it less 6 (MindCV counts ResNet's layers from 1, MobileNet's blocks after the
#: stem's cells, and MobileNetV1's block is two of transformers' layers); ``{s-3:b}`` is block ``b`` of stage
#: ``s-3`` counted from the network's first block, by the architecture's ``blocks`` per stage (EfficientNet's
#: scaled depths: transformers numbers its blocks across stages, MindCV within each). A tuple of templates
#: splits the tensor into that many equal parts along its first axis (ViT's joined ``qkv`` projection is
#: transformers' ``query``, ``key``, ``value``, in that order); the empty tuple drops a tensor the network
#: computes itself (Swin's relative position index and shifted-window mask, which MindCV saves); ``FLAT`` before a
#: template flattens the tensor (BiT's classifier is a 1x1 convolution, transformers' a linear layer).
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
        (rf"blocks\.(?P<b>\d+)\.norm1\.{_LN_LEAF}", "vit.encoder.layer.{b}.layernorm_before.{bn}"),
        (r"blocks\.(?P<b>\d+)\.attn\.qkv\.(?P<leaf>weight|bias)",
         tuple(f"vit.encoder.layer.{{b}}.attention.attention.{x}.{{leaf}}" for x in ("query", "key", "value"))),
        (r"blocks\.(?P<b>\d+)\.attn\.proj\.(?P<leaf>weight|bias)",
         "vit.encoder.layer.{b}.attention.output.dense.{leaf}"),
        (rf"blocks\.(?P<b>\d+)\.norm2\.{_LN_LEAF}", "vit.encoder.layer.{b}.layernorm_after.{bn}"),
        (r"blocks\.(?P<b>\d+)\.mlp\.fc1\.(?P<leaf>weight|bias)", "vit.encoder.layer.{b}.intermediate.dense.{leaf}"),
        (r"blocks\.(?P<b>\d+)\.mlp\.fc2\.(?P<leaf>weight|bias)", "vit.encoder.layer.{b}.output.dense.{leaf}"),
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
               "blocks.{b}.attention.self.relative_position_bias_table"),
              (r"blocks\.(?P<b>\d+)\.attn\.relative_bias\.index", ()),
              (r"blocks\.(?P<b>\d+)\.attn_mask", ()),
              *_SWIN_STAGE,
          )),
        (rf"norm\.{_LN_LEAF}", "swin.layernorm.{bn}"),
        (r"classifier\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # features: the stem (0-1), seven stages (3-9) of MBConv blocks, the last 1x1 (10-11); transformers numbers
    # the blocks from the first across stages ({s-3:b}); stage 3's blocks do not expand, so their layers sit lower
    "efficientnet": [
        (r"features\.0\.weight", "efficientnet.embeddings.convolution.weight"),
        (rf"features\.1\.{_BN_LEAF}", "efficientnet.embeddings.batchnorm.{bn}"),
        *((rf"features\.(?P<s>{stages})\.(?P<b>\d+)\.block\.{i}\.{mine}",
           f"efficientnet.encoder.blocks.{{s-3:b}}.{theirs}")
          for stages, layers in (("3", zip((0, 1, 3, 4, 5), _MBCONV[2:], strict=True)),
                                 ("[4-9]", zip((0, 1, 3, 4, 6, 7, 8), _MBCONV, strict=True)))
          for i, (mine, theirs) in layers),
        (r"features\.10\.weight", "efficientnet.encoder.top_conv.weight"),
        (rf"features\.11\.{_BN_LEAF}", "efficientnet.encoder.top_bn.{bn}"),
        (r"mlp_head\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # as Swin's; its attention is Swin V2's (cosine, a learnt logit scale, a small network for the position bias)
    "swintransformerv2": [
        (r"patch_embed\.proj\.(?P<leaf>weight|bias)", "swinv2.embeddings.patch_embeddings.projection.{leaf}"),
        (rf"patch_embed\.norm\.{_LN_LEAF}", "swinv2.embeddings.norm.{bn}"),
        *((rf"0\.{where}{mine}", _under(f"swinv2.encoder.layers.{stage}.", theirs))
          for where, stage in ((r"blocks\.(?P<s>[1-9]\d*)\.", "{s}"), (r"", "0"))
          for mine, theirs in (
              (r"blocks\.(?P<b>\d+)\.attn\.relative_position_bias\.relative_(coords_table|position_index)", ()),
              (r"blocks\.(?P<b>\d+)\.attn_mask", ()),
              (r"blocks\.(?P<b>\d+)\.attn\.relative_position_bias\.cpb_mlp(?P<i>[02])\.(?P<leaf>weight|bias)",
               "blocks.{b}.attention.self.continuous_position_bias_mlp.{i}.{leaf}"),
              (r"blocks\.(?P<b>\d+)\.attn\.logit_scale", "blocks.{b}.attention.self.logit_scale"),
              *_SWIN_STAGE,
          )),
        (rf"norm\.{_LN_LEAF}", "swinv2.layernorm.{bn}"),
        (r"head\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # stem, two stages of inverted residuals (layer_1, layer_2), three of a strided inverted residual (0) and a
    # MobileViT block (1): local convolutions, transformer layers over unfolded patches, their last LayerNorm,
    # projection, fusion
    "mobilevit": [
        (r"conv_1\.features\.0\.weight", "mobilevit.conv_stem.convolution.weight"),
        (rf"conv_1\.features\.1\.{_BN_LEAF}", "mobilevit.conv_stem.normalization.{bn}"),
        *((rf"layer_(?P<l>[3-5])\.0\.block\.{i}\.features\.{k}\.{leaf}",
           f"mobilevit.encoder.layer.{{l-1}}.downsampling_layer.{conv}.{part}")
          for i, conv in enumerate(("expand_1x1", "conv_3x3", "reduce_1x1")) for k, leaf, part in _CONV_BN),
        *((rf"layer_(?P<l>[12])\.(?P<b>\d+)\.block\.{i}\.features\.{k}\.{leaf}",
           f"mobilevit.encoder.layer.{{l-1}}.layer.{{b}}.{conv}.{part}")
          for i, conv in enumerate(("expand_1x1", "conv_3x3", "reduce_1x1")) for k, leaf, part in _CONV_BN),
        *((rf"layer_(?P<l>[3-5])\.1\.{mine}\.features\.{k}\.{leaf}", f"mobilevit.encoder.layer.{{l-1}}.{theirs}.{part}")
          for mine, theirs in ((r"local_rep\.0", "conv_kxk"), (r"local_rep\.1", "conv_1x1"),
                               ("conv_proj", "conv_projection"), ("fusion", "fusion"))
          for k, leaf, part in _CONV_BN),
        *((rf"layer_(?P<l>[3-5])\.1\.global_rep\.(?P<t>\d+)\.{mine}",
           _under("mobilevit.encoder.layer.{l-1}.transformer.layer.{t}.", theirs))
          for mine, theirs in (
              (rf"pre_norm_mha\.0\.{_LN_LEAF}", "layernorm_before.{bn}"),
              (r"pre_norm_mha\.1\.qkv_proj\.(?P<leaf>weight|bias)",
               tuple(f"attention.attention.{x}.{{leaf}}" for x in ("query", "key", "value"))),
              (r"pre_norm_mha\.1\.out_proj\.(?P<leaf>weight|bias)", "attention.output.dense.{leaf}"),
              (rf"pre_norm_ffn\.0\.{_LN_LEAF}", "layernorm_after.{bn}"),
              (r"pre_norm_ffn\.1\.(?P<leaf>weight|bias)", "intermediate.dense.{leaf}"),
              (r"pre_norm_ffn\.4\.(?P<leaf>weight|bias)", "output.dense.{leaf}"))),
        (rf"layer_(?P<l>[3-5])\.1\.global_rep\.\d+\.{_LN_LEAF}", "mobilevit.encoder.layer.{l-1}.layernorm.{bn}"),
        *((rf"conv_1x1_exp\.features\.{k}\.{leaf}", f"mobilevit.conv_1x1_exp.{part}") for k, leaf, part in _CONV_BN),
        (r"classifier\.\d\.(?P<leaf>weight|bias)", "classifier.{leaf}"),
    ],
    # pre-activation bottlenecks of weight-standardised convolutions and GroupNorm; the head a 1x1 convolution
    "bit": [
        (r"conv1\.weight", "bit.embedder.convolution.weight"),
        (rf"layer(?P<l>\d)\.(?P<b>\d+)\.gn(?P<n>\d)\.{_LN_LEAF}", "bit.encoder.stages.{l-1}.layers.{b}.norm{n}.{bn}"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.conv(?P<n>\d)\.weight", "bit.encoder.stages.{l-1}.layers.{b}.conv{n}.weight"),
        (r"layer(?P<l>\d)\.(?P<b>\d+)\.down_sample\.0\.weight",
         "bit.encoder.stages.{l-1}.layers.{b}.downsample.conv.weight"),
        (rf"gn\.{_LN_LEAF}", "bit.norm.{bn}"),
        (r"classifier\.(?P<leaf>weight|bias)", f"{FLAT}classifier.1.{{leaf}}"),
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
@dataclass(frozen=True)
class Family:
    """transformers' network of a MindCV family: its classes' prefix (``ResNet`` → ``ResNetConfig``,
    ``ResNetForImageClassification``) and the config every architecture of the family shares, MindSpore's numerics
    where they differ from transformers' defaults (its GELU, its epsilons, MindCV's padding) and the family's
    fixed structure."""

    classes: str
    #: What a repo's ``config.json`` says as its ``model_type``.
    model_type: str
    config: dict[str, Any]


#: transformers' network of each family with a map.
FAMILIES = {
    "resnet": Family("ResNet", "resnet", {"embedding_size": 64, "hidden_act": "relu"}),
    "vit": Family("ViT", "vit", {"qkv_bias": True, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-7}),
    # MindCV pads its MobileNets by hand, symmetrically, with MindSpore's BatchNorm epsilon (not TensorFlow's)
    "mobilenetv2": Family("MobileNetV2", "mobilenet_v2", {"tf_padding": False, "hidden_act": "relu6",
                                                          "layer_norm_eps": 1e-5, "finegrained_output": True}),
    "mobilenetv1": Family("MobileNetV1", "mobilenet_v1", {"tf_padding": False, "hidden_act": "relu",
                                                          "layer_norm_eps": 1e-5}),
    "regnet_x": Family("RegNet", "regnet", {"embedding_size": 32, "layer_type": "x", "hidden_act": "relu"}),
    "regnet_y": Family("RegNet", "regnet", {"embedding_size": 32, "layer_type": "y", "hidden_act": "relu"}),
    "poolformer": Family("PoolFormer", "poolformer", {"hidden_act": "gelu_pytorch_tanh"}),
    "swintransformer": Family("Swin", "swin", {"hidden_act": "gelu_pytorch_tanh", "image_size": 224,
                                               "patch_size": 4, "layer_norm_eps": 1e-5}),
    "pvtv2": Family("PvtV2", "pvt_v2", {"hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6,
                                        "num_attention_heads": [1, 2, 5, 8]}),
    "efficientnet": Family("EfficientNet", "efficientnet", {"hidden_act": "swish"}),
    # MindCV pads BiT by hand, symmetrically (Google's pads TensorFlow's way, transformers' "SAME")
    "bit": Family("Bit", "bit", {"layer_type": "preactivation", "global_padding": None, "hidden_act": "relu"}),
    "swintransformerv2": Family("Swinv2", "swinv2", {"hidden_act": "gelu_pytorch_tanh", "patch_size": 4,
                                                     "layer_norm_eps": 1e-6}),
    "mobilevit": Family("MobileViT", "mobilevit", {"hidden_act": "silu", "layer_norm_eps": 1e-7}),
}
_BASIC = {"layer_type": "basic", "hidden_sizes": [64, 128, 256, 512]}
_BOTTLENECK = {"layer_type": "bottleneck", "hidden_sizes": [256, 512, 1024, 2048]}
_VIT = {"b": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
        "l": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}}
_EFFICIENTNET_REPEATS = (1, 2, 2, 3, 3, 4, 1)


def _round_channels(channels: float, divisor: int = 8) -> int:
    """EfficientNet's scaled width: the nearest multiple of ``divisor``, never 10% below ``channels`` (MindCV's
    ``make_divisible``, transformers' ``round_filters``)."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


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
    # (width, depth, BatchNorm epsilon): MindCV's B0-B4 normalise with MindSpore's default, B5-B7 with TensorFlow's
    **{f"efficientnet_b{i}": ("efficientnet", {
        "width_coefficient": width, "depth_coefficient": depth, "batch_norm_eps": eps,
        "hidden_dim": _round_channels(1280 * width),
        "blocks": [math.ceil(depth * n) for n in _EFFICIENTNET_REPEATS]})
       for i, (width, depth, eps) in enumerate(((1.0, 1.0, 1e-5), (1.0, 1.1, 1e-5), (1.1, 1.2, 1e-5),
                                                (1.2, 1.4, 1e-5), (1.4, 1.8, 1e-5), (1.6, 2.2, 1e-3),
                                                (1.8, 2.6, 1e-3), (2.0, 3.1, 1e-3)))},
    **{name: ("bit", {"depths": depths, "embedding_size": 64 * wf, "hidden_sizes": [256 * wf, 512 * wf, 1024 * wf,
                                                                                   2048 * wf]})
       for name, depths, wf in (("BiT_resnet50", [3, 4, 6, 3], 1), ("BiT_resnet50x3", [3, 4, 6, 3], 3),
                                ("BiT_resnet101", [3, 4, 23, 3], 1))},
    **{f"swinv2_{size}_window{w}": ("swintransformerv2", {
        "embed_dim": dim, "depths": depths, "num_heads": heads, "window_size": w, "image_size": 256})
       for size, dim, depths, heads in (("tiny", 96, [2, 2, 6, 2], [3, 6, 12, 24]),
                                        ("small", 96, [2, 2, 18, 2], [3, 6, 12, 24]),
                                        ("base", 128, [2, 2, 18, 2], [4, 8, 16, 32])) for w in (8, 16)},
    **{f"mobilevit_{size}": ("mobilevit", {"hidden_sizes": hidden, "neck_hidden_sizes": neck, "expand_ratio": expand})
       for size, hidden, neck, expand in (("xx_small", [64, 80, 96], [16, 16, 24, 48, 64, 80, 320], 2.0),
                                          ("x_small", [96, 120, 144], [16, 32, 48, 64, 80, 96, 384], 4.0),
                                          ("small", [144, 192, 240], [16, 32, 64, 96, 128, 160, 640], 4.0))},
    "swin_tiny": ("swintransformer", {"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24],
                                      "window_size": 7}),
}

#: The config fields that carry numerics: a repo whose values differ from the network's runs otherwise.
NUMERICS = ("hidden_act", "layer_norm_eps", "batch_norm_eps", "tf_padding", "global_padding")
#: Families whose MindSpore numerics no field of transformers' config can say: vanilla transformers, built from
#: the config alone, would compute other logits (the loader here patches the network; a repo cannot).
NOT_IN_CONFIG = {
    "resnet": "MindCV pools ResNet's stem with MindSpore's pad_mode='same' (the extra row and column after), and "
              "transformers' ResNet pads both sides",
    "pvtv2": "MindCV's PVTv2 pads its overlapping patch embeddings with MindSpore's pad_mode='same', and "
             "transformers' pads both sides",
    "mobilevit": "MindCV's MobileViT has BatchNorm and SiLU after the 1x1 convolution into its transformer, and "
                 "transformers' has the bare convolution",
}
#: Families where transformers' config can say all but a small epsilon: the repo is written, with this note (the
#: tests hold its logits within 1e-4 of the largest of MindCV's).
CONFIG_APPROXIMATES = {
    "bit": "transformers' BiT standardises its convolutions' weights with epsilon 1e-8 where MindCV's uses 1e-10",
    "swintransformerv2": "transformers' Swin V2 normalises its patch embedding with LayerNorm epsilon 1e-5 where "
                         "MindCV's uses 1e-6",
}
