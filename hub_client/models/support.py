"""What the loader builds, as a table read without any framework or numpy: which cards can be loaded, and on
which backends, is known from the registry's row before a byte of weights is fetched (``hub list``, ``hub info``,
and ``load_model``'s first step)."""

from __future__ import annotations

import re

from registry.record import Dialect, ModelRecord

from . import zoo, zoo_torch
from .auto_spec import AUTO_TYPES

#: (depths, dims) of every variant that has a loader, by its MindCV name.
VARIANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "convnext_xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
    "convnextv2_atto": ((2, 2, 6, 2), (40, 80, 160, 320)),
    "convnextv2_femto": ((2, 2, 6, 2), (48, 96, 192, 384)),
    "convnextv2_pico": ((2, 2, 6, 2), (64, 128, 256, 512)),
    "convnextv2_nano": ((2, 2, 8, 2), (80, 160, 320, 640)),
    "convnextv2_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnextv2_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnextv2_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "convnextv2_huge": ((3, 3, 27, 3), (352, 704, 1408, 2816)),
}
#: transformers' ``model_type`` values the loader builds.
HF_MODEL_TYPES = ("convnext", "convnextv2")
#: The backends every loadable ConvNeXt runs on (MindCV's network, transformers' network; OpenVINO from the latter).
BACKENDS = ("mindspore", "torch")
#: The backends the rest of MindCV's zoo runs on (its PyTorch name maps are not written yet).
ZOO_BACKENDS = ("mindspore",)
#: The backends transformers' other image classifiers run on.
AUTO_BACKENDS = ("torch",)

_VARIANT_RE = re.compile(r"convnext(v2)?[_-](atto|femto|pico|nano|tiny|small|base|large|xlarge|huge)(?![a-z])",
                         re.IGNORECASE)


def variant_name(text: str | None) -> str | None:
    """The loader variant a model name mentions (``convnext_tiny_imagenet2012`` → ``convnext_tiny``)."""
    if not text:
        return None
    m = _VARIANT_RE.search(text)
    if not m:
        return None
    name = f"convnext{'v2' if m.group(1) else ''}_{m.group(2).lower()}"
    return name if name in VARIANTS else None


def mentions_convnext(record: ModelRecord) -> bool:
    return any("convnext" in (t or "").lower() for t in (record.name, record.architecture, record.title))


def backends_for(dialect: str, name: str, architecture: str | None, uid: str | None = None,
                 title: str | None = None) -> tuple[str, ...] | None:
    """The backends a card can be loaded on, from what the registry holds of it: () when no loader builds it,
    None when only its files can tell (a Hugging Face repo whose ``config.json`` has not been read)."""
    if dialect == Dialect.HUGGINGFACE.value:
        if not architecture:
            return None
        if architecture.lower() in HF_MODEL_TYPES:
            return BACKENDS
        return AUTO_BACKENDS if architecture.lower() in AUTO_TYPES else ()
    texts = (name, title, uid, architecture)
    if any(variant_name(t) for t in texts) or any("convnext" in (t or "").lower() for t in texts):
        return BACKENDS
    return ZOO_BACKENDS if zoo.names_fit(name, uid, title) else ()


def record_backends(record: ModelRecord) -> tuple[str, ...] | None:
    """:func:`backends_for` with the whole record at hand: a MindSpore Hub asset's file name names MindCV's
    architecture exactly (``vit_b_32_224-a2165e72-910v2.ckpt``)."""
    found = backends_for(record.dialect.value, record.name, record.architecture, record.uid, record.title)
    names = zoo.candidates(record)
    if found == () and names and not zoo.unrunnable(names[0]):
        return (*ZOO_BACKENDS, "torch") if zoo_torch.supports(names[0]) else ZOO_BACKENDS
    return found
