"""MindCV's model zoo as a table read without MindSpore: which architecture a MindSpore Hub card's checkpoint is,
and the spec the MindSpore backend builds it from with ``mindcv.create_model``.

The table (``hub_client/data/mindcv_models.tsv``) is written by ``scripts/mindcv_table.py`` from the pinned
MindCV's registry, and a test keeps it in step. A card names its architecture loosely: the catalogue's
``vit_b32_224`` is MindCV's ``vit_b_32_224``, and its asset ``vit_b_32_224-a2165e72-910v2.ckpt`` says it
exactly; so names are compared without case or separators, the asset's file name first. When several
architectures fit the names, the checkpoint's parameter names decide (in the backend, which can build each).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from registry.record import Dialect, ModelRecord

#: What a MindSpore Hub asset's file name adds after the architecture: ``-<hex>`` and a device tag.
_ASSET_TAIL = re.compile(r"-[0-9a-f]{8,}(-[0-9a-z]+)?$", re.IGNORECASE)
#: Families of the pinned MindCV that do not build or run on the MindSpore this project installs, and why (each
#: found by ``tests/hub_client/models/test_zoo.py``; MindCV's later sources fix the second, not the first).
UNRUNNABLE = {
    "rexnet": "MindCV 0.3.0's ReXNet reshapes a lazily initialised bias as it builds, which MindSpore 2.10 refuses",
    "pvt": "MindCV 0.3.0's PVT calls ops.ResizeBilinear, which MindSpore 2.10 no longer has",
}
#: Input sizes MindCV's configs use where its ``default_cfgs`` do not say (``image_resize``).
_SIZE_BY_MODULE = {"inceptionv3": 299, "inceptionv4": 299, "xception": 299}


@dataclass(frozen=True)
class Arch:
    """One architecture MindCV registers: its model file (the family), its classifier and first convolution."""

    name: str
    module: str
    classifier: str
    first_conv: str
    input_size: int | None
    num_classes: int | None


@dataclass(frozen=True)
class ZooSpec:
    """A MindCV network: what ``mindcv.create_model`` builds, and what the weights file says of it."""

    name: str
    family: str
    num_classes: int = 1000
    in_channels: int = 3
    #: The classifier's parameter prefix (``classifier.``, ``head.``, ...): what a fresh head leaves as built.
    head: str = "classifier."
    image_size: int = 224
    #: Other architectures the card's names fit; the checkpoint's parameter names choose among them.
    alternatives: tuple[str, ...] = ()
    origin: str = "mindcv"
    #: What MindCV's network is told to compute as the weights' own numerics say, where they are not MindCV's (a
    #: transformers repo run on MindSpore: ``zoo_hf.mindspore_changes``), as (name, value) pairs.
    changes: tuple[tuple[str, Any], ...] = ()
    labels: tuple[str, ...] | None = field(default=None, compare=False)
    engine: str = field(default="", compare=False)
    precision: str = field(default="fp32", compare=False)

    def with_classes(self, num_classes: int) -> ZooSpec:
        return replace(self, num_classes=num_classes, labels=None)


def key(text: str) -> str:
    """A name as compared: lower case, letters and digits only (``vit_b32_224`` and ``vit_b_32_224`` agree)."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Arch]:
    """Every architecture of the pinned MindCV, by name."""
    text = resources.files("hub_client").joinpath("data/mindcv_models.tsv").read_text(encoding="utf-8")
    out: dict[str, Arch] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, module, classifier, first_conv, size, classes = (line.split("\t") + [""] * 6)[:6]
        out[name] = Arch(name, module, classifier, first_conv, int(size) if size else
                         _SIZE_BY_MODULE.get(module), int(classes) if classes else None)
    return out


@functools.lru_cache(maxsize=1)
def _by_key() -> dict[str, str]:
    return {key(name): name for name, arch in table().items() if arch.num_classes}  # classifiers only


def asset_stem(filename: str) -> str:
    """The architecture part of a MindSpore Hub asset's name: ``vit_b_32_224-a2165e72-910v2.ckpt`` →
    ``vit_b_32_224``."""
    stem = Path(filename).name
    for suffix in (".ckpt", ".safetensors"):
        stem = stem.removesuffix(suffix)
    return _ASSET_TAIL.sub("", stem)


def arch_named(text: str) -> str | None:
    """MindCV's classifier architecture ``text`` names, compared without case or separators; None for none."""
    return _by_key().get(key(text))


def candidates(record: ModelRecord) -> list[str]:
    """The MindCV architectures a MindSpore Hub card may describe, most certain first: its checkpoint's file name,
    then its model name, uid and title. Empty for a Hugging Face card or a card MindCV does not build."""
    if record.dialect is not Dialect.MINDSPORE_HUB:
        return []
    texts = [asset_stem(a.filename) for a in record.assets if a.filename.endswith(".ckpt")]
    texts += [t for t in (record.name, record.uid, record.title) if t]
    found: list[str] = []
    for text in texts:
        name = _by_key().get(key(text))
        if name is not None and name not in found:
            found.append(name)
    return found


def names_fit(name: str, uid: str | None = None, title: str | None = None) -> bool:
    """Whether a card with these names is a MindCV architecture that runs here (for a listing: no asset names at
    hand; a backbone name is a family, not an architecture, so it is not compared)."""
    return any((found := _by_key().get(key(t))) and not unrunnable(found) for t in (name, uid, title) if t)


def unrunnable(name: str) -> str | None:
    """Why MindCV's ``name`` cannot run here, or None."""
    arch = table().get(name)
    return UNRUNNABLE.get(arch.module) if arch else None


def spec_for_arch(name: str, shapes: dict[str, tuple[int, ...]] | None = None,
                  alternatives: tuple[str, ...] = ()) -> ZooSpec:
    """The spec of MindCV's ``name``; with the weights file's ``shapes``, its classes and input channels as the file
    has them (a fine-tuned checkpoint keeps its own head)."""
    arch = table()[name]
    head = f"{arch.classifier}." if arch.classifier else _head_of(shapes)
    if shapes and f"{head}weight" not in shapes:  # MindCV 0.3.0's ViT names "head.classifier", holds "head.weight"
        head = _head_of(shapes)
    num_classes = arch.num_classes or 1000
    in_channels = 3
    if shapes:
        weight = shapes.get(f"{head}weight")
        if weight:
            num_classes = int(weight[0])
        first = shapes.get(f"{arch.first_conv}.weight") if arch.first_conv else None
        if first and len(first) == 4:
            in_channels = int(first[1])
    return ZooSpec(name=name, family=arch.module, num_classes=num_classes, in_channels=in_channels, head=head,
                   image_size=arch.input_size or 224, alternatives=alternatives)


def _head_of(shapes: dict[str, tuple[int, ...]] | None) -> str:
    """A classifier's prefix the table does not give: the last 2-D weight in the file (a Dense layer)."""
    dense = [k for k, s in (shapes or {}).items() if k.endswith(".weight") and len(s) == 2]
    return dense[-1].removesuffix("weight") if dense else "classifier."
