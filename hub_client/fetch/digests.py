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
