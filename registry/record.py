"""The one record type both card dialects produce, and the registry stores.

Dialect schemas (``mshub.py``, ``hfcard.py``) describe what a card file may say;
this describes what the hub needs to know about a model, whatever the dialect.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    body: str = ""
    variants: list[VariantRecord] = Field(default_factory=list)

    def metric(self, key: str) -> float | None:
        """A numeric metric by spelling-free key (``top1`` finds ``top1acc`` and ``Top-1 (%)``)."""
        from .evaluation import metric_key

        want = metric_key(key)
        for m in self.metrics:
            if metric_key(m.name) == want and isinstance(m.value, (int, float)):
                return float(m.value)
        return None
