"""The hub client: CLI and Python API (fetcher, cache and loader come with their issues). Re-exports only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["load_card"]


def __getattr__(name: str) -> Any:
    if name == "load_card":
        from registry import load_card

        return load_card
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from registry import load_card
