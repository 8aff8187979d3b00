"""Parameter names: MindCV's checkpoint layout and the transformers layout, one to one.

MindCV flattens the network into ``feature.{0..7}`` (stem, stage 0, downsample 1, stage 1, ...) and calls
LayerNorm parameters ``gamma``/``beta`` and the layer scale ``gamma_``; transformers nests stages and calls
them ``weight``/``bias`` and ``layer_scale_parameter``. Shapes are identical in both (the reference lists in
that the tests compare against say so), so converting is renaming only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^embeddings\.patch_embeddings\.(weight|bias)$"), r"feature.0.0.\1"),
    (re.compile(r"^embeddings\.layernorm\.weight$"), "feature.0.1.gamma"),
    (re.compile(r"^embeddings\.layernorm\.bias$"), "feature.0.1.beta"),
    (re.compile(r"^layernorm\.weight$"), "norm.gamma"),
    (re.compile(r"^layernorm\.bias$"), "norm.beta"),
]
_STAGE = re.compile(r"^encoder\.stages\.(\d+)\.(.+)$")
_BLOCK_LEAF = {"layer_scale_parameter": "gamma_", "layernorm.weight": "norm.gamma", "layernorm.bias": "norm.beta",
               "grn.weight": "grn.gamma", "grn.bias": "grn.beta"}


def hf_to_mindcv(name: str) -> str | None:
    """The MindCV name of a transformers ``ConvNext*ForImageClassification`` parameter; None if it has none."""
    if name.startswith("classifier."):
        return name
    for prefix in ("convnext.", "convnextv2."):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    else:
        return None
    for pattern, repl in _RULES:
        if pattern.match(name):
            return pattern.sub(repl, name)
    m = _STAGE.match(name)
    if not m:
        return None
    stage, rest = int(m.group(1)), m.group(2)
    if rest.startswith("downsampling_layer."):
        idx, leaf = rest[len("downsampling_layer."):].split(".", 1)
        if idx == "0":
            leaf = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
        return f"feature.{2 * stage}.{idx}.{leaf}"
    if rest.startswith("layers."):
        block, leaf = rest[len("layers."):].split(".", 1)
        return f"feature.{2 * stage + 1}.{block}.{_BLOCK_LEAF.get(leaf, leaf)}"
    return None


def mindcv_to_hf(name: str, version: int) -> str | None:
    """The inverse of :func:`hf_to_mindcv`, for writing MindCV weights in transformers layout."""
    prefix = "convnextv2." if version == 2 else "convnext."
    if name.startswith("classifier."):
        return name
    fixed = {"feature.0.0.weight": "embeddings.patch_embeddings.weight",
             "feature.0.0.bias": "embeddings.patch_embeddings.bias",
             "feature.0.1.gamma": "embeddings.layernorm.weight", "feature.0.1.beta": "embeddings.layernorm.bias",
             "norm.gamma": "layernorm.weight", "norm.beta": "layernorm.bias"}
    if name in fixed:
        return prefix + fixed[name]
    m = re.match(r"^feature\.(\d+)\.(\d+)\.(.+)$", name)
    if not m:
        return None
    part, idx, leaf = int(m.group(1)), m.group(2), m.group(3)
    if part % 2 == 0:
        if idx == "0":
            leaf = {"gamma": "weight", "beta": "bias"}.get(leaf, leaf)
        return f"{prefix}encoder.stages.{part // 2}.downsampling_layer.{idx}.{leaf}"
    back = {v: k for k, v in _BLOCK_LEAF.items()}
    return f"{prefix}encoder.stages.{part // 2}.layers.{idx}.{back.get(leaf, leaf)}"


def rename_hf(names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Map transformers names to MindCV names; the second list holds the names nothing maps to."""
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for n in names:
        target = hf_to_mindcv(n)
        if target is None:
            unknown.append(n)
        else:
            mapping[n] = target
    return mapping, unknown
