"""What a card says about an asset's sha256, and the hash its file name carries.

Real MindSpore Hub cards write a full 64-hex digest, or only its first 8 or 9
hex digits; MindCV names files ``convnext_tiny-db11dc82-910v2.ckpt`` with that
same prefix. A fetcher can verify against either, so both are parsed here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

FULL_LEN = 64
#: Shorter prefixes than this are too weak to tell two files apart reliably.
MIN_PREFIX = 8

_HEX = re.compile(r"[0-9a-fA-F]+")
#: A file-name token that looks like a hash: 8-64 hex digits with at least one digit and one letter,
#: so dates (20230217) and words (facade) are not mistaken for hashes.
_NAME_TOKEN = re.compile(r"(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,64}")


class HashKind(StrEnum):
    FULL = "full"
    PREFIX = "prefix"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class HashSpec:
    """A declared sha256, lower-cased, and what kind of declaration it is."""

    text: str
    kind: HashKind
    problem: str | None = None

    def matches(self, hexdigest: str) -> bool:
        """True when a computed digest satisfies this declaration (exactly, or by its start)."""
        d = hexdigest.lower()
        if self.kind is HashKind.FULL:
            return d == self.text
        if self.kind is HashKind.PREFIX:
            return d.startswith(self.text)
        return False


def unmet(hexdigest: str, declared: HashSpec, name_hash: str | None = None) -> str | None:
    """None when a computed sha256 satisfies the card; else what the card expected, in words.

    A full digest must match exactly. A prefix must start the digest, and so must the hash in the file's name
    (``hash_in_name``) when there is one: a prefix alone is weak, two independent statements less so.
    """
    if not declared.matches(hexdigest):
        return declared.text if declared.kind is HashKind.FULL else f"a sha256 starting with {declared.text}"
    if declared.kind is HashKind.PREFIX and name_hash and not hexdigest.lower().startswith(name_hash):
        return f"a sha256 starting with {name_hash} (from the file name)"
    return None


def parse_sha256(text: str) -> HashSpec:
    t = text.strip().lower()
    if not t:
        return HashSpec(t, HashKind.INVALID, "it is empty")
    if not _HEX.fullmatch(t):
        bad = sorted({c for c in t if c not in "0123456789abcdef"})
        return HashSpec(t, HashKind.INVALID, f"it has non-hex characters {''.join(bad)!r}")
    if len(t) == FULL_LEN:
        return HashSpec(t, HashKind.FULL)
    if len(t) > FULL_LEN:
        return HashSpec(t, HashKind.INVALID, f"it is {len(t)} hex digits, more than the {FULL_LEN} of a sha256")
    if len(t) < MIN_PREFIX:
        return HashSpec(t, HashKind.INVALID, f"a {len(t)}-digit prefix is shorter than {MIN_PREFIX}")
    return HashSpec(t, HashKind.PREFIX)


def file_name(url: str) -> str:
    """The last path segment of a URL, percent-decoded (not yet sanitised for the file system).

    Works on malformed URLs too (``urlsplit`` raises on some: lint reports those as bad links).
    """
    try:
        path = urlsplit(url).path
    except ValueError:
        path = url.split("?", 1)[0].split("#", 1)[0]
    return unquote(path.rsplit("/", 1)[-1])


def hash_in_name(name: str) -> str | None:
    """The hash token of a MindCV-style file name (``convnext_tiny-db11dc82-910v2.ckpt``), if any."""
    stem = name.rsplit(".", 1)[0].lower()
    for token in stem.split("-")[1:]:
        if _NAME_TOKEN.fullmatch(token):
            return token
    return None


def agree(a: str, b: str) -> bool:
    """Two hex strings describe the same digest when one is a prefix of the other."""
    a, b = a.lower(), b.lower()
    return a.startswith(b) or b.startswith(a)
