"""The card *file* format: where the front matter sits, apart from what it means.

Two real layouts exist. Hugging Face reads a ``---`` block only at the very top
of README.md. MindSpore Hub cards put a ``# title`` line first, then the block.
Authors also get it wrong: the block after a logo line, never closed, or a
``---`` that is only a markdown rule or sits in a code fence. This module finds
the block and says where it was, so lint can name the problem precisely.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from registry.errors import CardTooLargeError

#: File name endings of card files.
CARD_SUFFIXES = (".md", ".markdown")
#: Folders a walk for cards never enters: version control, environments, caches. Lint and the index alike.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"})

#: No real card is near this; a larger file is refused before any parsing.
MAX_CARD_BYTES = 4 * 1024 * 1024

_DELIM = re.compile(r"^---[ \t]*$")
_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_BODY_START = re.compile(r"^(#{1,6}\s+\S|```|~~~)")
_KEYLINE = re.compile(r"^[A-Za-z_][\w .-]*:(?:\s|$)")


class Placement(StrEnum):
    TOP = "top"  #: first non-blank line is ``---`` (Hugging Face)
    AFTER_TITLE = "after-title"  #: ``# title`` then ``---`` (MindSpore Hub)
    LATER = "later"  #: a block further down, which no hub reads
    NONE = "none"


@dataclass(frozen=True)
class CardFile:
    """A card split into its parts. Line numbers are 1-based lines of the file."""

    text: str
    path: str | None
    placement: Placement
    title: str | None
    title_line: int | None
    #: The YAML between the delimiters, or None when there is no block.
    front_matter: str | None
    #: Line of the opening ``---``; the YAML starts on the next line.
    fm_open_line: int | None
    #: Line of the closing delimiter, or None when the block is never closed.
    fm_close_line: int | None
    body: str
    body_line: int

    @property
    def yaml_line_offset(self) -> int:
        """Add to a 1-based line inside the YAML block to get the file line."""
        return self.fm_open_line or 0


def walk(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every card file under ``root``: its path relative to ``root`` (with ``/``) and its directory entry.

    The one walk lint and the index share. A ``README.md`` directly in ``root`` says what the folder is, not a
    model, and is left out; one deeper (``org/repo/README.md``) is a Hugging Face repo's card. Unordered.
    """
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        stack.append(Path(entry.path))
                elif entry.name.lower().endswith(CARD_SUFFIXES) and entry.is_file():
                    if folder == root and entry.name.lower() == "readme.md":
                        continue
                    yield Path(entry.path).relative_to(root).as_posix(), entry


def read(path: str | Path) -> CardFile:
    """Read and split a card file; refuses files over ``MAX_CARD_BYTES``."""
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_CARD_BYTES:
        raise CardTooLargeError(size, MAX_CARD_BYTES, path=p)
    data = p.read_bytes()
    return parse(data.decode("utf-8", errors="replace"), path=str(p))


def parse(text: str, *, path: str | None = None) -> CardFile:
    """Split card text into title, front matter and body."""
    if len(text) > MAX_CARD_BYTES:
        raise CardTooLargeError(len(text), MAX_CARD_BYTES, path=path)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    n = len(lines)
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    title: str | None = None
    title_line: int | None = None
    if i < n and _DELIM.match(lines[i]):
        return _with_block(text, path, lines, i, Placement.TOP, None, None)
    if i < n and lines[i].startswith("#") and not lines[i].startswith("#!"):
        title = lines[i].lstrip("#").strip()
        title_line = i + 1
        j = i + 1
        while j < n and not lines[j].strip():
            j += 1
        if j < n and _DELIM.match(lines[j]):
            return _with_block(text, path, lines, j, Placement.AFTER_TITLE, title, title_line)
    later = _find_later_block(lines, i)
    if later is not None:
        return _with_block(text, path, lines, later, Placement.LATER, title, title_line)
    return CardFile(text, path, Placement.NONE, title, title_line, None, None, None, text, 1)


def _find_later_block(lines: list[str], start: int) -> int | None:
    """A ``---`` line outside code fences that opens something shaped like front matter."""
    in_fence = False
    for k in range(start, len(lines)):
        line = lines[k]
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not _DELIM.match(line):
            continue
        m = k + 1
        while m < len(lines) and not lines[m].strip():
            m += 1
        if m < len(lines) and _KEYLINE.match(lines[m]) and _closing(lines, k + 1) is not None:
            return k
    return None


def _closing(lines: list[str], start: int) -> int | None:
    for k in range(start, len(lines)):
        if _END.match(lines[k]):
            return k
    return None


def _with_block(
    text: str,
    path: str | None,
    lines: list[str],
    open_idx: int,
    placement: Placement,
    title: str | None,
    title_line: int | None,
) -> CardFile:
    close_idx = _closing(lines, open_idx + 1)
    if close_idx is None:
        # Unclosed: the YAML runs to the first markdown heading or code fence, where the body plainly starts.
        end = next((k for k in range(open_idx + 1, len(lines)) if _BODY_START.match(lines[k])), len(lines))
        fm = "\n".join(lines[open_idx + 1 : end])
        body = "\n".join(lines[end:])
        return CardFile(text, path, placement, title, title_line, fm, open_idx + 1, None, body, end + 1)
    fm = "\n".join(lines[open_idx + 1 : close_idx])
    if placement is Placement.LATER:
        # What came before the block is body text too; keep it, minus the block.
        body = "\n".join(lines[:open_idx] + lines[close_idx + 1 :])
        body_line = 1
    else:
        body = "\n".join(lines[close_idx + 1 :])
        body_line = close_idx + 2
    return CardFile(text, path, placement, title, title_line, fm, open_idx + 1, close_idx + 1, body, body_line)
