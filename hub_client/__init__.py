"""The hub client: pull (fetcher and cache), load_model and predict. Re-exports only, resolved on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {"pull": "hub_client.api", "load_card": "registry", "load_model": "hub_client.loader",
            "model_info": "hub_client.loader", "predict": "hub_client.inference", "evaluate": "hub_client.evaluation"}
__all__ = ["evaluate", "load_card", "load_model", "model_info", "predict", "pull"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from registry import load_card

    from .api import pull
    from .inference import predict
    from .loader import load_model, model_info
