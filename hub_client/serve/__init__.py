"""``hub serve``: a team mirror that speaks the Hugging Face Hub download API. Re-exports only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {"create_app": "hub_client.serve.app", "LocalStorage": "hub_client.serve.store",
            "Mirror": "hub_client.serve.mirror",
            "S3Storage": "hub_client.serve.s3"}
__all__ = ["LocalStorage", "Mirror", "S3Storage", "create_app"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .app import create_app
    from .mirror import Mirror
    from .s3 import S3Storage
    from .store import LocalStorage
