"""hub publish --sign-key: a MindCV checkpoint's signature beside it (named by its card) and an HF repo's model.sig,
signed from the digests of the upload; a fresh machine with a trust policy pulls and loads them, and
``model_signing`` accepts the files with their signature."""

from __future__ import annotations

import shutil

import pytest

ms = pytest.importorskip("mindspore")
pytest.importorskip("model_signing")

from helpers import index, unique  # noqa: E402
from helpers.signing import keypair, model_signing  # noqa: E402
from helpers.weights import make_ckpt  # noqa: E402

from hub_client import pull  # noqa: E402
from hub_client.provenance import SigningKey  # noqa: E402
from hub_client.publish import CardOptions, DirTarget, inspect, publish_ckpt  # noqa: E402
from registry.errors import SignatureError  # noqa: E402

OPTS = CardOptions(author="hub tests", evaluation="top1acc81.28 | top5acc95.61", mindspore_version="2.5")


def trust(tmp_path, pattern, public):
    folder = tmp_path / unique("trust")
    folder.mkdir()
    shutil.copy(public, folder / "k.pub")
    (folder / "trust.yaml").write_text(f'rules:\n  - models: ["{pattern}"]\n    keys: [k.pub]\n')
    return folder / "trust.yaml"


def test_a_signed_checkpoint_is_pulled_under_a_trust_policy(tmp_path, nginx, settings, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(nginx.cert))  # requests' own variable: nginx's TLS trusted
    keys = keypair(tmp_path / "keys", "team")
    stranger = keypair(tmp_path / "keys", "stranger")
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    site = nginx.root / unique("site")
    name = unique("atto_signed")
    done = publish_ckpt(inspect(tmp_path / "w.ckpt"), name, DirTarget(site, f"{nginx.tls_url}/{site.name}"), OPTS,
                        SigningKey(private_key=keys.private))
    sig_rel = next(w for w in done.wrote if w.endswith(".sig"))
    card = (site / "cards" / f"{name}.md").read_text()
    assert f"signature-link: {nginx.tls_url}/{site.name}/{sig_rel}" in card
    # the asset and its signature, as a folder: what model_signing checks
    folder = tmp_path / "as-published"
    folder.mkdir()
    shutil.copy(site / sig_rel.removesuffix(".sig"), folder)
    shutil.copy(site / sig_rel, folder / "model.sig")
    ok = model_signing("verify", "key", folder, "--signature", folder / "model.sig", "--public_key", keys.public)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    index(site / "cards", settings)
    paths = pull(name, settings=settings.but(trust_file=trust(tmp_path, name, keys.public)))
    assert paths[0].read_bytes() == (tmp_path / "w.ckpt").read_bytes()
    fresh = settings.but(home=tmp_path / "fresh", registry_file=None)
    index(site / "cards", fresh)
    with pytest.raises(SignatureError, match="was not made with the key"):
        pull(name, settings=fresh.but(trust_file=trust(tmp_path, name, stranger.public)))
