"""From what a user types to one card: pins, ranking, did-you-mean, as pure functions over candidate rows.

``convnext_tiny`` can match several cards (MindSpore Hub publishes it for 2.3 and
2.5): we take the newest one the installed MindSpore can run, else the newest,
and say which and why. The installed version is read from package metadata, so
resolving never imports MindSpore. The SQL that finds the candidates lives in
``db.py``; nothing here touches the database.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from registry.config import BUNDLED, CATALOG, REMOTE
from registry.errors import UnknownModelError, UsageError
from registry.record import ModelRecord

#: ``mindspore_version=DETECT`` (the default) asks the installed package; None means "not installed".
DETECT: Any = object()


@dataclass(frozen=True)
class Candidate:
    """One card a spec may mean, as ``db.py`` reads it from the index."""

    id: int
    name: str
    uid: str | None
    dialect: str
    mindspore_version: str | None
    version: str | None
    updated: str | None
    source: str
    source_kind: str
    #: The commit a fetched card came from, and the refs that named it.
    revision: str | None = None
    refs: tuple[str, ...] = ()


@dataclass
class Resolution:
    """The card a spec resolved to, its lint status, and the other candidates."""

    spec: str
    record: ModelRecord
    candidate: Candidate
    status: str
    diagnostics: list[dict[str, Any]]
    candidates: list[Candidate] = field(default_factory=list)
    #: Why this card, when several matched; None when only one did.
    reason: str | None = None


@dataclass(frozen=True)
class Query:
    """A parsed spec: ``name``, a MindSpore Hub uid or HF id (``uid``), ``hf:org/name`` (``hf``), and a pin."""

    kind: Literal["name", "uid", "hf"]
    text: str
    pin: str | None = None


#: A Hugging Face repo id as huggingface_hub's ``validate_repo_id`` accepts it: ``[org/]name``.
_HF_REPO = re.compile(r"(?=.{1,96}$)(?:[\w.-]+/)?[\w.-]+")


def parse_spec(spec: str) -> Query:
    """``convnext_tiny@2.3`` → a name with a pin; ``org/repo`` → a uid; ``hf:org/repo`` (or timm's
    ``hf-hub:org/repo``) → a Hugging Face id; ``@REV`` pins a version, a branch or tag, or a commit."""
    text = spec.strip()
    pin = None
    if "@" in text:
        text, _, pin = text.rpartition("@")
    for prefix in ("hf:", "hf-hub:"):
        if text.startswith(prefix):
            repo = text[len(prefix):]
            if not _HF_REPO.fullmatch(repo) or "--" in repo or ".." in repo:
                raise UsageError(f"{spec!r} names no Hugging Face repo: write {prefix}org/name (letters, digits, "
                                 "'-', '_' and '.'; at most 96 characters)")
            return Query("hf", repo, pin)
    return Query("uid" if "/" in text else "name", text, pin)


def name_key(name: str) -> str:
    """Case, ``-`` and ``_`` folded: how did-you-mean finds ``ConvNeXt-Tiny`` for ``convnext_tiny``."""
    return name.lower().replace("-", "_").replace(" ", "_")


def installed_mindspore() -> str | None:
    try:
        return importlib.metadata.version("mindspore")
    except importlib.metadata.PackageNotFoundError:
        return None


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"1.10"`` -> (1, 10): versions compare as numbers per component, never as floats."""
    if not text:
        return ()
    return tuple(int(p) for p in re.findall(r"\d+", text)[:4])


def pinned(rows: list[Candidate], query: Query, spec: str) -> list[Candidate]:
    """The candidates the pin names (a card version or a MindSpore version); none is ``UnknownModelError``."""
    if query.pin is None:
        return rows
    kept = [c for c in rows if query.pin in (c.version, c.mindspore_version, *c.refs) or _same_commit(c, query.pin)]
    if not kept:
        versions = sorted({c.mindspore_version or c.version or "" for c in rows} - {""}, key=version_tuple)
        raise UnknownModelError(spec, [f"{query.text}@{v}" for v in versions])
    return kept


def _same_commit(c: Candidate, pin: str) -> bool:
    """A pin of at least 7 hex digits names a commit by its start, as git does."""
    return c.revision is not None and len(pin) >= 7 and c.revision.startswith(pin.lower())


def _covers(card: tuple[int, ...], installed: tuple[int, ...]) -> bool:
    """A card made for MindSpore 2.3 runs on 2.3.x and later; compare on the card's own precision."""
    return card[: len(installed)] <= installed[: len(card)] if card else True


def _newest_key(c: Candidate) -> tuple[Any, ...]:
    return (version_tuple(c.mindspore_version), c.updated or "", c.source_kind != BUNDLED, c.id)


def choose(rows: list[Candidate], mindspore_version: Any = DETECT) -> tuple[Candidate, str | None]:
    """The best of several candidates, and why in words (None when there was only one)."""
    if len(rows) == 1:
        return rows[0], None
    ordered = sorted(rows, key=_newest_key, reverse=True)
    listed = ", ".join(_label(c) for c in ordered)
    if all(c.mindspore_version is None for c in rows):  # Hugging Face cards: no MindSpore to choose for
        c = ordered[0]
        return c, f"{len(rows)} cards match: {listed}; chose the newest, {_label(c)} (pin one with NAME@REV)"
    installed = installed_mindspore() if mindspore_version is DETECT else mindspore_version
    if installed:
        have = version_tuple(installed)
        fits = [c for c in ordered if _covers(version_tuple(c.mindspore_version), have)]
        if fits:
            c = fits[0]
            return c, (f"{len(rows)} cards match: {listed}; chose {_label(c)}, the newest the installed "
                       f"MindSpore {installed} can run (pin one with NAME@VERSION)")
        c = ordered[0]
        return c, (f"{len(rows)} cards match: {listed}; none targets the installed MindSpore {installed}, so chose "
                   f"the newest, {_label(c)} (pin one with NAME@VERSION)")
    c = ordered[0]
    return c, (f"{len(rows)} cards match: {listed}; MindSpore is not installed, so chose the newest, "
               f"{_label(c)} (pin one with NAME@VERSION)")


def _label(c: Candidate) -> str:
    """A candidate as a person tells it from the others: its id, where it was indexed from, its versions."""
    where = {BUNDLED: "bundled", REMOTE: "fetched", CATALOG: "catalogue"}.get(c.source_kind) or \
        f"indexed from {PurePath(c.source).name}/"
    version = f"MindSpore {c.mindspore_version}" if c.mindspore_version else (c.revision or "")[:12] or "-"
    return f"{c.uid or c.name} ({where}, {version})"


def suggest(text: str, pool: Iterable[str], n: int = 5) -> list[str]:
    """Entries of ``pool`` close to ``text``: the same but for case/-/_ first, then typos."""
    pool = list(pool)
    key = name_key(text.removeprefix("hf:").removeprefix("hf-hub:"))
    same = sorted({p for p in pool if name_key(p) == key})
    by_key: dict[str, list[str]] = {}
    for p in pool:
        by_key.setdefault(name_key(p), []).append(p)
    close = [p for k in difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.7) for p in sorted(by_key[k])]
    out: list[str] = []
    for p in same + close:
        if p not in out:
            out.append(p)
    return out[:n]
