"""Hugging Face image classifiers in transformers' format (ViT, ResNet, Swin, EfficientNet, MobileNet, RegNet,
BEiT, DeiT, ...): the spec ``AutoModelForImageClassification`` builds from the repo's ``config.json``.

No framework import here: the model types are a table (kept equal to transformers' own mapping by a test), so
``hub list`` says a repo loads on PyTorch without importing transformers. The network is built from the config
alone (``from_config``, never remote code) and the repo's weights are loaded strictly by the same steps as every
other network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .labels import config_labels

#: transformers' ``MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES`` (5.x), less what needs another library
#: (``timm_wrapper``: timm) or is not an image classifier of its own (vision-language towers).
AUTO_TYPES = frozenset({
    "beit", "bit", "convnext", "convnextv2", "cvt", "data2vec-vision", "deit", "dinat", "dinov2",
    "dinov2_with_registers", "donut-swin", "efficientnet", "focalnet", "hgnet_v2", "hiera", "ijepa", "imagegpt",
    "levit", "mobilenet_v1", "mobilenet_v2", "mobilevit", "mobilevitv2", "perceiver", "poolformer", "pp_lcnet",
    "pvt", "pvt_v2", "regnet", "resnet", "segformer", "swiftformer", "swin", "swinv2", "textnet", "vit", "vit_msn",
})
#: Left out of :data:`AUTO_TYPES`, and why.
LEFT_OUT = {
    "timm_wrapper": "a timm network: timm needs torchvision, which does not load beside the CPU torch here",
    "clip": "a vision-language model", "siglip": "a vision-language model", "siglip2": "a vision-language model",
    "metaclip_2": "a vision-language model", "shieldgemma2": "a vision-language model",
}


@dataclass(frozen=True)
class AutoSpec:
    """A transformers image classifier: its repo folder's ``config.json`` builds it."""

    name: str
    model_type: str
    #: The folder holding ``config.json`` (the pulled snapshot).
    folder: Path
    num_classes: int = 1000
    in_channels: int = 3
    #: The classifier's parameter prefix: what a fresh head leaves as built.
    head: str = "classifier."
    origin: str = "huggingface"
    labels: tuple[str, ...] | None = field(default=None, compare=False)
    engine: str = field(default="", compare=False)
    precision: str = field(default="fp32", compare=False)

    def with_classes(self, num_classes: int) -> AutoSpec:
        return replace(self, num_classes=num_classes, labels=None)


def auto_spec(cfg: dict[str, Any], folder: Path, *, name: str) -> AutoSpec | None:
    """The spec a transformers ``config.json`` describes, for a model type of :data:`AUTO_TYPES`; else None.

    Raises:
        ValueError: a config that asks for code from the repo (``auto_map``), which is never run.
    """
    model_type = str(cfg.get("model_type", "")).lower()
    if model_type not in AUTO_TYPES:
        return None
    if cfg.get("auto_map"):
        raise ValueError("config.json asks for the repo's own code (auto_map); the hub never runs downloaded code")
    labels, num_classes = config_labels(cfg)
    channels = int(cfg.get("num_channels", 3))
    return AutoSpec(name=name, model_type=model_type, folder=folder, num_classes=num_classes, in_channels=channels,
                    labels=labels)
