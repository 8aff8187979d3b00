"""The trust policy applied to a pull: a model a rule covers comes only with a signature one of the rule's anchors
verifies, and only files that signature lists with the digest they have.

The order keeps refusals clean: the signature is fetched and checked first (it is small); the digests a card or
a listing already gives (a MindSpore Hub asset's full sha256, a Hugging Face LFS file's address) are compared
with it before any weight is downloaded; a small file whose listing gives only its git blob id is compared when it
arrives, before it is stored. A refused model leaves nothing marked as verified. A kept signature is stored
with the model (``model.sig`` beside the assets, or in the repo's snapshot), so a cached pull checks it again
without a network call and without reading the weights: their digests are the names of their blobs.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hub_client.provenance import (
    SIGNATURE_FILE,
    SignedFiles,
    TrustAnchor,
    TrustPolicy,
    TrustRule,
    Verdict,
    compare,
    first_holding,
    load,
    skipped,
    worker,
)
from registry.errors import SignatureError
from registry.record import AssetRecord, Dialect, ModelRecord
from registry.settings import Settings

from .cache import Cache, asset_key, link
from .digests import file_digest
from .policy import Policy

if TYPE_CHECKING:
    from .hf_files import RepoFile

Check = Callable[[Path], None]


def trust_rule(record: ModelRecord, settings: Settings) -> TrustRule | None:
    """The rule of the trust policy (``settings.trust_file``) that covers ``record``; None when none does."""
    if settings.trust_file is None:
        return None
    return load(settings.trust_file).rule_for(record)


def label(record: ModelRecord) -> str:
    return f"hf:{record.uid}" if record.dialect is Dialect.HUGGINGFACE else (record.uid or record.name)


@dataclass
class HfPlan:
    """What a signed Hugging Face pull checks. The signature's bytes come first (a few kB) and are checked (at once
    for a key; in a child process, while the files download, for a certificate or Sigstore: ``worker.py``); each
    file, LFS or small, waits for that verdict and is compared with it before it is stored, so a refusal keeps
    nothing. The signature itself is stored last, once every file held."""

    rule: TrustRule
    model: str
    names: list[str]
    by_name: dict[str, RepoFile]
    verdict: Future[tuple[SignedFiles, TrustAnchor]] | None = None
    sig_sha256: str = ""
    _held: tuple[SignedFiles, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self, signature: bytes) -> None:
        """Start checking ``signature`` (its bytes, already checked against the listing's address): see
        ``provenance/worker.py``."""
        self.sig_sha256 = hashlib.sha256(signature).hexdigest()
        self.verdict = worker.verdict(signature, self.rule.anchors, model=self.model, rule=self.rule.where)

    def result(self) -> tuple[SignedFiles, str]:
        """What the signature signs and who signed it, once it holds and agrees with the listing (judged once)."""
        assert self.verdict is not None
        with self._lock:
            if self._held is None:
                signed, anchor = self.verdict.result()
                signer = anchor.describe()
                wanted = [n for n in self.names if not skipped(n)]
                unsigned = [n for n in wanted if n not in signed.digests]
                if unsigned:
                    raise SignatureError(self.model, f"the signature by {signer} does not list "
                                         f"{', '.join(unsigned)}", files=tuple(unsigned), rule=self.rule.where)
                lfs = {n: self.by_name[n].etag for n in wanted if self.by_name[n].address == "sha256"}
                compare(signed, lfs, model=self.model, signer=signer, partial=True, rule=self.rule.where)
                self._held = signed, signer
            return self._held

    def checks(self) -> dict[str, Check]:
        """Each file's check: the verdict, then its digest (an LFS file's is its address; a small file's, read)."""
        out: dict[str, Check] = {SIGNATURE_FILE: self._same_signature}
        for n in self.names:
            if not skipped(n):
                out[n] = self._file(n, self.by_name[n].etag if self.by_name[n].address == "sha256" else None)
        return out

    def _file(self, name: str, known: str | None) -> Check:
        def check(path: Path) -> None:
            signed, signer = self.result()
            compare(signed, {name: known or file_digest(path)}, model=self.model, signer=signer, partial=True,
                    rule=self.rule.where)
        return check

    def _same_signature(self, path: Path) -> None:
        self.result()
        if file_digest(path) != self.sig_sha256:
            raise SignatureError(self.model, f"{SIGNATURE_FILE} changed between two reads of it", rule=self.rule.where)


def hf_plan(record: ModelRecord, names: list[str], by_name: dict[str, RepoFile],
            settings: Settings) -> HfPlan | None:
    """The plan of a pull the trust policy covers, or None. The signature must be among the files.

    Raises:
        SignatureError: the repo has no ``model.sig``.
    """
    rule = trust_rule(record, settings)
    if rule is None:
        return None
    model = label(record)
    if SIGNATURE_FILE not in by_name:
        raise SignatureError(model, f"the repo has no {SIGNATURE_FILE}", rule=rule.where)
    if SIGNATURE_FILE in names:  # fetched apart: first its bytes, last the file, once every other held
        names.remove(SIGNATURE_FILE)
    return HfPlan(rule, model, names, by_name)


def signed_assets(record: ModelRecord, assets: list[AssetRecord], *, settings: Settings, policy: Policy,
                  trust: TrustPolicy | None = None) -> list[AssetRecord]:
    """``assets`` with the sha256 the signature gives (full, so a card's 8-hex prefix no longer decides), when the
    trust policy covers ``record``; as they are otherwise. The signature is fetched (or read from the cache) and
    checked first, and every asset compared with it before a byte of one is downloaded. ``trust`` is the policy
    to apply instead of the settings' (a mirror's own rules).

    Raises:
        SignatureError: no signature link, a signature no anchor of the rule verifies, an asset it does not list
            or lists with another digest than the card's.
    """
    rule = trust.rule_for(record) if trust is not None else trust_rule(record, settings)
    if rule is None:
        return assets
    model = label(record)
    cache = Cache(settings.home)
    kept = cache.model_dir(record) / SIGNATURE_FILE
    if kept.is_file():
        signed, anchor = first_holding(kept, rule.anchors, model=model, rule=rule.where)
    else:
        if not record.signature_url:
            raise SignatureError(model, "the card names no signature (signature-link)", rule=rule.where)
        with _fetched(record.signature_url, cache, settings=settings, policy=policy) as path:
            signed, anchor = first_holding(path, rule.anchors, model=model, rule=rule.where)
            digest = file_digest(path)
            link(kept, cache.store_blob(path, digest))
    out = []
    for asset in assets:
        have = signed.digests.get(asset.filename)
        if have is None:
            raise SignatureError(model, f"the signature by {anchor.describe()} does not list {asset.filename}",
                                 files=(asset.filename,), rule=rule.where)
        if asset.sha256 and not have.startswith(asset.sha256):
            raise SignatureError(model, f"the card gives {asset.filename} the sha256 {asset.sha256}, the signature by "
                                 f"{anchor.describe()} {have}", files=(asset.filename,), rule=rule.where)
        out.append(asset.model_copy(update={"sha256": have, "sha256_kind": "full"}))
    return out


@contextlib.contextmanager
def _fetched(url: str, cache: Cache, *, settings: Settings, policy: Policy) -> Iterator[Path]:
    """A signature file downloaded to a partial file of the cache (mirrors first), removed afterwards."""
    from .transfer import Partial, fetch_first

    part = Partial(cache.partial_path(asset_key(url, None) + "-sig"))
    try:
        fetch_first(url, part, settings=settings, policy=policy, name="signature")
        yield part.path
    finally:
        part.discard()


def cached_verdict(record: ModelRecord, anchors: Iterable[TrustAnchor], *, settings: Settings,
                   rule: str | None = None) -> Verdict:
    """Check a model's cached files against its kept signature, reading no weight: a blob named by its sha256
    and verified when it came is taken at its name.

    Raises:
        SignatureError: nothing cached, no kept signature, or one that does not hold for the cached files.
    """
    cache = Cache(settings.home)
    model = label(record)
    files = cached_files(record, settings)
    if not files:
        raise SignatureError(model, "nothing of it is cached: pull it first", rule=rule)
    sig = files.get(SIGNATURE_FILE)
    if sig is None or not sig.is_file():
        raise SignatureError(model, f"no {SIGNATURE_FILE} was pulled with it", rule=rule)
    signed, anchor = first_holding(sig, anchors, model=model, rule=rule)
    actual = {n: cache.sha256_of(p) for n, p in files.items() if not skipped(n)}
    return compare(signed, actual, model=model, signer=anchor.describe(), partial=True, rule=rule)


def cached_files(record: ModelRecord, settings: Settings) -> dict[str, Path]:
    """The files of ``record`` in the cache, by their name in the model (the signature's own included)."""
    if record.dialect is Dialect.HUGGINGFACE:
        from .hf_files import snapshot

        snap = snapshot(record, settings=settings)
        if snap is None:
            return {}
        return {p.relative_to(snap).as_posix(): p for p in sorted(snap.rglob("*")) if p.is_file()}
    cache = Cache(settings.home)
    out = {a.filename: cache.asset_path(record, a) for a in record.assets if cache.is_cached(record, a)}
    kept = cache.model_dir(record) / SIGNATURE_FILE
    if kept.is_file():
        out[SIGNATURE_FILE] = kept
    return out


def signature_status(record: ModelRecord, settings: Settings) -> dict[str, str | None]:
    """What ``hub info`` says of a model's signature: the rule that asks for one (if any), who may have made it,
    and whether the cached files hold against the kept signature (``verified``, ``refused``, ``not pulled``), or
    ``signed`` / ``unsigned`` where no rule asks."""
    rule = trust_rule(record, settings)
    files = cached_files(record, settings)
    has_sig = SIGNATURE_FILE in files or bool(record.signature_url)
    if rule is None:
        return {"rule": None, "signers": None, "status": "signed" if has_sig else "unsigned",
                "detail": "no trust rule covers it" + ("; a public key checks its signature" if has_sig else "")}
    out: dict[str, str | None] = {"rule": rule.where, "signers": rule.describe()}
    if not files:
        return {**out, "status": "not pulled", "detail": "checked when it is pulled"}
    try:
        verdict = cached_verdict(record, rule.anchors, settings=settings, rule=rule.where)
    except SignatureError as e:
        return {**out, "status": "refused", "detail": e.problem}
    return {**out, "status": "verified", "detail": f"{len(verdict.checked)} file(s) signed by {verdict.signer}"}
