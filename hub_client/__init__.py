"""The hub client: CLI and Python API (fetcher, cache and loader come with their issues). Re-exports only."""

from registry import load_card

__all__ = ["load_card"]
