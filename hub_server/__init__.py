"""``hub serve``: a team mirror that speaks the Hugging Face Hub download API. Re-exports only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {"create_app": "hub_server.routes", "build_mirror": "hub_server.build", "LocalStorage": "hub_server.storage",
            "Mirror": "hub_server.mirror", "S3Storage": "hub_server.s3"}
__all__ = ["LocalStorage", "Mirror", "S3Storage", "build_mirror", "create_app"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .build import build_mirror
    from .mirror import Mirror
    from .routes import create_app
    from .s3 import S3Storage
    from .storage import LocalStorage
