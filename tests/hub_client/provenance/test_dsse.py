"""The key method's own reader (dsse.py) and model_signing's verifier reach the same verdict: on signatures made by
hub and by the model_signing command line, and on each way of tampering with one."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from helpers import payload
from helpers.signing import hub, model_signing
from helpers.tools import need_module

from hub_client.provenance import TrustAnchor, read_signed
from hub_client.provenance.dsse import pae, read_key_signed
from hub_client.provenance.signature import read_signed_by_library
from registry.errors import SignatureError

pytestmark = pytest.mark.usefixtures("_signing")


@pytest.fixture(scope="module")
def _signing():
    need_module("model_signing")


@pytest.fixture(params=["hub", "model_signing"])
def signed(request, tmp_path, signing_keys):
    good, _ = signing_keys
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "w.safetensors").write_bytes(payload(50_000, seed=3))
    if request.param == "hub":
        assert hub("sign", folder, "--key", good.private).returncode == 0
    else:
        assert model_signing("sign", "key", folder, "--private_key", good.private,
                             "--signature", folder / "model.sig").returncode == 0
    return folder / "model.sig"


def verdicts(sig, key):
    """(ours, the library's): the digests each reads, or "refused". Ours is what hub runs: the bundle read here,
    and what this reader leaves (a signature that fails the 1.0 encoding may be a pre-1.0 one) to the library."""
    out = []
    anchor = TrustAnchor(key=key)
    for read in (lambda: read_signed(sig, anchor), lambda: read_signed_by_library(sig, anchor)):
        try:
            out.append(dict(read().digests))
        except SignatureError:
            out.append("refused")
    return out


def edit(sig, tmp_path, change):
    bundle = json.loads(sig.read_text())
    change(bundle)
    out = tmp_path / "edited.sig"
    out.write_text(json.dumps(bundle))
    return out


def test_both_read_the_same_digests_and_refuse_another_key(signed, signing_keys):
    good, stranger = signing_keys
    ours, theirs = verdicts(signed, good.public)
    assert ours == theirs and set(ours) == {"config.json", "w.safetensors"}
    assert dict(read_key_signed(signed, good.public, what="m").digests) == ours  # read here, no library
    assert verdicts(signed, stranger.public) == ["refused", "refused"]


def flip_payload(bundle):
    raw = bytearray(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    raw[len(raw) // 2] ^= 1
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes(raw)).decode()


def flip_signature(bundle):
    raw = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    raw[10] ^= 1
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()


def other_hint(bundle):
    bundle["verificationMaterial"]["publicKey"]["hint"] = "0" * 64


@pytest.mark.parametrize("tamper", [flip_payload, flip_signature, other_hint])
def test_both_refuse_a_tampered_signature(signed, signing_keys, tmp_path, tamper):
    good, _ = signing_keys
    assert verdicts(edit(signed, tmp_path, tamper), good.public) == ["refused", "refused"]


def test_both_refuse_a_statement_that_does_not_add_up(signed, signing_keys, tmp_path):
    """A well-signed statement whose resources do not hash to its subject."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    good, _ = signing_keys
    private = serialization.load_pem_private_key(good.private.read_bytes(), password=None)

    def resign(bundle):
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        statement["predicate"]["resources"][0]["digest"] = hashlib.sha256(b"other").hexdigest()
        raw = json.dumps(statement).encode()
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(raw).decode()
        sig = private.sign(pae(raw), ec.ECDSA(hashes.SHA256()))
        bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(sig).decode()

    assert verdicts(edit(signed, tmp_path, resign), good.public) == ["refused", "refused"]
