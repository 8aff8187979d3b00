"""Where things are: the checkout, its cards, and the shared corpus and seeds beside it (read in place)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("HUB_TEST_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"
REFERENCE = SHARED / "reference"
CARDS = ROOT / "cards"
GOLDEN = ROOT / "tests" / "golden"


def corpus_files(sub: str = "") -> list[Path]:
    base = CORPUS / sub if sub else CORPUS
    return sorted(p for p in base.rglob("*.md") if p.name != "README.md")
