"""Card schemas, card parsing, lint and the SQLite registry. Re-exports only.

Re-exports resolve on first use, so ``hub --help`` does not pay for pydantic schemas it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CardResult": "card", "analyze_file": "card", "analyze_text": "card", "load_card": "card",
    "CardFile": "cardfile", "Placement": "cardfile",
    "RULES": "diagnostics", "Diagnostic": "diagnostics", "Rule": "diagnostics", "Severity": "diagnostics",
    "CardError": "errors", "HubError": "errors", "UsageError": "errors", "YamlLimitError": "errors",
    "YamlSyntaxError": "errors",
    "HfCardData": "hfcard",
    "exit_status": "lint", "lint_paths": "lint",
    "MindSporeCardData": "mshub", "MsAsset": "mshub",
    "AssetRecord": "record", "Dialect": "record", "MetricRecord": "record", "ModelRecord": "record",
    "VariantRecord": "record",
    "Registry": "store", "Listing": "store", "SyncReport": "store",
    "Resolution": "resolve", "UnknownModelError": "errors", "InvalidCardError": "errors", "RegistryError": "errors",
}
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
    from .card import CardResult, analyze_file, analyze_text, load_card
    from .cardfile import CardFile, Placement
    from .diagnostics import RULES, Diagnostic, Rule, Severity
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
    from .hfcard import HfCardData
    from .lint import exit_status, lint_paths
    from .mshub import MindSporeCardData, MsAsset
    from .record import AssetRecord, Dialect, MetricRecord, ModelRecord, VariantRecord
    from .resolve import Resolution
    from .store import Listing, Registry, SyncReport
