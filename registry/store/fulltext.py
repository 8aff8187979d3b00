"""The words of a search as SQLite FTS5 reads them, and why a result matched: what ``hub search`` and the
mirror's page share, so both rank and explain alike.

Each word is quoted (so ``c++`` or ``NEAR(x y)`` is never FTS syntax) and matches as itself or as a prefix. A
result whose name is not the search itself says where the words were found: the name, the summary, or a few
words of the card around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import UsageError

from .resolve import name_key

#: Put around the matched words in a snippet; replaced by whoever shows it (``[…]`` in a terminal, ``<mark>``
#: in a page). Control characters: no card text holds them.
MARK_START, MARK_END = "\x02", "\x03"
#: The columns of ``models_fts`` in order, as a reason names them.
COLUMNS = ("name", "summary", "card")


@dataclass(frozen=True)
class Words:
    """A search ready for SQL: the FTS5 query, the folded name, and a LIKE pattern for names starting with it."""

    match: str
    key: str
    prefix: str


def words(text: str) -> Words:
    """``text`` as a search; ``UsageError`` when it holds no word."""
    terms = [t for t in text.split() if t.strip('"')]
    if not terms:
        raise UsageError("search needs at least one word")
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    key = name_key("_".join(t.strip('"') for t in terms))
    prefix = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return Words(" AND ".join(f"({q} OR {q}*)" for q in quoted), key, prefix)


#: Columns to add to a search's SELECT (with ``models_fts`` joined): the tier (0 the name itself, 1 a name
#: starting with it, 2 the rest), then a snippet of each column, marked where the words are.
RANKED = (
    "CASE WHEN m.name_key = ? THEN 0 WHEN m.name_key LIKE ? ESCAPE '\\' THEN 1 ELSE 2 END AS tier, "
    + ", ".join(f"snippet(models_fts, {i}, char(2), char(3), '…', 12) AS snip{i}" for i in range(len(COLUMNS)))
)


def tier(name: str, key: str) -> int:
    """What ``RANKED``'s tier says, for a name outside the registry (a repo a mirror stores): 0 the search's
    folded ``key`` is the name, 1 the name starts with it, 2 otherwise."""
    folded = name_key(name)
    return 0 if folded == key else 1 if folded.startswith(key) else 2


def matched(row: dict[str, object]) -> str | None:
    """Why a search result matched, when not by its name: ``summary: …words…`` or ``card: …words…`` with the
    words marked (``MARK_START``/``MARK_END``); ``name`` when a word is in the name without being its start;
    None for the name itself or a name starting with the search."""
    if row.get("tier") in (0, 1):
        return None
    for i, column in enumerate(COLUMNS):
        snip = row.get(f"snip{i}")
        if isinstance(snip, str) and MARK_START in snip:
            return "name" if i == 0 else f"{column}: {' '.join(snip.split())}"
    return None
