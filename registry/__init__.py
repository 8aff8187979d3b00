"""Card schemas, card parsing, lint and the SQLite registry. Re-exports only.

Re-exports resolve on first use, so ``hub --help`` does not pay for pydantic schemas it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULES = {
    "card.analyze": ("CardResult", "analyze_file", "analyze_text", "load_card"),
    "card.cardfile": ("CardFile", "Placement"),
    "card.diagnostics": ("RULES", "Diagnostic", "Rule", "Severity"),
    "card.hfcard": ("HfCardData",),
    "card.mshub": ("MindSporeCardData", "MsAsset"),
    "errors": ("CardError", "HubError", "UsageError", "YamlLimitError", "YamlSyntaxError", "UnknownModelError",
               "InvalidCardError", "RegistryError"),
    "lint.paths": ("exit_status", "lint_paths"),
    "record": ("AssetRecord", "Dialect", "MetricRecord", "ModelRecord", "VariantRecord"),
    "store.db": ("Registry",),
    "store.rows": ("Listing", "SyncReport"),
    "store.resolve": ("Resolution",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = [
    "RULES", "AssetRecord", "CardError", "CardFile", "CardResult", "Diagnostic", "Dialect", "HfCardData",
    "HubError", "MetricRecord", "MindSporeCardData", "ModelRecord", "MsAsset", "Placement", "Rule", "Severity",
    "UsageError", "VariantRecord", "YamlLimitError", "YamlSyntaxError", "analyze_file", "analyze_text",
    "exit_status", "lint_paths", "load_card", "Registry", "Listing", "SyncReport", "Resolution",
    "UnknownModelError", "InvalidCardError", "RegistryError",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from registry.card.analyze import CardResult, analyze_file, analyze_text, load_card
    from registry.card.cardfile import CardFile, Placement
    from registry.card.diagnostics import RULES, Diagnostic, Rule, Severity
    from registry.card.hfcard import HfCardData
    from registry.card.mshub import MindSporeCardData, MsAsset
    from registry.lint.paths import exit_status, lint_paths
    from registry.store.db import Registry
    from registry.store.resolve import Resolution
    from registry.store.rows import Listing, SyncReport

    from .errors import (
        CardError,
        HubError,
        InvalidCardError,
        RegistryError,
        UnknownModelError,
        UsageError,
        YamlLimitError,
        YamlSyntaxError,
    )
    from .record import AssetRecord, Dialect, MetricRecord, ModelRecord, VariantRecord
