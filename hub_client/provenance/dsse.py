"""The key method's check, read straight off the bundle with ``cryptography``: what a pull does when its trust
rule names public keys.

``model_signing`` loads Sigstore, TUF and their clients whatever method is used, which costs more than checking
the signature does, and on a machine of two cores slows the download it runs beside (``python -m
bench.provenance``). For a signature made with a key, the check is small and fixed by the format: the DSSE
envelope's ECDSA signature over its pre-authentication encoding, by the key the bundle's hint names, and an in-toto
statement whose subject digest is the sha256 of its resources' digests. That check is made here the way
``model_signing`` 1.1.1 makes it (``_signing/sign_ec_key.py``, ``sign_sigstore_pb.py``, ``signing.py``), and
``tests/hub_client/provenance/test_dsse.py`` holds the two to the same verdict on signatures both tools made
and on tampered ones. Anything else (certificates, Sigstore, the pre-1.0 formats) goes to the library.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from registry.errors import SignatureError

from .signed import SignedFiles

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"


class NotThisFormat(Exception):
    """A signature this reader does not take (another method, an older format): the library reads it."""


def pae(payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of an in-toto payload (the bytes the signature is over)."""
    return b" ".join([f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)}".encode(), payload])


def _hash_for(key: Any) -> Any:
    from cryptography.hazmat.primitives import hashes

    sizes: dict[int, hashes.HashAlgorithm] = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}
    found = sizes.get(key.curve.key_size)
    if found is None:
        raise NotThisFormat(f"a {key.curve.key_size}-bit curve")
    return found


def read_key_signed(signature: Path, public_key: Path, *, what: str) -> SignedFiles:
    """What ``signature`` signs, if the key in ``public_key`` made it.

    Raises:
        SignatureError: not a signature of this format, not made with this key, or a statement that does not add
            up (wording as :func:`~hub_client.provenance.signature.read_signed`).
        NotThisFormat: a signature made otherwise (a certificate, Sigstore) or in a format before 1.0.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        bundle = json.loads(signature.read_bytes())
        material = bundle["verificationMaterial"]
        envelope = bundle["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        sig = base64.b64decode(envelope["signatures"][0]["sig"], validate=True)
        payload_type = envelope["payloadType"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise SignatureError(what, f"{signature.name} is not a model signature ({type(e).__name__}: {e})") from None
    if "publicKey" not in material:
        raise NotThisFormat("not signed with a key")
    key = serialization.load_pem_public_key(public_key.read_bytes())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise NotThisFormat("not an elliptic curve key")
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hint = material["publicKey"].get("hint")
    if not hint:
        raise NotThisFormat("a signature from before key hints")
    if hint != hashlib.sha256(pem).hexdigest():
        raise SignatureError(what, f"the signature was not made with the key {public_key} (it names another key)")
    try:
        key.verify(sig, pae(payload), ec.ECDSA(_hash_for(key)))
    except InvalidSignature:
        raise NotThisFormat("maybe the pre-1.0 encoding") from None
    if payload_type != PAYLOAD_TYPE:
        raise SignatureError(what, f"the signature holds a {payload_type} payload, not an in-toto statement")
    return _statement(json.loads(payload), what)


def _statement(statement: dict[str, Any], what: str) -> SignedFiles:
    if statement.get("_type") != STATEMENT_TYPE:
        raise SignatureError(what, f"the signed payload is a {statement.get('_type')}, not an in-toto statement")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise NotThisFormat(f"predicate {statement.get('predicateType')}")
    subjects = statement["subject"]
    if len(subjects) != 1:
        raise SignatureError(what, f"the signed statement has {len(subjects)} subjects, not one")
    predicate = statement["predicate"]
    args = predicate["serialization"]
    if args.get("method") != "files":
        raise NotThisFormat("signed by shards")
    root = hashlib.sha256()
    digests = {}
    for r in predicate["resources"]:
        value = bytes.fromhex(r["digest"])
        root.update(value)
        digests[r["name"]] = value.hex()
    if root.hexdigest() != subjects[0]["digest"]["sha256"]:
        raise SignatureError(what, "the signed statement does not add up: its resources do not hash to its subject")
    return SignedFiles(digests, method="files", hash_type=str(args.get("hash_type", "")),
                       ignored=tuple(str(p) for p in args.get("ignore_paths", ())))
