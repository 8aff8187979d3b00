"""What a conversion wrote. Where it writes (a staging name renamed into place once whole) is
``registry.atomic``'s ``staged_dir`` and ``staged_file``, shared with ``hub export``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Converted:
    """What a conversion wrote, and what a user must know to get the same logits from it."""

    out: Path
    files: list[Path]
    size: int
    notes: list[str] = field(default_factory=list)
