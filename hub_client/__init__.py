"""The hub client: pull, load_model, predict, evaluate. Re-exports only, resolved on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "pull": "hub_client.fetch.pull",
    "load_card": "registry",
    "load_model": "hub_client.models.loader",
    "model_info": "hub_client.models.loader",
    "predict": "hub_client.inference.prediction",
    "evaluate": "hub_client.inference.evaluation",
}
# Running a model needs numpy, Pillow and a framework (an extra): checked before the import, so a plain
# install says which extra to install instead of failing on ``import numpy``.
_NEEDS_RUNTIME = {"load_model": True, "predict": True, "evaluate": True, "model_info": False}
__all__ = ["evaluate", "load_card", "load_model", "model_info", "predict", "pull"]


def _check_runtime(name: str) -> None:
    framework = _NEEDS_RUNTIME.get(name)
    if framework is None:
        return
    from .models.extras import require_runtime

    require_runtime(framework=framework)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        _check_runtime(name)
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from registry import load_card

    from .fetch.pull import pull
    from .inference.evaluation import evaluate
    from .inference.prediction import predict
    from .models.loader import load_model, model_info
