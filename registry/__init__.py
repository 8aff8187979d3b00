"""Card schemas, card parsing, lint and (later) the SQLite registry. Re-exports only."""

from .card import CardResult, analyze_file, analyze_text, load_card
from .cardfile import CardFile, Placement
from .diagnostics import RULES, Diagnostic, Rule, Severity
from .errors import CardError, HubError, UsageError, YamlLimitError, YamlSyntaxError
from .hfcard import HfCardData
from .lint import exit_status, lint_paths
from .mshub import MindSporeCardData, MsAsset
from .record import AssetRecord, Dialect, MetricRecord, ModelRecord, VariantRecord

__all__ = [
    "RULES", "AssetRecord", "CardError", "CardFile", "CardResult", "Diagnostic", "Dialect", "HfCardData",
    "HubError", "MetricRecord", "MindSporeCardData", "ModelRecord", "MsAsset", "Placement", "Rule", "Severity",
    "UsageError", "VariantRecord", "YamlLimitError", "YamlSyntaxError", "analyze_file", "analyze_text",
    "exit_status", "lint_paths", "load_card",
]
