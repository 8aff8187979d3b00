"""Lint results as text, JSON, GitHub workflow annotations, or SARIF 2.1.0.

Formatters return strings; printing is the CLI's job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from registry.card.analyze import CardResult
from registry.card.diagnostics import RULES, Severity

from ..about import DISTRIBUTION, version

#: The SARIF base id relative paths are resolved against (GitHub code scanning maps it to the checkout).
SRCROOT = "SRCROOT"


def render(results: Sequence[CardResult], fmt: str) -> str:
    return {"text": text, "json": as_json, "github": github, "sarif": sarif}[fmt](results)


def summary(results: Sequence[CardResult]) -> str:
    errors = sum(r.errors for r in results)
    warnings = sum(r.warnings for r in results)
    bad = sum(1 for r in results if r.diagnostics)
    return f"{errors} error(s), {warnings} warning(s) in {bad} of {len(results)} card(s)"


def text(results: Sequence[CardResult]) -> str:
    lines = [
        f"{d.path}:{d.line}:{d.col}: {d.severity.value} [{d.rule}] {d.message}"
        for r in results for d in r.diagnostics
    ]
    lines.append(summary(results))
    return "\n".join(lines)


def as_json(results: Sequence[CardResult]) -> str:
    return json.dumps(
        [
            {
                "path": r.path,
                "dialect": r.dialect.value if r.dialect else None,
                "name": r.record.name if r.record else None,
                "errors": r.errors,
                "warnings": r.warnings,
                "diagnostics": [d.as_dict() for d in r.diagnostics],
            }
            for r in results
        ],
        indent=2,
        ensure_ascii=False,
    )


def _gh_escape(s: str, *, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def github(results: Sequence[CardResult]) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` lines that GitHub Actions turns into annotations."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = [
        f"::{level[d.severity]} file={_gh_escape(d.path, prop=True)},line={d.line},col={d.col},"
        f"title={_gh_escape(d.rule, prop=True)}::{_gh_escape(d.message)}"
        for r in results for d in r.diagnostics
    ]
    out.append(summary(results))
    return "\n".join(out)


def _artifact(path: str) -> dict[str, str]:
    """A SARIF artifactLocation: a relative path stays relative to ``SRCROOT``, an absolute one is a file URI."""
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(path.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def sarif(results: Sequence[CardResult], *, base: Path | None = None) -> str:
    """SARIF 2.1.0 with the tool's name and version, every rule, and relative paths against ``SRCROOT`` (``base``,
    default the working folder, which is where relative paths on the command line start)."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    used = sorted({d.rule for r in results for d in r.diagnostics})
    rules = [
        {"id": rid, "shortDescription": {"text": RULES[rid].summary},
         "defaultConfiguration": {"level": level[RULES[rid].severity]}}
        for rid in sorted(RULES)
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    driver: dict[str, object] = {"name": "hub-lint", "fullName": f"{DISTRIBUTION} card linter", "rules": rules}
    if (found := version()) is not None:
        driver["version"] = driver["semanticVersion"] = found
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {SRCROOT: {"uri": (base or Path.cwd()).resolve().as_uri().rstrip("/") + "/"}},
            "results": [
                {
                    "ruleId": d.rule,
                    "ruleIndex": index[d.rule],
                    "level": level[d.severity],
                    "message": {"text": d.message},
                    "locations": [{"physicalLocation": {
                        "artifactLocation": _artifact(d.path),
                        "region": {"startLine": d.line, "startColumn": d.col},
                    }}],
                }
                for r in results for d in r.diagnostics
            ],
            "properties": {"rulesUsed": used},
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
