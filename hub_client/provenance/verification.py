"""Whether a model's files are the ones its signature lists: a folder on disk, or digests a pull computed.

``model_signing verify`` hashes every file of a folder. A pulled model's files were hashed while they came (a
blob is named by its sha256), so :func:`compare` takes those digests and reads nothing again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import SignatureError, UsageError

from .signature import GIT_PATHS, SIGNATURE_FILE, TrustAnchor, ignored_paths, library, read_signed
from .signed import SignedFiles


@dataclass(frozen=True)
class Verdict:
    """A signature that holds: who made it, the files checked, and the signed files that were not there to check
    (a pull of one weight format leaves the others out; a folder must hold them all)."""

    model: str
    signer: str
    checked: tuple[str, ...]
    not_present: tuple[str, ...] = field(default=())


def compare(signed: SignedFiles, actual: Mapping[str, str], *, model: str, signer: str,
            partial: bool = False, rule: str | None = None) -> Verdict:
    """Check ``actual`` (path -> sha256 hex of each file present) against what ``signed`` lists.

    Every present file must be signed with its digest; with ``partial`` (a pull that chose some files) signed files
    may be absent, otherwise they count as missing.

    Raises:
        SignatureError: naming each file that differs, is not signed, or is missing.
    """
    if not signed.per_file_sha256:
        raise SignatureError(model, f"the signature lists {signed.method} digests of {signed.hash_type}; files "
                             "pulled through the hub are checked against whole-file sha256 signatures (model_signing "
                             "sign's default)", rule=rule)
    differ = sorted(p for p, d in actual.items() if p in signed.digests and signed.digests[p] != d)
    unsigned = sorted(p for p in actual if p not in signed.digests)
    absent = sorted(p for p in signed.digests if p not in actual)
    problems = []
    if differ:
        problems.append("differs from the signed digest: " + ", ".join(
            f"{p} (signed {signed.digests[p][:16]}..., is {actual[p][:16]}...)" for p in differ))
    if unsigned:
        problems.append("not in the signature: " + ", ".join(unsigned))
    if absent and not partial:
        problems.append("signed but missing: " + ", ".join(absent))
    if problems:
        raise SignatureError(model, f"the signature by {signer} holds, but " + "; ".join(problems),
                             files=tuple(differ + unsigned + ([] if partial else absent)), rule=rule)
    return Verdict(model, signer, tuple(sorted(actual)), tuple(absent))


def first_holding(signature: Path, anchors: Iterable[TrustAnchor], *, model: str,
                  rule: str | None = None) -> tuple[SignedFiles, TrustAnchor]:
    """The content of ``signature`` and the first of ``anchors`` it verifies under.

    Raises:
        SignatureError: it verifies under none of them (each one's reason given).
    """
    reasons = []
    for anchor in anchors:
        try:
            return read_signed(signature, anchor, what=model), anchor
        except SignatureError as e:
            reasons.append(e.problem)
    raise SignatureError(model, "; ".join(reasons), rule=rule)


def verify_folder(folder: Path, anchor: TrustAnchor, signature: Path | None = None) -> Verdict:
    """Verify a local folder against its signature (default ``folder/model.sig``), as ``model_signing verify``
    does: every file signed with its digest, none missing, none extra (git's files and the signature left out).

    Raises:
        UsageError: no such folder, or no signature in it.
        SignatureError: the signature does not hold, or a file differs from it (named).
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    signature = signature or folder / SIGNATURE_FILE
    if not signature.is_file():
        raise UsageError(f"{folder} has no {signature.name}: there is no signature to check (model_signing sign "
                         "writes one)")
    signed = read_signed(signature, anchor, what=str(folder))
    if not signed.per_file_sha256:  # signed by shards: the library hashes the folder its own way
        config = library().verifying.Config()
        _configure(config, anchor)
        try:
            config.verify(folder, signature)
        except ValueError as e:
            raise SignatureError(str(folder), str(e)) from None
        return Verdict(str(folder), anchor.describe(), tuple(sorted(signed.digests)))
    hashing = (library().hashing.Config()
               .set_ignored_paths(paths=ignored_paths(folder, signature, signed.ignored), ignore_git_paths=True)
               .set_allow_symlinks(True))
    manifest = hashing.hash(folder)
    actual = {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}
    return compare(signed, actual, model=str(folder), signer=anchor.describe())


def _configure(config: object, anchor: TrustAnchor) -> None:
    if anchor.key is not None:
        config.use_elliptic_key_verifier(public_key=anchor.key)  # type: ignore[attr-defined]
    elif anchor.certificate_chain:
        config.use_certificate_verifier(certificate_chain=anchor.certificate_chain)  # type: ignore[attr-defined]
    else:
        config.use_sigstore_verifier(identity=anchor.identity, oidc_issuer=anchor.issuer)  # type: ignore[attr-defined]


def skipped(name: str) -> bool:
    """Whether a file of a model is left out of its signature (git's own files, the signature)."""
    top = name.split("/", 1)[0]
    return name == SIGNATURE_FILE or top in GIT_PATHS
