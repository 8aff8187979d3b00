"""What the registry hands out: its sources, a sync's report, a row of ``hub list`` and ``hub search``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
