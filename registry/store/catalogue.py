"""Every indexed model as a catalogue shows it: one row each, with what tells duplicates apart (the MindSpore
version, the dialect, the kind of source) and what a catalogue filters and sorts on (family, framework,
datasets, license, top-1, the files and their sizes, a signature), read in one query.

Nothing here is a path of the machine: a source is its kind and, for a folder, its name only (``where``), so
whoever shows a row to others shows nothing of how the machine is laid out.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from registry.config import BUNDLED, CATALOG, REMOTE


@dataclass(frozen=True)
class FileRow:
    """One file of a card: its name, where it is fetched from (a URL, or a Hugging Face repo), what the card
    says of its size and sha256."""

    filename: str
    url: str | None
    repo_id: str | None
    size: int | None
    sha256: str | None
    sha256_kind: str


@dataclass(frozen=True)
class CatalogueRow:
    id: int
    name: str
    uid: str | None
    dialect: str
    architecture: str | None
    framework: str | None
    task: str | None
    datasets: tuple[str, ...]
    license: str | None
    top1: float | None
    top1_benchmark: str | None
    mindspore_version: str | None
    version: str | None
    updated: str | None
    summary: str | None
    #: The card's lint status: ``ok``, ``warnings`` or ``errors``.
    status: str
    #: ``bundled``, ``catalog`` (the MindSpore Hub catalogue), ``remote`` (fetched from a hub) or ``user``.
    source_kind: str
    #: Where the source is, without its path: a folder's own name (``mindspore-hub``), else the kind.
    where: str
    #: The card's path inside its source (``mindspore/2.5/convnext_tiny_imagenet2012.md``).
    relpath: str
    signature_url: str | None
    files: tuple[FileRow, ...]

    @property
    def label(self) -> str:
        """The name with the version it is for (``convnext_tiny@2.5``), as ``hub pull`` takes it."""
        return pinned(self.name, self.mindspore_version, self.version)

    @property
    def card_size(self) -> int | None:
        """The bytes of the files the card gives sizes for; None when it gives none."""
        sizes = [f.size for f in self.files if f.size is not None]
        return sum(sizes) if sizes else None


_SQL = """
    SELECT m.id, m.name, m.uid, m.dialect, m.architecture, m.framework, m.task, m.datasets, m.license, m.top1,
           m.top1_benchmark, m.mindspore_version, m.version, m.updated, m.summary, c.status, c.relpath,
           s.kind AS source_kind, s.path AS source_path, json_extract(c.record, '$.signature_url') AS signature_url,
           (SELECT json_group_array(json_array(a.filename, a.url, a.repo_id, a.size, a.sha256, a.sha256_kind))
            FROM (SELECT * FROM assets WHERE model_id = m.id ORDER BY idx) a) AS files
    FROM models m JOIN cards c ON c.id = m.id JOIN sources s ON s.id = c.source_id
    ORDER BY m.name, m.mindspore_version DESC, m.id
"""


def pinned(name: str, mindspore_version: str | None, version: str | None) -> str:
    """A card's name with the version it is for (``convnext_tiny@2.5``), as ``hub pull`` takes it."""
    pin = mindspore_version or version
    return f"{name}@{pin}" if pin else name


def where_of(kind: str, path: str | None) -> str:
    """A source without its path: a folder's own name, else its kind (``bundled``, ``catalog``, ``remote``)."""
    if kind == "user" and path:
        return PurePath(path).name or kind
    return kind


def catalogue_rows(conn: sqlite3.Connection) -> list[CatalogueRow]:
    """Every model of the registry open on ``conn``, by name then newest MindSpore first."""
    cur = conn.execute(_SQL)
    keys = [d[0] for d in cur.description]
    out = []
    for values in cur:
        r: dict[str, Any] = dict(zip(keys, values, strict=True))
        files = tuple(FileRow(*f) for f in json.loads(r["files"] or "[]"))
        out.append(CatalogueRow(
            id=r["id"], name=r["name"], uid=r["uid"], dialect=r["dialect"], architecture=r["architecture"],
            framework=r["framework"], task=r["task"], datasets=tuple(json.loads(r["datasets"] or "[]")),
            license=r["license"], top1=r["top1"], top1_benchmark=r["top1_benchmark"],
            mindspore_version=r["mindspore_version"], version=r["version"], updated=r["updated"],
            summary=r["summary"], status=r["status"], source_kind=r["source_kind"],
            where=where_of(r["source_kind"], r["source_path"]), relpath=r["relpath"],
            signature_url=r["signature_url"], files=files))
    return out


#: The kinds of source, in the words a page uses.
SOURCE_WORDS = {BUNDLED: "bundled with hub", CATALOG: "MindSpore Hub catalogue", REMOTE: "fetched from a hub",
                "user": "indexed folder"}
