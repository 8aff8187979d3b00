"""``hub serve``: a team mirror that speaks the Hugging Face Hub download API. Re-exports only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {"create_app": "hub_client.serve.app", "HfStore": "hub_client.serve.store"}
__all__ = ["HfStore", "create_app"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .app import create_app
    from .store import HfStore
