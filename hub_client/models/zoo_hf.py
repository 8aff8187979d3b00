"""MindCV's zoo as transformers' configs say it: which MindCV architecture a repo's ``config.json`` describes, and
where the numerics it says differ from what MindCV's network computes. Framework-free: the loader decides from
the config alone whether a repo runs on MindSpore, and ``hub convert`` writes the notes.
"""

from __future__ import annotations

import math
from typing import Any

from .zoo_maps import CONFIG_APPROXIMATES, CONFIGS, FAMILIES, NOT_IN_CONFIG, NUMERICS
from .zoo_torch import config_kwargs

#: The key of ``config.json`` that names MindCV's architecture (``hub convert`` writes it; transformers keeps
#: unknown keys as attributes).
ARCH_KEY = "mindcv_architecture"


def arch_for_config(cfg: dict[str, Any]) -> str | None:
    """The MindCV architecture ``cfg`` describes: its ``mindcv_architecture``, else the first architecture with a
    map whose structure (every config field but the numerics) the config has; None for another network."""
    named = cfg.get(ARCH_KEY)
    if isinstance(named, str) and named in CONFIGS:
        return named
    for arch, (family, _) in CONFIGS.items():
        if FAMILIES[family].model_type != cfg.get("model_type"):
            continue
        if all(same(cfg.get(k), v) for k, v in config_kwargs(arch).items() if k not in NUMERICS):
            return arch
    return None


def same(theirs: Any, ours: Any) -> bool:
    """Config values compared as JSON holds them (lists for tuples, ints for whole floats)."""
    if isinstance(ours, (list, tuple)):
        return isinstance(theirs, (list, tuple)) and len(theirs) == len(ours) and all(
            same(a, b) for a, b in zip(theirs, ours, strict=True))
    if isinstance(ours, float) and isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        return math.isclose(theirs, ours, rel_tol=1e-9)
    return bool(theirs == ours)


#: transformers' names of the exact GELU, which MindSpore's ``nn.GELU`` computes with ``approximate='none'``.
_EXACT_GELU = ("gelu", "gelu_python")


def mindspore_changes(arch: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """What MindCV's network of ``arch`` is told so that it computes what a repo's config says where that differs
    from MindCV's own numerics and MindSpore can do it: the exact GELU where MindCV runs the tanh one
    (``{"gelu": "none"}``), and a ViT's LayerNorm epsilon (``{"layer_norm_eps": 1e-12}``: transformers' ViT uses
    the one value everywhere, as MindCV's does)."""
    ours = config_kwargs(arch)
    changes: dict[str, Any] = {}
    if ours.get("hidden_act") == "gelu_pytorch_tanh" and cfg.get("hidden_act") in _EXACT_GELU:
        changes["gelu"] = "none"
    eps = cfg.get("layer_norm_eps")
    if CONFIGS[arch][0] == "vit" and isinstance(eps, (int, float)) and not same(eps, ours["layer_norm_eps"]):
        changes["layer_norm_eps"] = float(eps)
    return changes


def numerics_gaps(arch: str, cfg: dict[str, Any], *, changeable: bool = False) -> list[str]:
    """Where a repo of ``arch`` computes otherwise than MindCV's network: the config fields that say other
    numerics (with ``changeable``, less those :func:`mindspore_changes` makes MindCV's network compute), and what
    no field says for the family (transformers' own network always computes it its way)."""
    ours = config_kwargs(arch)
    made = mindspore_changes(arch, cfg) if changeable else {}
    done = {"hidden_act"} if "gelu" in made else set()
    done |= {"layer_norm_eps"} if "layer_norm_eps" in made else set()
    gaps = [f"config.json says {k}={cfg[k]!r} where MindCV's {arch} computes {k}={ours[k]!r}"
            for k in NUMERICS if k in cfg and k in ours and k not in done and not same(cfg[k], ours[k])]
    family = CONFIGS[arch][0]
    if family in NOT_IN_CONFIG:
        gaps.append(f"{NOT_IN_CONFIG[family]}: the repo's weights were made for transformers' way")
    return gaps


def approximation(arch: str) -> str | None:
    """What transformers' config cannot set for ``arch`` although it changes the logits only slightly."""
    return CONFIG_APPROXIMATES.get(CONFIGS[arch][0])
