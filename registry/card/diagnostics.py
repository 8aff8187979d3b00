"""Lint diagnostics and the catalogue of rules that produce them.

The catalogue is data, so the SARIF output, ``hub lint --explain`` style docs and
the tests all read one list; a rule's id never changes once published.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    summary: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_RANK = {_E: 0, _W: 1, _I: 2}

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("file-unreadable", _E, "The card file cannot be read or is too large."),
        Rule("yaml-syntax", _E, "The front matter is not valid YAML."),
        Rule("yaml-limit", _E, "The front matter would cost unbounded time or memory to build."),
        Rule("front-matter-missing", _E, "The card has no front matter block."),
        Rule("front-matter-misplaced", _E, "The front matter is not where the hub reads it."),
        Rule("front-matter-unclosed", _E, "The front matter block has no closing '---'."),
        Rule("front-matter-not-mapping", _E, "The front matter is a list or a scalar, not key: value pairs."),
        Rule("duplicate-key", _E, "A key appears twice; YAML keeps only the last."),
        Rule("required-key-missing", _E, "A key the hub needs is absent."),
        Rule("unknown-key", _W, "A key this dialect does not define (often a typo)."),
        Rule("wrong-type", _E, "A value has the wrong type."),
        Rule("value-not-allowed", _E, "A value is not in the allowed set."),
        Rule("empty-value", _E, "A required value is empty."),
        Rule("version-as-float", _W, "A version written unquoted reads as a float and loses digits."),
        Rule("sha256-not-hex", _E, "asset-sha256 has characters that are not hexadecimal."),
        Rule("sha256-length", _E, "asset-sha256 is neither 64 hex digits nor a usable prefix."),
        Rule("sha256-prefix-short", _E, "asset-sha256 is a prefix shorter than 8 hex digits."),
        Rule("sha256-prefix", _W, "asset-sha256 is only a prefix: downloads are checked weakly."),
        Rule("asset-hash-mismatch", _E, "The hash in the asset's file name disagrees with asset-sha256."),
        Rule("insecure-link", _E, "A link is not https."),
        Rule("bad-link", _E, "A link is not an absolute URL."),
        Rule("link-unreachable", _E, "With --online: a link does not answer, or answers an error."),
        Rule("evaluation-unparseable", _W, "The evaluation value has no metric the hub can read."),
        Rule("evaluation-duplicate-metric", _W, "The evaluation value names the same metric twice."),
        Rule("evaluation-table-mismatch", _W, "The front matter's metrics disagree with the body's table."),
        Rule("date-not-iso", _W, "A date is not written as YYYY-MM-DD."),
        Rule("date-invalid", _E, "A date is not a real calendar date."),
        Rule("license-unknown", _W, "The license is not an SPDX id or a known alias."),
        Rule("license-alias", _I, "The license is a known alias of an SPDX id."),
        Rule("model-index-invalid", _E, "model-index does not follow the Hugging Face spec."),
        Rule("datasets-null", _E, "datasets has an empty (null) entry."),
    )
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one card, at a 1-based line and column of the file."""

    rule: str
    severity: Severity
    message: str
    path: str
    line: int
    col: int

    def sort_key(self) -> tuple[str, int, int, int, str]:
        # At one position the error comes first: it is usually the cause of the warning beside it.
        return (self.path, self.line, self.col, _RANK[self.severity], self.rule)

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
        }


class Collector:
    """Gathers a card's diagnostics; rules take their default severity from ``RULES``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def add(self, rule: str, message: str, line: int, col: int = 1, severity: Severity | None = None) -> None:
        sev = severity or RULES[rule].severity
        self.items.append(Diagnostic(rule, sev, message, self.path, line, col))
