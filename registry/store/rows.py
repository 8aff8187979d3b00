"""What the registry hands out: its sources, a sync's report, a row of ``hub list`` and ``hub search``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.record import ModelRecord, metric_key

from .resolve import name_key


@dataclass(frozen=True)
class Source:
    id: int
    kind: str
    label: str
    root: Path


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    #: Sources whose folder is gone (moved, deleted, unmounted): their cards are kept until it is removed.
    missing: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class Listing:
    """One row of ``hub list`` / ``hub search``."""

    id: int
    name: str
    uid: str | None
    dialect: str
    architecture: str | None
    framework: str | None
    datasets: list[str]
    top1: float | None
    #: The benchmark the top-1 was measured on (``imagenet-1k``, ``sklearn-digits``...).
    top1_benchmark: str | None
    mindspore_version: str | None
    status: str
    source: str
    path: str
    score: float | None = None
    #: Why a search result matched when not by its name (``registry.store.fulltext.matched``).
    matched: str | None = None
    #: A search result's tier: 0 its name is the search, 1 its name starts with it, 2 the rest; None in a list.
    tier: int | None = None


def model_rows(mid: int, rec: ModelRecord) -> dict[str, list[dict[str, Any]]]:
    """The rows one record becomes, by table (``models``, ``assets``, ``metrics``, ``variants``)."""
    return {
        "models": [{
            "id": mid, "name": rec.name, "name_key": name_key(rec.name), "uid": rec.uid,
            "dialect": rec.dialect.value, "architecture": rec.architecture, "framework": rec.framework,
            "task": rec.task, "datasets": json.dumps(rec.datasets), "license": rec.license, "version": rec.version,
            "mindspore_version": rec.mindspore_version, "updated": rec.updated.isoformat() if rec.updated else None,
            "base_model": rec.base_model, "author": rec.author, "summary": rec.summary, "body": rec.body,
            "top1": top1[0] if (top1 := rec.top1()) else None, "top1_benchmark": rec.top1_benchmark(),
            "revision": rec.revision, "refs": json.dumps(rec.refs),
        }],
        "assets": [{"model_id": mid, "idx": i, **a.model_dump()} for i, a in enumerate(rec.assets)],
        "metrics": [
            {"model_id": mid, "name": m.name, "key": metric_key(m.name),
             "value": float(m.value) if isinstance(m.value, (int, float)) else None,
             "value_text": None if isinstance(m.value, (int, float)) else str(m.value),
             "dataset": m.dataset, "split": m.split, "source": m.source}
            for m in rec.metrics
        ],
        "variants": [
            {"model_id": mid, "name": v.name, "metrics": json.dumps(v.metrics), "weights": json.dumps(v.weights),
             "line": v.line}
            for v in rec.variants
        ],
    }
