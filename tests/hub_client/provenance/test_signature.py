"""OpenSSF model signatures both ways with the ``model_signing`` command line: its signatures verify in hub,
hub's in it; a flipped byte, an extra file, another key each fail, with the file named."""

from __future__ import annotations

import hashlib

import pytest
from helpers import payload
from helpers.signing import certificates, hub, model_signing
from helpers.tools import need_module

from hub_client.provenance import SigningKey, TrustAnchor, compare, read_signed, sign_digests, verify_folder
from registry.errors import SignatureError, UsageError

pytestmark = pytest.mark.usefixtures("_signing")


@pytest.fixture(scope="module")
def _signing():
    need_module("model_signing")



@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "model"
    (folder / "weights").mkdir(parents=True)
    (folder / "config.json").write_text('{"num_labels": 3}')
    (folder / "weights" / "model.safetensors").write_bytes(payload(300_000, seed=7))
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs\n")  # git's own: never signed
    return folder


def flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_model_signing_signature_verifies_in_hub(model, signing_keys):
    good, stranger = signing_keys
    made = model_signing("sign", "key", model, "--private_key", good.private, "--signature", model / "model.sig")
    assert made.returncode == 0, made.stderr
    ok = hub("verify", model, "--key", good.public)
    assert ok.returncode == 0, ok.stderr
    assert "2 file(s) signed by the key" in ok.stdout
    other = hub("verify", model, "--key", stranger.public)
    assert other.returncode == 1
    assert "was not made with the key" in other.stderr and str(stranger.public) in other.stderr


def test_a_hub_signature_verifies_in_model_signing(model, signing_keys):
    good, stranger = signing_keys
    signed = hub("sign", model, "--key", good.private)
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.strip() == str(model / "model.sig")
    ok = model_signing("verify", "key", model, "--signature", model / "model.sig", "--public_key", good.public)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Verification succeeded" in ok.stdout + ok.stderr
    bad = model_signing("verify", "key", model, "--signature", model / "model.sig", "--public_key", stranger.public)
    assert bad.returncode != 0


@pytest.mark.parametrize("signer", ["hub", "model_signing"])
def test_a_flipped_byte_fails_both_tools_naming_the_file(model, signing_keys, signer):
    good, _ = signing_keys
    if signer == "hub":
        assert hub("sign", model, "--key", good.private).returncode == 0
    else:
        assert model_signing("sign", "key", model, "--private_key", good.private,
                             "--signature", model / "model.sig").returncode == 0
    flip(model / "weights" / "model.safetensors")
    ours = hub("verify", model, "--key", good.public)
    assert ours.returncode == 1
    assert "differs from the signed digest: weights/model.safetensors" in ours.stderr
    theirs = model_signing("verify", "key", model, "--signature", model / "model.sig", "--public_key", good.public)
    assert theirs.returncode != 0 and "weights/model.safetensors" in theirs.stdout + theirs.stderr


def test_an_extra_file_and_a_missing_file_are_named(model, signing_keys):
    good, _ = signing_keys
    assert hub("sign", model, "--key", good.private).returncode == 0
    (model / "weights" / "extra.bin").write_bytes(b"not signed")
    extra = hub("verify", model, "--key", good.public)
    assert extra.returncode == 1 and "not in the signature: weights/extra.bin" in extra.stderr
    (model / "weights" / "extra.bin").unlink()
    (model / "config.json").unlink()
    missing = hub("verify", model, "--key", good.public)
    assert missing.returncode == 1 and "signed but missing: config.json" in missing.stderr
    theirs = model_signing("verify", "key", model, "--signature", model / "model.sig", "--public_key", good.public)
    assert theirs.returncode != 0


def test_the_certificate_method_both_ways(model, tmp_path):
    ca, leaf_key, leaf_cert = certificates(tmp_path / "pki")
    assert hub("sign", model, "--key", leaf_key, "--certificate", leaf_cert, "--certificate-chain", ca).returncode == 0
    theirs = model_signing("verify", "certificate", model, "--signature", model / "model.sig",
                           "--certificate_chain", ca)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert hub("verify", model, "--certificate-chain", ca).returncode == 0
    other_ca, _, _ = certificates(tmp_path / "other-pki")
    refused = hub("verify", model, "--certificate-chain", other_ca)
    assert refused.returncode == 1 and "was not made with a certificate under" in refused.stderr


def test_signed_digests_verify_as_the_folder_they_describe(model, signing_keys, tmp_path):
    """What ``hub publish`` signs without reading the files again is what ``model_signing`` checks on disk."""
    good, _ = signing_keys
    files = {p.relative_to(model).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in model.rglob("*") if p.is_file() and p.name != ".gitattributes"}
    (model / "model.sig").write_bytes(sign_digests("model", files, SigningKey(private_key=good.private)))
    ok = model_signing("verify", "key", model, "--signature", model / "model.sig", "--public_key", good.public)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    signed = read_signed(model / "model.sig", TrustAnchor(key=good.public))
    assert dict(signed.digests) == files and signed.per_file_sha256


def test_compare_takes_a_partial_pull_but_not_an_unsigned_file():
    from hub_client.provenance import SignedFiles

    signed = SignedFiles({"a": "1" * 64, "b": "2" * 64})
    assert compare(signed, {"a": "1" * 64}, model="m", signer="k", partial=True).not_present == ("b",)
    with pytest.raises(SignatureError, match="signed but missing: b"):
        compare(signed, {"a": "1" * 64}, model="m", signer="k")
    with pytest.raises(SignatureError, match="not in the signature: c") as e:
        compare(signed, {"a": "1" * 64, "c": "3" * 64}, model="m", signer="k", partial=True)
    assert e.value.files == ("c",)


def test_bad_input_is_a_clear_error(model, signing_keys, tmp_path):
    good, _ = signing_keys
    with pytest.raises(UsageError, match="exactly one way"):
        TrustAnchor(key=good.public, identity="me@example.com", issuer="https://issuer")
    with pytest.raises(UsageError, match="needs the OIDC issuer"):
        TrustAnchor(identity="me@example.com")
    with pytest.raises(UsageError, match="has no model.sig"):
        verify_folder(model, TrustAnchor(key=good.public))
    (model / "model.sig").write_text("not a bundle")
    with pytest.raises(SignatureError, match="is not a model signature"):
        verify_folder(model, TrustAnchor(key=good.public))
    missing = hub("sign", model, "--key", tmp_path / "nowhere.pem")
    assert missing.returncode == 2 and "is not a file" in missing.stderr
