"""From what a user types to one card: names, pins, uids, Hugging Face ids, and did-you-mean.

``convnext_tiny`` can match several cards (MindSpore Hub publishes it for 2.3 and
2.5): we take the newest one the installed MindSpore can run, else the newest,
and say which and why. The installed version is read from package metadata, so
resolving never imports MindSpore.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidCardError, UnknownModelError
from .record import ModelRecord
from .store import BUNDLED, Registry, name_key

_DETECT = object()


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    uid: str | None
    dialect: str
    mindspore_version: str | None
    version: str | None
    updated: str | None
    source: str
    source_kind: str


@dataclass
class Resolution:
    spec: str
    record: ModelRecord
    candidate: Candidate
    status: str
    diagnostics: list[dict[str, Any]]
    candidates: list[Candidate] = field(default_factory=list)
    #: Why this card, when several matched; None when only one did.
    reason: str | None = None


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


def _covers(card: tuple[int, ...], installed: tuple[int, ...]) -> bool:
    """A card made for MindSpore 2.3 runs on 2.3.x and later; compare on the card's own precision."""
    return card[: len(installed)] <= installed[: len(card)] if card else True


def _newest_key(c: Candidate) -> tuple[Any, ...]:
    return (version_tuple(c.mindspore_version), c.updated or "", c.source_kind != BUNDLED, c.id)


def resolve(reg: Registry, spec: str, *, mindspore_version: Any = _DETECT) -> Resolution:
    """The card ``spec`` names; raises ``UnknownModelError`` (with suggestions) or ``InvalidCardError``."""
    reg._auto()
    text = spec.strip()
    pin = None
    if "@" in text:
        text, _, pin = text.rpartition("@")
    if text.startswith("hf:"):
        rows = _candidates(reg, "m.uid = ? AND m.dialect = 'huggingface'", [text[3:]])
    elif text.count("/") >= 1:
        rows = _candidates(reg, "m.uid = ?", [text])
    else:
        rows = _candidates(reg, "m.name = ?", [text])
    if pin is not None:
        pinned = [c for c in rows if pin in (c.version, c.mindspore_version)]
        if not pinned:
            versions = sorted({c.mindspore_version or c.version or "" for c in rows} - {""}, key=version_tuple)
            raise UnknownModelError(spec, [f"{text}@{v}" for v in versions])
        rows = pinned
    if not rows:
        key = name_key(text)
        broken = [b for b in reg.card_rows("c.record IS NULL", []) if name_key(b["name"]) == key]
        if broken:
            b = broken[0]
            diags = json.loads(b["diagnostics"])
            errs = [d["message"] for d in diags if d["severity"] == "error"]
            raise InvalidCardError(text, str(reg.card_path(b)), errs, diags)
        raise UnknownModelError(spec, suggest(reg, text))
    chosen, reason = _choose(rows, mindspore_version)
    card = reg.card_rows("c.id = ?", [chosen.id])[0]
    return Resolution(spec, reg.record(chosen.id), chosen, card["status"], json.loads(card["diagnostics"]),
                      rows, reason)


def _candidates(reg: Registry, where: str, args: list[Any]) -> list[Candidate]:
    sql = ("SELECT m.id, m.name, m.uid, m.dialect, m.mindspore_version, m.version, m.updated, s.label, s.kind "
           "FROM models m JOIN cards c ON c.id = m.id JOIN sources s ON s.id = c.source_id WHERE " + where)
    return [Candidate(*row) for row in reg.conn.execute(sql, args).fetchall()]


def _choose(rows: list[Candidate], mindspore_version: Any) -> tuple[Candidate, str | None]:
    if len(rows) == 1:
        return rows[0], None
    installed = installed_mindspore() if mindspore_version is _DETECT else mindspore_version
    ordered = sorted(rows, key=_newest_key, reverse=True)
    listed = ", ".join(f"{c.uid or c.name} (MindSpore {c.mindspore_version or '-'})" for c in ordered)
    if installed:
        have = version_tuple(installed)
        fits = [c for c in ordered if _covers(version_tuple(c.mindspore_version), have)]
        if fits:
            c = fits[0]
            return c, (f"{len(rows)} cards match: {listed}; chose {c.uid or c.name}, the newest the installed "
                       f"MindSpore {installed} can run (pin one with NAME@VERSION)")
        c = ordered[0]
        return c, (f"{len(rows)} cards match: {listed}; none targets the installed MindSpore {installed}, so chose "
                   f"the newest, {c.uid or c.name} (pin one with NAME@VERSION)")
    c = ordered[0]
    return c, (f"{len(rows)} cards match: {listed}; MindSpore is not installed, so chose the newest, "
               f"{c.uid or c.name} (pin one with NAME@VERSION)")


def suggest(reg: Registry, text: str, n: int = 5) -> list[str]:
    """Names (or ids, for inputs with a '/') close to ``text``: same name but for case/-/_ first, then typos."""
    names = [r[0] for r in reg.conn.execute("SELECT DISTINCT name FROM models")]
    uids = [r[0] for r in reg.conn.execute("SELECT DISTINCT uid FROM models WHERE uid IS NOT NULL")]
    pool = uids if "/" in text else names
    key = name_key(text.removeprefix("hf:"))
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
