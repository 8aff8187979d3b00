"""What a signature signs, once it holds: the one value every reader of a signature returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignedFiles:
    """The verified content of a signature: each file's sha256 (hex) by its path in the model, and how the
    manifest was built (``method`` ``files``: one digest per file; ``shards``: per piece of a file)."""

    digests: Mapping[str, str]
    method: str = "files"
    hash_type: str = "sha256"
    ignored: tuple[str, ...] = field(default=())

    @property
    def per_file_sha256(self) -> bool:
        """Whether the digests are whole-file sha256, which a pull's own digests can be compared with."""
        return self.method == "files" and self.hash_type == "sha256"
