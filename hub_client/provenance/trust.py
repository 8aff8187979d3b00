"""The trust policy (``HUB_TRUST``): which models must be signed, and by whom.

A YAML file of rules, read in order; the first rule whose pattern matches a model decides::

    rules:
      - models: ["hf:acme/*"]              # fnmatch patterns: hf:ORG/NAME, a MindSpore Hub uid, or a name
        keys: [keys/acme.pub]              # paths relative to this file
      - models: ["mindspore/2.5/*"]
        certificate-chain: [ca/root.pem]
      - models: ["hf:sigstore-org/*"]
        identities: [{identity: release@example.com, issuer: https://accounts.google.com}]

A model no rule matches is pulled as before (its hashes checked against its card); a model a rule matches must
carry a signature that one of the rule's anchors verifies, and every file it uses must be in it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from registry.errors import UsageError
from registry.record import Dialect, ModelRecord

from .signature import TrustAnchor

M = TypeVar("M", bound=BaseModel)


class _Identity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: str = Field(min_length=1)
    issuer: str = Field(min_length=1)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    models: list[str] = Field(min_length=1)
    keys: list[str] = Field(default_factory=list)
    certificate_chain: list[str] = Field(default_factory=list, alias="certificate-chain")
    identities: list[_Identity] = Field(default_factory=list)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[_Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class TrustRule:
    """One rule: the patterns it covers and the anchors, any of which may have signed a model it matches.
    ``where`` names it in messages (the file and the rule's number)."""

    patterns: tuple[str, ...]
    anchors: tuple[TrustAnchor, ...]
    where: str

    def matches(self, names: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(n, p) for p in self.patterns for n in names)

    def describe(self) -> str:
        return " or ".join(a.describe() for a in self.anchors)


@dataclass(frozen=True)
class TrustPolicy:
    rules: tuple[TrustRule, ...]

    def rule_for(self, record: ModelRecord) -> TrustRule | None:
        """The first rule that matches one of the model's names (see :func:`names_of`), or None."""
        names = names_of(record)
        return next((r for r in self.rules if r.matches(names)), None)


def names_of(record: ModelRecord) -> list[str]:
    """The names a rule's patterns are matched against: ``hf:ORG/NAME`` for a Hugging Face repo; the uid, the
    name and ``name@version`` for a MindSpore Hub card."""
    if record.dialect is Dialect.HUGGINGFACE:
        return [f"hf:{record.uid or record.name}"]
    names = [record.uid or "", record.name]
    if record.mindspore_version:
        names.append(f"{record.name}@{record.mindspore_version}")
    return [n for n in names if n]


def load(path: Path) -> TrustPolicy:
    """Read a trust policy file.

    Raises:
        UsageError: the file is missing, is no YAML, breaks the format above, or names a key file that is not
            there; the message says where.
    """
    parsed = read_yaml(path, _File, "trust policy")
    return TrustPolicy(_rules(parsed.rules, path))


def read_yaml(path: Path, schema: type[M], what: str) -> M:
    """A YAML policy file read into ``schema``.

    Raises:
        UsageError: unreadable, not YAML, or not what ``schema`` says, naming the file and the place.
    """
    import yaml  # here, not at the top: every pull imports this module, and only a policy needs YAML

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"the {what} {path} cannot be read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise UsageError(f"the {what} {path} is not YAML: {e}") from None
    try:
        return schema.model_validate(data or {})
    except ValidationError as e:
        raise UsageError(_problem(path, e, what)) from None


def rules_of(raw: list[dict[str, object]], path: Path) -> tuple[TrustRule, ...]:
    """Rules written in this format inside another file (a mirror policy's ``signatures``); key files are relative
    to ``path``'s folder.

    Raises:
        UsageError: a rule that breaks the format, or names a key file that is not there.
    """
    try:
        parsed = _File.model_validate({"rules": raw})
    except ValidationError as e:
        raise UsageError(_problem(path, e, "policy")) from None
    return _rules(parsed.rules, path)


def _problem(path: Path, e: ValidationError, what: str) -> str:
    first = e.errors()[0]
    at = ".".join(str(p) for p in first["loc"])
    return f"the {what} {path}: {at}: {first['msg']}"


def _rules(parsed: list[_Rule], path: Path) -> tuple[TrustRule, ...]:
    base = path.parent
    rules = []
    for i, r in enumerate(parsed, 1):
        where = f"{path}#{i} ({', '.join(r.models)})"
        anchors = [TrustAnchor(key=_file(base, k, where)) for k in r.keys]
        if r.certificate_chain:
            anchors.append(TrustAnchor(certificate_chain=tuple(_file(base, c, where) for c in r.certificate_chain)))
        anchors += [TrustAnchor(identity=i.identity, issuer=i.issuer) for i in r.identities]
        if not anchors:
            raise UsageError(f"the trust rule {where} names no key, certificate chain or identity: a rule says who "
                             "must have signed")
        rules.append(TrustRule(tuple(r.models), tuple(anchors), where))
    return tuple(rules)


def _file(base: Path, name: str, where: str) -> Path:
    path = (base / name).expanduser()
    if not path.is_file():
        raise UsageError(f"the trust rule {where} names {name}, which is not a file (paths are relative to the "
                         "policy file)")
    return path
