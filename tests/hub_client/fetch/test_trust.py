"""A trust policy (HUB_TRUST) on every pull: a model a rule covers comes only signed by the rule's key, from the
HF-compatible server and from plain file servers (nginx); a refusal leaves nothing marked verified."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import index, payload, publish, unique
from helpers.signing import hub
from helpers.tools import need_module

from hub_client import pull
from registry.errors import SignatureError

pytestmark = pytest.mark.usefixtures("_signing")


@pytest.fixture(scope="module")
def _signing():
    need_module("model_signing")



def policy(tmp_path, pattern, key):
    """A trust policy file beside a copy of the key, named relative to it as users write them."""
    folder = tmp_path / "trust"
    folder.mkdir(exist_ok=True)
    shutil.copy(key, folder / "publisher.pub")
    path = folder / "trust.yaml"
    path.write_text(f'rules:\n  - models: ["{pattern}"]\n    keys: [publisher.pub]\n')
    return path


def signed_files(tmp_path, files, private_key):
    """``files`` plus the ``model.sig`` that ``hub sign`` writes for them."""
    folder = tmp_path / unique("sign")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    made = hub("sign", folder, "--key", private_key)
    assert made.returncode == 0, made.stderr
    return {**files, "model.sig": (folder / "model.sig").read_bytes()}


def repo_files():
    return {"config.json": json.dumps({"model_type": "convnext", "num_labels": 2}).encode(),
            "model.safetensors": payload(300_000, seed=41),
            "README.md": b"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# signed\n"}


def verified_marks(settings):
    marks = settings.home / "verified"
    return sorted(p.name for p in marks.rglob("*") if p.is_file()) if marks.is_dir() else []


def hf_blobs(settings, repo_id):
    blobs = settings.hf_cache / f"models--{repo_id.replace('/', '--')}" / "blobs"
    return sorted(p.name for p in blobs.iterdir() if not p.name.startswith(".")) if blobs.is_dir() else []


def test_a_signed_repo_is_pulled_and_verifies_from_its_pull(hf_env, hf_settings, signing_keys, tmp_path):
    good, _ = signing_keys
    repo_id = f"acme/{unique('signed')}".replace("_", "-")
    files = signed_files(tmp_path, repo_files(), good.private)
    hf_env.add(repo_id, files)
    trusted = hf_settings.but(trust_file=policy(tmp_path, "hf:acme/*", good.public))
    paths = pull(f"hf:{repo_id}", settings=trusted)
    assert sorted(p.name for p in paths) == ["README.md", "config.json", "model.safetensors", "model.sig"]
    assert all(p.read_bytes() == files[p.name] for p in paths)
    again = pull(f"hf:{repo_id}", settings=trusted.but(offline=True))  # the kept signature, checked offline
    assert sorted(p.name for p in again) == sorted(p.name for p in paths)
    from hub_client.fetch.remote import resolve
    from hub_client.fetch.signed import cached_verdict
    from hub_client.provenance import TrustAnchor

    verdict = cached_verdict(resolve(f"hf:{repo_id}", settings=trusted).record, [TrustAnchor(key=good.public)],
                             settings=trusted)
    assert verdict.checked == ("README.md", "config.json", "model.safetensors")


@pytest.mark.parametrize("case", ["unsigned", "another key", "weights changed"])
def test_a_repo_the_rule_covers_is_refused_before_anything_is_verified(hf_env, hf_settings, signing_keys, tmp_path,
                                                                       case):
    good, stranger = signing_keys
    repo_id = f"acme/{unique('refused')}".replace("_", "-")
    files = repo_files()
    if case == "another key":
        files = signed_files(tmp_path, files, stranger.private)
    elif case == "weights changed":
        files = {**signed_files(tmp_path, files, good.private), "model.safetensors": payload(300_000, seed=42)}
    hf_env.add(repo_id, files)
    trusted = hf_settings.but(trust_file=policy(tmp_path, "hf:acme/*", good.public))
    with pytest.raises(SignatureError) as e:
        pull(f"hf:{repo_id}", settings=trusted)
    assert e.value.rule and "trust.yaml#1 (hf:acme/*)" in e.value.rule
    expected = {"unsigned": "the repo has no model.sig", "another key": "was not made with the key",
                "weights changed": "differs from the signed digest: model.safetensors"}[case]
    assert expected in str(e.value)
    assert verified_marks(trusted) == []
    assert not any(len(b) == 64 for b in hf_blobs(trusted, repo_id))  # no LFS blob (the weights) was stored
    # a repo no rule covers is pulled as before
    other = f"elsewhere/{unique('free')}".replace("_", "-")
    hf_env.add(other, repo_files())
    assert len(pull(f"hf:{other}", settings=trusted)) == 3


def test_a_small_file_that_differs_from_the_signature_is_refused_when_it_arrives(hf_env, hf_settings, signing_keys,
                                                                                 tmp_path):
    good, _ = signing_keys
    repo_id = f"acme/{unique('config')}".replace("_", "-")
    files = {**signed_files(tmp_path, repo_files(), good.private), "config.json": b'{"num_labels": 1000}'}
    hf_env.add(repo_id, files)
    trusted = hf_settings.but(trust_file=policy(tmp_path, "hf:acme/*", good.public))
    with pytest.raises(SignatureError, match="differs from the signed digest: config.json"):
        pull(f"hf:{repo_id}", settings=trusted)
    snap = trusted.hf_cache / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    assert not list(snap.rglob("config.json"))


def ms_signed(nginx, cards, tmp_path, keys_pair, *, signer=None, link=True):
    """A MindSpore Hub card on nginx whose asset has a ``model.sig`` beside it (made with ``signer``)."""
    name = unique("signed_ms")
    pub = publish(nginx.root, cards, name, payload(200_000, seed=43), base=nginx.url)
    asset = nginx.root / pub.rel
    sig_folder = tmp_path / unique("ms")
    sig_folder.mkdir()
    shutil.copy(asset, sig_folder / asset.name)
    assert hub("sign", sig_folder, "--key", (signer or keys_pair).private).returncode == 0
    shutil.copy(sig_folder / "model.sig", asset.parent / "model.sig")
    if link:
        card = cards / f"{name}.md"
        card.write_text(card.read_text().replace(
            "license: Apache-2.0", f"signature-link: {nginx.url}/{pub.rel.rsplit('/', 1)[0]}/model.sig\n"
            "license: Apache-2.0"))
    return name, pub


def test_a_signed_mindspore_hub_asset_is_pulled_and_a_wrong_one_is_refused(nginx, cards, settings, signing_keys,
                                                                           tmp_path):
    good, stranger = signing_keys
    name, pub = ms_signed(nginx, cards, tmp_path, good)
    wrong, wrong_pub = ms_signed(nginx, cards, tmp_path, good, signer=stranger)
    bare, _ = ms_signed(nginx, cards, tmp_path, good, link=False)
    index(cards, settings)
    trusted = settings.but(trust_file=policy(tmp_path, "signed_ms_*", good.public))
    paths = pull(name, settings=trusted)
    assert [p.read_bytes() for p in paths] == [pub.data]
    assert (paths[0].parent / "model.sig").is_file()  # kept: the next pull checks it without the network
    assert pull(name, settings=trusted.but(offline=True)) == paths
    with pytest.raises(SignatureError, match="was not made with the key"):
        pull(wrong, settings=trusted)
    assert nginx.requests_for(wrong_pub.uri) == []  # refused before a byte of the asset was asked for
    with pytest.raises(SignatureError, match="names no signature"):
        pull(bare, settings=trusted)
    assert hub("verify", name, "--key", good.public, env={"HUB_HOME": str(settings.home),
                                                           "HUB_REGISTRY": str(settings.registry)}
               ).returncode == 0


def test_hub_info_shows_the_signature_status(nginx, cards, settings, signing_keys, tmp_path):
    good, stranger = signing_keys
    name, _ = ms_signed(nginx, cards, tmp_path, good)
    index(cards, settings)
    trust = policy(tmp_path, "signed_ms_*", good.public)
    env = {"HUB_HOME": str(settings.home), "HUB_REGISTRY": str(settings.registry), "HUB_ALLOWED_HOSTS": "127.0.0.1"}

    def status(**more):
        out = hub("info", name, "--json", env={**env, **more})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["signature"]

    assert status() == {"rule": None, "signers": None, "status": "signed",
                        "detail": "no trust rule covers it; a public key checks its signature"}
    assert status(HUB_TRUST=str(trust))["status"] == "not pulled"
    pull(name, settings=settings.but(trust_file=trust))
    found = status(HUB_TRUST=str(trust))
    assert found["status"] == "verified" and found["rule"].endswith("trust.yaml#1 (signed_ms_*)")
    shutil.copy(stranger.public, trust.parent / "publisher.pub")  # the rule now names another key
    refused = status(HUB_TRUST=str(trust))
    assert refused["status"] == "refused" and "was not made with the key" in refused["detail"]
