"""Turning schema findings into diagnostics at file positions.

The pydantic models are the single statement of what a card may contain; this
module translates their verdicts (and what YAML typing did to scalars) into
lint rules with a line, a column, and a message that says how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from .diagnostics import Collector
from .yamlnodes import Path, YamlDoc

#: Hints for keys real authors mistype that difflib alone ranks poorly.
_KNOWN_TYPOS = {"licence": "license", "licenses": "license", "model_index": "model-index"}


def suggest(key: str, known: Iterable[str]) -> str | None:
    known = list(known)
    if key in _KNOWN_TYPOS and _KNOWN_TYPOS[key] in known:
        return _KNOWN_TYPOS[key]
    variants = {key, key.replace("_", "-"), key.replace("-", "_"), key.lower()}
    for v in variants:
        if v in known and v != key:
            return v
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.75)
    return close[0] if close else None


def split_unknown(
    data: dict[str, Any], known: Iterable[str], doc: YamlDoc, out: Collector, path: Path, where: str
) -> dict[str, Any]:
    """Report keys outside ``known`` (with a did-you-mean) and return the data without them."""
    known = set(known)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key in known:
            kept[key] = value
            continue
        pos = doc.key_pos.get((*path, key)) or doc.where(path)
        hint = suggest(key, known)
        fix = f"did you mean '{hint}'?" if hint else f"remove it, or check the spelling against the {where} keys"
        out.add("unknown-key", f"unknown key '{key}' in {where}: {fix}", pos.line, pos.col)
    return kept


def as_text(data: dict[str, Any], keys: Iterable[str], doc: YamlDoc, path: Path) -> dict[str, Any]:
    """Replace YAML-typed plain scalars of text fields by the text as written.

    ``model-version: 1.10`` is the float 1.1 to YAML and ``asset-sha256: 00123456``
    the octal int 42798; the card meant the characters, so we keep those.
    """
    out = dict(data)
    for key in keys:
        p = (*path, key)
        tag = doc.plain_tag.get(p)
        if key in out and tag is not None and tag not in ("str", "null"):
            out[key] = doc.raw[p]
    return out


def _type_name(value: Any) -> str:
    if value is None:
        return "an empty value"
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"
    }.get(type(value), type(value).__name__)


def report_validation(
    err: ValidationError, doc: YamlDoc, out: Collector, base: Path, what: str, block_line: int
) -> None:
    """One diagnostic per bad value, placed at it (or at its parent for a missing key)."""
    seen: set[Path] = set()
    for e in err.errors(include_url=False):
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith(("function-", "list["))))
        path: Path = (*base, *loc)
        if path in seen:
            continue
        seen.add(path)
        name = ".".join(str(x) for x in loc) or what
        etype = e["type"]
        if etype == "missing":
            parent = path[:-1]
            pos = doc.where(parent) if parent else None
            line, col = (pos.line, pos.col) if pos else (block_line, 1)
            out.add("required-key-missing", f"required key '{loc[-1]}' is missing from {what}: add it", line, col)
            continue
        pos = doc.pos.get(path) or doc.where(path)
        value = e.get("input")
        if etype in ("literal_error", "enum", "value_not_allowed"):
            allowed = e.get("ctx", {}).get("expected", "")
            out.add("value-not-allowed", f"'{name}' is {value!r}, which is not allowed: expected {allowed}",
                    pos.line, pos.col)
        elif etype == "date_invalid":
            out.add("date-invalid", f"'{name}' is {value!r}, which is not a calendar date: write YYYY-MM-DD",
                    pos.line, pos.col)
        elif value is None or value == "" or value == []:
            out.add("empty-value", f"'{name}' is empty: give it a value", pos.line, pos.col)
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
            raw = doc.raw.get(path)
            hint = ""
            if isinstance(value, bool) and raw is not None and raw.lower() not in ("true", "false"):
                # YAML 1.1 reads no/yes/on/off as booleans: language code 'no' becomes False.
                hint = f"; YAML read the unquoted '{raw}' as {value}: quote it, '{raw}'"
            out.add("wrong-type", f"'{name}' is {_type_name(value)} ({value!r}) but {msg}{hint}", pos.line, pos.col)
