"""OpenSSF model signatures (``model.sig``): written and read with the ``model_signing`` package.

A signature is a Sigstore bundle whose DSSE statement lists every file of a model with its digest. Signing a
folder and verifying a folder go through the package's public ``signing``/``verifying`` configurations. Two
things it has no public call for are done here, in this one module, against the pinned release (the ``sign``
extra pins ``model-signing==1.1.1``): signing digests already known (``hub publish`` hashed the files in the pass
that uploaded them), and reading the verified list of digests out of a signature, so that a pulled model is
checked against the digests its pull computed instead of reading every file a second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from registry.errors import BackendUnavailableError, SignatureError, UsageError

from .signed import SignedFiles

#: The file name ``model_signing`` writes and reads by default, at the model's root.
SIGNATURE_FILE = "model.sig"
#: Paths ``model_signing`` leaves out of a folder's manifest unless told otherwise.
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")


@dataclass(frozen=True)
class TrustAnchor:
    """What a signature must be made with: a public key (``key``), a certificate chain that the signing certificate
    leads to, or a Sigstore identity and its OIDC issuer (keyless)."""

    key: Path | None = None
    certificate_chain: tuple[Path, ...] = ()
    identity: str | None = None
    issuer: str | None = None

    def __post_init__(self) -> None:
        kinds = sum((self.key is not None, bool(self.certificate_chain), self.identity is not None))
        if kinds != 1:
            raise UsageError("name exactly one way to check a signature: a public key, a certificate chain, or a "
                             "Sigstore identity with its issuer")
        if self.identity is not None and not self.issuer:
            raise UsageError(f"the Sigstore identity {self.identity!r} needs the OIDC issuer that vouches for it "
                             "(an https URL)")

    def describe(self) -> str:
        if self.key is not None:
            return f"the key {self.key}"
        if self.certificate_chain:
            return f"a certificate under {', '.join(str(c) for c in self.certificate_chain)}"
        return f"the Sigstore identity {self.identity} (issuer {self.issuer})"

    def _verifier(self) -> Any:
        from model_signing._signing import sign_certificate, sign_ec_key, sign_sigstore

        if self.key is not None:
            return sign_ec_key.Verifier(_existing(self.key, "public key"))
        if self.certificate_chain:
            return sign_certificate.Verifier([_existing(c, "certificate chain") for c in self.certificate_chain])
        return sign_sigstore.Verifier(identity=self.identity or "", oidc_issuer=self.issuer or "")


@dataclass(frozen=True)
class SigningKey:
    """What ``hub sign`` signs with: a private key (PEM, elliptic curve), with a signing certificate and its chain
    for the certificate method; or Sigstore keyless signing (``sigstore=True``, which needs the network)."""

    private_key: Path | None = None
    certificate: Path | None = None
    certificate_chain: tuple[Path, ...] = ()
    sigstore: bool = False

    def __post_init__(self) -> None:
        if self.sigstore == (self.private_key is not None):
            raise UsageError("sign with a private key (a PEM file) or with Sigstore keyless, one of them")
        if self.certificate_chain and self.certificate is None:
            raise UsageError("a certificate chain goes with the signing certificate it leads to: give that too")

    def _config(self) -> Any:
        signing = library().signing
        config = signing.Config()
        if self.sigstore:
            return config.use_sigstore_signer()
        key = _existing(self.private_key or Path(), "private key")
        if self.certificate is not None:
            return config.use_certificate_signer(
                private_key=key, signing_certificate=_existing(self.certificate, "signing certificate"),
                certificate_chain=[_existing(c, "certificate chain") for c in self.certificate_chain])
        return config.use_elliptic_key_signer(private_key=key)


def library() -> Any:
    try:
        import model_signing
        import model_signing.signing  # noqa: F401 - the submodules this module calls
        import model_signing.verifying  # noqa: F401
    except ImportError as e:
        raise BackendUnavailableError("signing", "sign", str(e)) from None
    return model_signing


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UsageError(f"the {what} {path} is not a file: give the path of a PEM file")
    return path


def ignored_paths(folder: Path, signature: Path, extra: Iterable[str] = ()) -> list[Path]:
    """Paths left out of the manifest, relative to the folder, as ``model_signing sign`` records them."""
    out = [Path(p) for p in extra]
    try:
        out.append(signature.resolve().relative_to(folder.resolve()))
    except ValueError:
        pass
    return out


def sign_folder(folder: Path, key: SigningKey, signature: Path | None = None) -> Path:
    """Sign every file under ``folder`` (git's files and the signature itself left out, as ``model_signing`` does)
    into ``signature`` (default ``folder/model.sig``); return its path.

    Raises:
        UsageError: the folder or a key file is missing.
        SignatureError: the key cannot sign (a key type the format does not take, a wrong password).
    """
    lib = library()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: sign the folder that holds the model's files")
    signature = signature or folder / SIGNATURE_FILE
    hashing = lib.hashing.Config().set_ignored_paths(paths=ignored_paths(folder, signature), ignore_git_paths=True)
    config = key._config().set_hashing_config(hashing)
    try:
        config.sign(folder, signature)
    except ValueError as e:
        raise SignatureError(str(folder), f"cannot sign with {key.private_key}: {e}") from None
    return signature


def sign_digests(name: str, digests: Mapping[str, str], key: SigningKey) -> bytes:
    """A signature of files known by their sha256 (hex) and path, without reading them: the bytes of a
    ``model.sig`` that ``model_signing verify`` accepts for a folder holding exactly these files."""
    lib = library()
    import tempfile

    from model_signing._hashing.hashing import Digest

    kind = lib.manifest.SerializationType.from_args(
        {"method": "files", "hash_type": "sha256", "allow_symlinks": False, "ignore_paths": [SIGNATURE_FILE]})
    items = [lib.manifest.FileManifestItem(path=PurePosixPath(p), digest=Digest("sha256", bytes.fromhex(d)))
             for p, d in sorted(digests.items())]
    manifest = lib.manifest.Manifest(name, items, kind)

    class _Known(lib.hashing.Config):  # type: ignore[misc,name-defined]
        def hash(self, model_path: Any, *, files_to_hash: Any = None) -> Any:
            return manifest

    config = key._config().set_hashing_config(_Known())
    with tempfile.TemporaryDirectory(prefix="hub-sign-") as tmp:
        out = Path(tmp) / SIGNATURE_FILE
        try:
            config.sign(Path(tmp) / name, out)
        except ValueError as e:
            raise SignatureError(name, f"cannot sign with {key.private_key}: {e}") from None
        return out.read_bytes()


def read_signed(signature: Path, anchor: TrustAnchor, *, what: str = "") -> SignedFiles:
    """Check the signature in ``signature`` against ``anchor`` and return what it signs: a key's signature read
    off the bundle (``dsse.py``), anything else by ``model_signing``.

    Raises:
        SignatureError: the file is no signature of this format, or it was not made with ``anchor``.
    """
    if anchor.key is not None:
        from .dsse import NotThisFormat, read_key_signed

        try:
            return read_key_signed(signature, _existing(anchor.key, "public key"), what=what or str(signature))
        except NotThisFormat:
            pass
    return read_signed_by_library(signature, anchor, what=what)


def read_signed_by_library(signature: Path, anchor: TrustAnchor, *, what: str = "") -> SignedFiles:
    """:func:`read_signed` by ``model_signing``'s own verifiers, whatever the method."""
    library()
    from model_signing._signing import sign_sigstore, sign_sigstore_pb

    where = what or str(signature)
    kind = sign_sigstore.Signature if anchor.identity is not None else sign_sigstore_pb.Signature
    try:
        bundle = kind.read(signature)
    except Exception as e:  # noqa: BLE001 - the reader raises whatever its JSON and protobuf parsers raise
        raise SignatureError(where, f"{signature.name} is not a model signature ({type(e).__name__}: {e})") from None
    try:
        manifest = anchor._verifier().verify(bundle)
    except Exception as e:  # noqa: BLE001 - ValueError, cryptography's InvalidSignature, sigstore's errors
        detail = str(e) or type(e).__name__
        raise SignatureError(where, f"the signature was not made with {anchor.describe()} ({detail})") from None
    args = manifest.serialization_type
    digests = {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}
    return SignedFiles(digests, method=str(args.get("method", "")), hash_type=str(args.get("hash_type", "")),
                       ignored=tuple(str(p) for p in args.get("ignore_paths", ())))
