"""The one record type both card dialects produce, and the registry stores.

Dialect schemas (``card/mshub.py``, ``card/hfcard.py``) describe what a card file may say;
this describes what the hub needs to know about a model, whatever the dialect.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_TOPK = re.compile(r"top(\d+)")
#: Datasets whose plain "accuracy" is a classifier's top-1.
_CLASSIFICATION_SETS = ("imagenet", "cifar", "mnist", "cats_vs_dogs", "beans", "food101", "digits")


def metric_key(name: str) -> str:
    """A spelling-free key so ``top1acc``, ``Top-1 (%)``, ``acc@top1`` and ``top1_accuracy`` compare equal."""
    k = re.sub(r"[^a-z0-9]", "", name.lower())
    top = _TOPK.search(k)
    if top and k.replace(top.group(0), "") in ("", "acc", "accuracy"):
        return f"top{top.group(1)}"
    for suffix in ("accuracy", "acc"):
        if k.endswith(suffix) and len(k) > len(suffix):
            k = k[: -len(suffix)]
    return k


def top1_percent(metrics: Mapping[str, float], *, classification: bool = True) -> tuple[float, str] | None:
    """The top-1 accuracy among ``metrics`` in percent, and the metric name it was read from.

    The one rule ``hub list --min-top1`` and ``hub eval`` share: a metric whose key is ``top1`` first (any
    spelling, see :func:`metric_key`); for a classifier, plain ``accuracy`` or ``acc`` next. Cards write a
    fraction (Hugging Face, 0.9973) or a percentage (MindSpore Hub, 81.28): a value of at most 1 is a fraction.
    """
    by_key: dict[str, tuple[str, float]] = {}
    for name, value in metrics.items():
        by_key.setdefault(metric_key(name), (name, float(value)))
    for key in ("top1", "accuracy", "acc") if classification else ("top1",):
        if key in by_key:
            name, value = by_key[key]
            return (value * 100 if value <= 1.0 else value), name
    return None


IMAGENET_1K = "imagenet-1k"


def benchmark_key(dataset: str) -> str:
    """The benchmark a dataset name means, so accuracies are compared only on the same one: every spelling of
    ImageNet-1k (``ImageNet2012``, ``imagenet-1k``, ``ILSVRC2012``, ``imagenet``) is ``imagenet-1k``, the
    21k/22k releases are ``imagenet-22k``, anything else is its own name in lower case."""
    k = re.sub(r"[^a-z0-9]", "", dataset.lower())
    if k.startswith(("imagenet", "ilsvrc")):
        return "imagenet-22k" if ("21k" in k or "22k" in k) else IMAGENET_1K
    return dataset.strip().lower()


class Dialect(StrEnum):
    MINDSPORE_HUB = "mindspore-hub"
    HUGGINGFACE = "huggingface"


class AssetRecord(BaseModel):
    """A file to download: from a plain HTTPS URL, or a path in a Hugging Face repo."""

    model_config = ConfigDict(frozen=True)

    filename: str
    format: str
    url: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    #: Lower-case hex as the card wrote it: a full digest or a prefix (see ``sha256_kind``).
    sha256: str | None = None
    sha256_kind: Literal["full", "prefix", "none"] = "none"
    #: The hash MindCV put in the file name, when there is one.
    name_hash: str | None = None
    size: int | None = None


class MetricRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: float | str
    dataset: str | None = None
    split: str | None = None
    #: Where the figure was stated: ``front-matter`` (MindSpore ``evaluation``), ``model-index``, ``table``.
    source: str = "front-matter"


class VariantRecord(BaseModel):
    """A sibling model named in the card body's results table, with its own weights."""

    model_config = ConfigDict(frozen=True)

    name: str
    metrics: dict[str, float] = Field(default_factory=dict)
    weights: list[str] = Field(default_factory=list)
    line: int


class ModelRecord(BaseModel):
    name: str
    #: MindSpore Hub uid (``mindspore/2.5/convnext_tiny_imagenet2012``) or Hugging Face repo id.
    uid: str | None = None
    dialect: Dialect
    title: str | None = None
    architecture: str | None = None
    framework: str | None = None
    task: str | None = None
    datasets: list[str] = Field(default_factory=list)
    metrics: list[MetricRecord] = Field(default_factory=list)
    #: The evaluation text as written, for MindSpore Hub cards.
    evaluation_raw: str | None = None
    assets: list[AssetRecord] = Field(default_factory=list)
    license: str | None = None
    license_raw: str | None = None
    version: str | None = None
    mindspore_version: str | None = None
    updated: dt.date | None = None
    base_model: str | None = None
    tags: list[str] = Field(default_factory=list)
    summary: str | None = None
    author: str | None = None
    card_path: str | None = None
    #: The commit a card fetched from a hub came from (a Hugging Face repo's sha), and the refs that named it.
    revision: str | None = None
    refs: list[str] = Field(default_factory=list)
    body: str = ""
    variants: list[VariantRecord] = Field(default_factory=list)
    #: Where the model's OpenSSF signature lies (a MindSpore Hub card's ``signature-link``); a Hugging Face repo
    #: carries its own ``model.sig``.
    signature_url: str | None = None

    def metric(self, key: str) -> float | None:
        """A numeric metric by spelling-free key (``top1`` finds ``top1acc`` and ``Top-1 (%)``)."""
        want = metric_key(key)
        for name, value in self.numeric_metrics().items():
            if metric_key(name) == want:
                return value
        return None

    def numeric_metrics(self) -> dict[str, float]:
        """Metric name → value for the metrics that are numbers (the first of a name wins)."""
        out: dict[str, float] = {}
        for m in self.metrics:
            if isinstance(m.value, (int, float)) and not isinstance(m.value, bool):
                out.setdefault(m.name, float(m.value))
        return out

    def top1(self) -> tuple[float, str] | None:
        """The card's top-1 accuracy in percent and the metric it came from (see :func:`top1_percent`)."""
        classification = "classification" in (self.task or "") or any(
            d.lower().startswith(_CLASSIFICATION_SETS) for d in self.datasets)
        return top1_percent(self.numeric_metrics(), classification=classification)

    def top1_benchmark(self) -> str | None:
        """The benchmark (see :func:`benchmark_key`) the card's top-1 was measured on: the metric's own dataset,
        else the card's first dataset; None when the card claims no top-1 or names no dataset. A 99.7% on
        cats-vs-dogs is not an ImageNet top-1, and ``hub list --min-top1`` must not count it as one."""
        found = self.top1()
        if found is None:
            return None
        metric = next((m for m in self.metrics if m.name == found[1]), None)
        dataset = (metric.dataset if metric else None) or next(iter(self.datasets), None)
        return benchmark_key(dataset) if dataset else None
