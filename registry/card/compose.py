"""MindSpore Hub cards written rather than read: every required field, versions quoted, an ISO date, an SPDX
license and the full 64-hex sha256, checked by the same rules ``lint`` applies before anything is published.

The format lives in ``mshub.py`` (its schema) and ``cardfile.py`` (its layout); this module only lays the
fields out in MindSpore Hub's own order, so a written card reads like a published one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import yaml

from registry.errors import InvalidCardError

from .analyze import analyze_text
from .diagnostics import Severity

#: MindSpore Hub's own key order (its published cards and its card checker's template).
_ORDER = ("model-name", "backbone-name", "module-type", "fine-tunable", "input-shape", "model-version",
          "train-dataset", "evaluation", "author", "update-time", "repo-link", "user-id", "used-for",
          "train-backend", "infer-backend", "mindspore-version", "asset", "signature-link", "license", "summary")


@dataclass(frozen=True)
class MsCardFields:
    """What a MindSpore Hub card says; ``asset_link``/``asset_sha256`` are where the checkpoint was put."""

    model_name: str
    backbone_name: str
    train_dataset: str
    author: str
    repo_link: str
    asset_link: str
    asset_sha256: str
    license: str = "Apache-2.0"
    summary: str = ""
    model_version: str = "1.0"
    mindspore_version: str = "2.5"
    module_type: str = "cv-classification"
    fine_tunable: bool = True
    used_for: str = "inference"
    user_id: str = ""
    evaluation: str | None = None
    updated: dt.date = field(default_factory=dt.date.today)
    input_shape: tuple[int, ...] | None = None
    infer_backend: str | None = None
    body: str = ""
    signature_link: str | None = None


class _Quoted(str):
    """A string YAML must write in quotes (versions: ``2.10`` unquoted is the number 2.1)."""


def _dumper() -> type[yaml.SafeDumper]:
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))
    return Dumper


def mindspore_card(f: MsCardFields) -> str:
    """The card's text, checked as ``lint --strict`` would check it.

    Raises:
        InvalidCardError: a field makes the card fail a rule (every problem listed, as lint words it).
    """
    data: dict[str, object] = {
        "model-name": f.model_name, "backbone-name": f.backbone_name, "module-type": f.module_type,
        "fine-tunable": f.fine_tunable, "model-version": _Quoted(f.model_version), "train-dataset": f.train_dataset,
        "evaluation": f.evaluation, "author": f.author, "update-time": f.updated,
        "repo-link": f.repo_link, "user-id": f.user_id or f.author, "used-for": f.used_for,
        "infer-backend": f.infer_backend, "mindspore-version": _Quoted(f.mindspore_version),
        "input-shape": list(f.input_shape) if f.input_shape else None,
        "asset": [{"file-format": "ckpt", "asset-link": f.asset_link, "asset-sha256": f.asset_sha256}],
        "signature-link": f.signature_link, "license": f.license,
        "summary": f.summary or f"{f.model_name}, published with hub",
    }
    ordered = {k: data[k] for k in _ORDER if data.get(k) is not None}
    front = yaml.dump(ordered, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=1000)
    text = f"# {f.model_name}\n\n---\n\n{front}\n---\n\n# {f.model_name}\n\n{f.body or ordered['summary']}\n"
    check(text, f.model_name)
    return text


def check(text: str, name: str) -> None:
    """Refuse a card that ``lint --strict`` would fail: any error or warning, each one named.

    Raises:
        InvalidCardError: with every failing diagnostic.
    """
    result = analyze_text(text, path=f"{name}.md")
    failing = [d for d in result.diagnostics if d.severity in (Severity.ERROR, Severity.WARNING)]
    if failing:
        raise InvalidCardError(name, f"{name}.md", [f"{d.rule}: {d.message}" for d in failing],
                               [d.as_dict() for d in failing])
