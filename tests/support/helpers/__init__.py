"""Shared test helpers (the tests' ``support`` folder is on ``sys.path``). Re-exports only."""

from .paths import CARDS, CORPUS, GOLDEN, REFERENCE, ROOT, SEEDS, SHARED, corpus_files
from .publish import HF_CARD, MS_CARD, Published, index, payload, publish, unique

__all__ = ["CARDS", "CORPUS", "GOLDEN", "HF_CARD", "MS_CARD", "REFERENCE", "ROOT", "SEEDS", "SHARED", "Published",
           "corpus_files", "index", "payload", "publish", "unique"]
