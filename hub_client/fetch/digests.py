"""Digests of files on disk: sha256 (cards, the blob store, Hugging Face LFS files) and git blob ids (small
files of a Hugging Face repo), with ``hashlib.file_digest`` reading the file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

DigestKind = Literal["sha256", "git-blob"]


def file_digest(path: Path, kind: DigestKind = "sha256") -> str:
    """The hex digest of a file's bytes: ``sha256``, or git's blob id (sha1 of ``blob <size>\\0`` + bytes)."""
    if kind == "git-blob":
        h = hashlib.sha1(usedforsecurity=False)
        h.update(f"blob {path.stat().st_size}\0".encode())
    else:
        h = hashlib.sha256()
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: h).hexdigest()


#: What a content address says its bytes hash to: the two kinds a Hugging Face hub uses.
Address = Literal["sha256", "git blob id"]


def is_sha256(text: str) -> bool:
    """64 lowercase hex digits: a sha256 (an LFS file's address, a blob of our cache)."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def is_git_id(text: str) -> bool:
    """40 lowercase hex digits: a git object id (a small file's blob id, a commit)."""
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def address_kind(name: str) -> Address | None:
    """The one rule of content addresses: 64 hex digits are a sha256, 40 a git blob id; anything else is none."""
    return "sha256" if is_sha256(name) else "git blob id" if is_git_id(name) else None


def address_digest(path: Path, kind: Address) -> str:
    """``path``'s digest in the terms of an address of ``kind``."""
    return file_digest(path, "git-blob" if kind == "git blob id" else "sha256")


def bytes_address(data: bytes, address: str) -> str:
    """``data``'s digest in the terms of ``address``: its sha256 for a 64-hex address, its git blob id for a
    40-hex one (so a file held in memory is checked as a file on disk is); empty for anything else."""
    kind = address_kind(address)
    if kind == "sha256":
        return hashlib.sha256(data).hexdigest()
    if kind == "git blob id":
        return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return ""
