"""The mirror's policy (``hub serve --policy POLICY.yaml``): what may enter, checked before anything is served.

::

    allow: ["hf:acme/*", "mindspore/*"]     # absent: any repo or card; present: only those matching
    deny: ["hf:acme/secret-*"]              # wins over allow
    licenses: [apache-2.0, mit]             # SPDX ids; a model whose card says another (or none) is refused
    formats:
      refuse: [".bin", ".pt", ".pth", ".pkl"]   # the default: pickle-based weights, which run code when loaded
      allow-for: ["hf:legacy/*"]            # models whose refused formats pass all the same
    signatures:                             # the trust policy's rules (HUB_TRUST's format)
      - models: ["hf:acme/*"]
        keys: [keys/acme.pub]               # relative to this file

Names are matched as the trust policy matches them: ``hf:ORG/NAME`` for a Hugging Face repo, a MindSpore Hub
card's uid, name and ``name@version``. A refusal is a 403 whose message names the rule (``POLICY.yaml: deny
hf:acme/secret-*``); a refused file format is left out of listings, so ``snapshot_download`` takes the rest.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from hub_client.provenance import TrustPolicy, TrustRule
from hub_client.provenance.trust import read_yaml, rules_of
from registry.errors import SignatureError

from .storage import ServeError, Snapshot, StoredFile
from .tally import Tally

#: Weights stored with Python's pickle: loading one can run any code the file carries.
PICKLE_FORMATS = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt.pt")


class _Formats(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    refuse: list[str] = Field(default_factory=lambda: list(PICKLE_FORMATS))
    allow_for: list[str] = Field(default_factory=list, alias="allow-for")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow: list[str] | None = None
    deny: list[str] = Field(default_factory=list)
    licenses: list[str] | None = None
    formats: _Formats = Field(default_factory=_Formats)
    signatures: list[dict[str, object]] = Field(default_factory=list)


class Refused(ServeError):
    """A 403 naming the rule that refused: ``rule`` (``POLICY.yaml: deny hf:x/*``) and the reason."""

    status = 403

    def __init__(self, rule: str, reason: str) -> None:
        self.rule = rule
        self.reason = reason
        super().__init__("PolicyRefused", f"refused by the mirror's policy ({rule}): {reason}", 403)


@dataclass(frozen=True)
class MirrorRules:
    """A parsed policy; ``where`` names its file in every refusal, ``tally`` counts refusals by rule."""

    where: str
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    licenses: tuple[str, ...] | None = None
    refuse_formats: tuple[str, ...] = PICKLE_FORMATS
    formats_allowed_for: tuple[str, ...] = ()
    signatures: TrustPolicy = field(default_factory=lambda: TrustPolicy(()))
    tally: Tally = field(default_factory=Tally, compare=False)

    def refuse(self, rule: str, reason: str) -> Refused:
        return Refused(f"{self.where}: {rule}", reason)

    def check_name(self, names: list[str]) -> None:
        """Refuse a model the allow and deny patterns keep out (what an upload is held to before it has a card).

        Raises:
            Refused: naming the rule.
        """
        shown = names[0] if names else "?"
        for pattern in self.deny:
            if _matches(names, pattern):
                raise self.refuse(f"deny {pattern}", f"{shown} is denied")
        if self.allow is not None and not any(_matches(names, p) for p in self.allow):
            raise self.refuse("allow", f"{shown} matches none of {', '.join(self.allow) or 'no pattern'}")

    def check_model(self, names: list[str], license_id: str | None) -> None:
        """Refuse a model the patterns or the licenses keep out.

        Raises:
            Refused: naming the rule.
        """
        shown = names[0] if names else "?"
        self.check_name(names)
        if self.licenses is not None:
            lic = (license_id or "").lower()
            if lic not in self.licenses:
                said = f"its card says {license_id}" if license_id else "its card names no license"
                raise self.refuse("licenses", f"{shown}: {said}; allowed: {', '.join(self.licenses)}")

    def refused_format(self, names: list[str], path: str) -> Refused | None:
        """The refusal of one file by its format, or None (the rule is not counted until it is used)."""
        name = PurePosixPath(path).name.lower()
        hit = next((s for s in self.refuse_formats if name.endswith(s)), None)
        if hit is None or any(_matches(names, p) for p in self.formats_allowed_for):
            return None
        return Refused(f"{self.where}: formats.refuse {hit}",
                       f"{path} is a {hit} file (pickle-based weights run code when loaded); take the safetensors")


def _matches(names: list[str], pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)


def load_rules(path: Path) -> MirrorRules:
    """Read a mirror policy.

    Raises:
        UsageError: unreadable, not YAML, a key the format does not have, or a key file that is not there.
    """
    parsed = read_yaml(path, _File, "mirror policy")
    return MirrorRules(
        where=path.name, allow=tuple(parsed.allow) if parsed.allow is not None else None, deny=tuple(parsed.deny),
        licenses=tuple(x.lower() for x in parsed.licenses) if parsed.licenses is not None else None,
        refuse_formats=tuple(s.lower() if s.startswith(".") else f".{s.lower()}" for s in parsed.formats.refuse),
        formats_allowed_for=tuple(parsed.formats.allow_for),
        signatures=TrustPolicy(rules_of(parsed.signatures, path)))


def judge(rules: MirrorRules, snap: Snapshot, read: Callable[[StoredFile], bytes]) -> Snapshot | Refused:
    """What the mirror may serve of ``snap``: the snapshot less the files of refused formats (each kept in its
    ``refused``), or the refusal of the whole repo. ``read`` gives a small file's bytes (its README for the
    license, ``model.sig`` and small files for a signature rule), checked against its address."""
    names = [f"hf:{snap.repo}"]
    try:
        rules.check_model(names, _license(snap, read) if rules.licenses is not None else None)
        rule = next((r for r in rules.signatures.rules if r.matches(names)), None)
        if rule is not None:
            _check_signed(rules, snap, rule, read)
    except Refused as refusal:
        return refusal
    refused = {f.path: r for f in snap.files if (r := rules.refused_format(names, f.path)) is not None}
    if not refused:
        return snap
    kept = tuple(f for f in snap.files if f.path not in refused)
    return Snapshot(snap.repo, snap.sha, snap.last_modified, kept, snap.gated, snap.team, refused=refused)


def _license(snap: Snapshot, read: Callable[[StoredFile], bytes]) -> str | None:
    from registry.card.analyze import analyze_text

    readme = snap.by_path.get("README.md")
    if readme is None:
        return None
    record = analyze_text(read(readme).decode("utf-8", "replace"), path="README.md").record
    return record.license if record else None


def _check_signed(rules: MirrorRules, snap: Snapshot, rule: TrustRule, read: Callable[[StoredFile], bytes]) -> None:
    import hashlib
    import tempfile

    from hub_client.provenance import SIGNATURE_FILE, compare, first_holding, skipped

    name = f"signatures {rule.where.rsplit('#', 1)[-1]}"
    sig = snap.by_path.get(SIGNATURE_FILE)
    if sig is None:
        raise rules.refuse(name, f"hf:{snap.repo} has no {SIGNATURE_FILE}; {rule.describe()} must have signed it")
    with tempfile.TemporaryDirectory(prefix="hub-serve-sig-") as tmp:
        path = Path(tmp) / SIGNATURE_FILE
        path.write_bytes(read(sig))
        try:
            signed, anchor = first_holding(path, rule.anchors, model=f"hf:{snap.repo}")
            actual = {f.path: f.etag if f.lfs else hashlib.sha256(read(f)).hexdigest()
                      for f in snap.files if not skipped(f.path)}
            compare(signed, actual, model=f"hf:{snap.repo}", signer=anchor.describe(), partial=True)
        except SignatureError as e:
            raise rules.refuse(name, e.problem) from None
