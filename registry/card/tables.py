"""Results tables in a card's markdown body.

MindCV-derived cards carry a table of sibling variants (convnext_tiny, _small,
_base) with their accuracy and weights links: more models than the front matter
names, and a second statement of the front matter's own numbers to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from registry.formats import WEIGHT_SUFFIXES

_SEP_CELL = re.compile(r"^\s*:?-{3,}:?\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LINK = re.compile(r"\[([^\]]*)\]\((<?)([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"https?://[^\s|)>\]]+")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_MODEL_HEADERS = ("model", "name", "arch", "network")


@dataclass(frozen=True)
class TableRow:
    model: str
    line: int
    #: Numeric cells by column header (``Top-1 (%)`` -> 81.91).
    metrics: dict[str, float] = field(default_factory=dict)
    #: Links in the row that point at weights (``.ckpt`` and friends, or a cell labelled weights).
    weights: tuple[str, ...] = ()


def _cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def _is_sep(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(_SEP_CELL.match(c) for c in cells)


def _weights(cell: str) -> list[str]:
    out = []
    for label, _, url in _LINK.findall(cell):
        if url.lower().endswith(WEIGHT_SUFFIXES) or label.strip().lower() in ("weights", "ckpt", "download"):
            out.append(url)
    if not out:
        out = [u for u in _BARE_URL.findall(cell) if u.lower().endswith(WEIGHT_SUFFIXES)]
    return out


def _plain(cell: str) -> str:
    """Cell text without markdown links and emphasis."""
    return _LINK.sub(lambda m: m.group(1), cell).strip("*_` ")


@lru_cache(maxsize=16)
def parse(body: str, *, first_line: int = 1) -> tuple[TableRow, ...]:
    """Every row of every pipe table outside code fences; ``first_line`` is the body's line in the file.

    Cached: lint and the record builder both read the same body's table.
    """
    if "|" not in body:
        return ()
    lines = body.split("\n")
    rows: list[TableRow] = []
    in_fence = False
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
            i += 1
            continue
        if in_fence or "|" not in line or i + 1 >= n or not _is_sep(lines[i + 1]):
            i += 1
            continue
        header = [_plain(c) for c in _cells(line)]
        model_col = next(
            (k for k, h in enumerate(header) if h.lower().strip() in _MODEL_HEADERS),
            0,
        )
        i += 2
        while i < n and "|" in lines[i] and lines[i].strip():
            cells = _cells(lines[i])
            if len(cells) > model_col:
                metrics: dict[str, float] = {}
                weights: list[str] = []
                for k, cell in enumerate(cells):
                    if k == model_col:
                        continue
                    text = _plain(cell)
                    if k < len(header) and _NUMBER.match(text):
                        metrics[header[k]] = float(text)
                    weights.extend(_weights(cell))
                rows.append(TableRow(_plain(cells[model_col]), first_line + i, metrics, tuple(weights)))
            i += 1
    return tuple(rows)
