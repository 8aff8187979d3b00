"""What the benchmark scripts share: the test file they serve, and how they print and save their figures."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def make_file(path: Path, size: int) -> str:
    """Incompressible bytes (nothing dedups or compresses them) written to ``path``; returns their sha256."""
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            # vary every block so nothing compresses or dedups
            chunk = hashlib.sha256(written.to_bytes(8, "little")).digest() + chunk[32:]
            f.write(chunk)
            h.update(chunk)
            written += len(chunk)
    return h.hexdigest()


def report(text: str, data: Any, json_path: Path | None) -> int:
    """Print a benchmark's table and, when asked, write its figures as JSON (what ``python -m bench`` reads)."""
    print(text)
    if json_path:
        json_path.write_text(json.dumps(data, indent=2))
    return 0
