"""Shared test locations. The public card corpus is read in place from ``../shared/corpus``, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HUB_TEST_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"
CARDS = ROOT / "cards"


def corpus_files(sub: str = "") -> list[Path]:
    base = CORPUS / sub if sub else CORPUS
    return sorted(p for p in base.rglob("*.md") if p.name != "README.md")


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set HUB_TEST_SHARED)")
    return CORPUS


@pytest.fixture(scope="session")
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seeds not found at {SEEDS} (set HUB_TEST_SHARED)")
    return SEEDS


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own HUB_HOME and registry: the checkout's registry.db is never touched."""
    home = tmp_path_factory.mktemp("hub_home")
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.setenv("HUB_REGISTRY", str(home / "registry.db"))
    for var in ("HUB_OFFLINE", "HF_HUB_OFFLINE", "HUB_MIRRORS"):
        monkeypatch.delenv(var, raising=False)
    return home
