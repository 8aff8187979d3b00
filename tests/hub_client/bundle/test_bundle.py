"""Air-gap bundles: a MindSpore Hub model and a Hugging Face repo exported from one home, imported into an empty
one (and into a mirror's folder) with no network, then predicted offline; a flipped byte, a truncated tar, a
member with ``..``, a manifest that lies, and a signature a trust rule misses are each refused, nothing changed."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
from helpers import index, payload, publish, unique
from helpers.signing import hub, keypair

from hub_client import pull
from hub_client.bundle import export_bundle, import_bundle
from registry.errors import ArchiveError


def repo_files():
    return {"config.json": json.dumps({"model_type": "convnext"}).encode(),
            "model.safetensors": payload(120_000, seed=61),
            "README.md": b"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# bundled\n"}


@pytest.fixture
def source(hf_env, hf_settings, nginx, cards):
    """A home that pulled a MindSpore Hub card's asset (nginx) and an HF repo (the HF test server)."""
    name = unique("bundled_ms")
    pub = publish(nginx.root, cards, name, payload(90_000, seed=60), base=nginx.url, prefix=True)
    index(cards, hf_settings)
    repo_id = f"acme/{unique('bundled')}".replace("_", "-")
    hf_env.add(repo_id, repo_files())
    return hf_settings, name, pub, repo_id


def fresh(settings, tmp_path, label="other"):
    """Another machine: a home, registry and HF cache of its own, and no network."""
    return settings.but(home=tmp_path / label / "home", registry_file=None, hf_cache=tmp_path / label / "hf",
                        offline=True)


def tree(*roots):
    """Every file under ``roots`` with its bytes: what 'nothing changed' compares."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")) if root.exists() else []:
            if p.is_file() and not p.is_symlink():
                out[str(p)] = p.read_bytes()
            elif p.is_symlink():
                out[str(p)] = os.readlink(p).encode()
    return out


def test_round_trip_into_an_empty_home_offline_and_again(source, tmp_path):
    settings, name, pub, repo_id = source
    out = tmp_path / "models.tar"
    done = export_bundle([name, f"hf:{repo_id}"], out, settings=settings)
    assert [m.uid.split("/")[-1] for m in done.manifest.models][1] == repo_id.split("/")[-1]
    other = fresh(settings, tmp_path)
    placed = import_bundle(out, settings=other)
    assert [c.entry.dialect for c in placed] == ["mindspore-hub", "huggingface"]
    assert [p.read_bytes() for p in pull(name, settings=other)] == [pub.data]
    got = {p.name: p.read_bytes() for p in pull(f"hf:{repo_id}", settings=other)}
    assert got == repo_files()
    before = tree(other.home, other.hf_cache)
    import_bundle(out, settings=other)  # idempotent: the same files, links and cards
    after = tree(other.home, other.hf_cache)
    assert {k: v for k, v in after.items() if "registry.db" not in k} == {
        k: v for k, v in before.items() if "registry.db" not in k}


def rewrite(src, dst, change):
    """A copy of the tar ``src`` with ``change(name, data) -> [(name, data), ...]`` applied to each member."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for m in tin.getmembers():
            for name, data in change(m.name, tin.extractfile(m).read()):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tout.addfile(info, io.BytesIO(data))


def flip(name, data):
    if name.startswith("blobs/") and len(data) > 1000:
        data = data[:500] + bytes([data[500] ^ 1]) + data[501:]
    return [(name, data)]


def dotdot(name, data):
    return [(name, data)] + ([("../escaped.txt", b"x")] if name == "manifest.json" else [])


def lying(name, data):
    """The manifest gives the card's asset the digest (and size) of another file of the bundle."""
    if name == "manifest.json":
        doc = json.loads(data)
        other = doc["models"][1]["files"][-1]
        doc["models"][0]["files"][0].update(sha256=other["sha256"], size=other["size"])
        data = json.dumps(doc).encode()
    return [(name, data)]


def renamed(name, data):
    """The manifest calls the MindSpore Hub model by another name than its card."""
    if name == "manifest.json":
        doc = json.loads(data)
        doc["models"][0]["name"] = "convnext_tiny"
        data = json.dumps(doc).encode()
    return [(name, data)]


def oversize(name, data):
    if name == "manifest.json":
        doc = json.loads(data)
        doc["models"][1]["files"][0]["size"] += 1
        data = json.dumps(doc).encode()
    return [(name, data)]


@pytest.mark.parametrize("tamper, says", [
    (flip, "holds other bytes"), (dotdot, "'../escaped.txt', which is not a card or a blob"),
    (lying, "is in no model of its manifest"),
    (renamed, "the manifest says convnext_tiny"), (oversize, "the manifest says"),
    ("truncated", "cannot be read whole"),
])
def test_a_tampered_bundle_is_refused_and_nothing_changes(source, tmp_path, tamper, says):
    settings, name, _, repo_id = source
    good = tmp_path / "good.tar"
    export_bundle([name, f"hf:{repo_id}"], good, settings=settings)
    bad = tmp_path / "bad.tar"
    if tamper == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        rewrite(good, bad, tamper)
    other = fresh(settings, tmp_path)
    import_bundle(good, settings=other)  # a home with models in it already: they must stay as they are
    before = tree(other.home, other.hf_cache)
    with pytest.raises(ArchiveError) as e:
        import_bundle(bad, settings=other)
    assert says in str(e.value) and "nothing was changed" in str(e.value)
    assert tree(other.home, other.hf_cache) == before
    assert not (tmp_path / "escaped.txt").exists()


def test_a_trust_rule_holds_on_import(hf_env, hf_settings, tmp_path):
    keys = keypair(tmp_path / "keys", "acme")
    folder = tmp_path / "to-sign"
    folder.mkdir()
    for n, data in repo_files().items():
        (folder / n).write_bytes(data)
    assert hub("sign", folder, "--key", keys.private).returncode == 0
    signed_repo, bare_repo = (f"acme/{unique(n)}".replace("_", "-") for n in ("signed", "bare"))
    hf_env.add(signed_repo, {**repo_files(), "model.sig": (folder / "model.sig").read_bytes()})
    hf_env.add(bare_repo, repo_files())
    export_bundle([f"hf:{signed_repo}"], tmp_path / "signed.tar", settings=hf_settings)
    export_bundle([f"hf:{bare_repo}"], tmp_path / "bare.tar", settings=hf_settings)
    shutil.copy(keys.public, tmp_path / "acme.pub")
    (tmp_path / "trust.yaml").write_text('rules:\n  - models: ["hf:acme/*"]\n    keys: [acme.pub]\n')
    other = fresh(hf_settings, tmp_path).but(trust_file=tmp_path / "trust.yaml")
    import_bundle(tmp_path / "signed.tar", settings=other)
    assert {p.name for p in pull(f"hf:{signed_repo}", settings=other)} >= {"model.sig", "model.safetensors"}
    before = tree(other.home, other.hf_cache)
    with pytest.raises(ArchiveError, match="the bundle holds no model.sig"):
        import_bundle(tmp_path / "bare.tar", settings=other)
    assert tree(other.home, other.hf_cache) == before


def test_into_a_mirror_folder_served_offline(source, tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import requests
    from huggingface_hub import hf_hub_download
    from servers.asgi import AsgiServer

    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.assets import AssetStore
    from hub_server.bundles import import_into

    settings, name, pub, repo_id = source
    out = tmp_path / "models.tar"
    export_bundle([name, f"hf:{repo_id}"], out, settings=settings)
    root = tmp_path / "mirror"
    import_into(out, str(root), settings=fresh(settings, tmp_path))
    served = settings.but(home=root, registry_file=root / "registry.db", offline=True)
    mirror = Mirror(LocalStorage(root / "hf"), offline=True)
    server = AsgiServer(create_app(mirror, assets=AssetStore(root, settings=served))).start()
    try:
        got = hf_hub_download(repo_id, "model.safetensors", endpoint=server.url, cache_dir=tmp_path / "c", token=False)
        assert open(got, "rb").read() == repo_files()["model.safetensors"]
        asset = requests.get(f"{server.url}{pub.uri}", timeout=10)
        assert asset.status_code == 200 and asset.content == pub.data
    finally:
        server.stop()


@pytest.mark.slow
def test_offline_predict_on_the_other_side(nginx, cards, settings, tmp_path):
    pytest.importorskip("mindspore")
    from helpers.weights import serve

    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto", seed=3)
    out = tmp_path / "atto.tar"
    export_bundle([name], out, settings=settings)
    other = fresh(settings, tmp_path)
    made = hub("bundle", "import", out, env={"HUB_HOME": str(other.home), "HUB_REGISTRY": str(other.registry)})
    assert made.returncode == 0, made.stderr
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "red.png")
    run = subprocess.run([sys.executable, "-m", "hub_client.cli", "predict", name, str(tmp_path / "red.png"),
                          "--json", "--backend", "mindspore"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HUB_HOME": str(other.home), "HUB_REGISTRY": str(other.registry),
                              "HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)["results"][0]["predictions"]) == 5


def test_into_a_bucket_mirror_served_offline(source, tmp_path, moto_s3):
    pytest.importorskip("starlette")
    import requests
    from huggingface_hub import hf_hub_download
    from servers.asgi import AsgiServer

    from hub_server import Mirror, S3Storage, create_app
    from hub_server.assets import AssetStore
    from hub_server.bundles import import_into
    from hub_server.s3 import BucketAssets

    settings, name, pub, repo_id = source
    out = tmp_path / "models.tar"
    export_bundle([name, f"hf:{repo_id}"], out, settings=settings)
    bucket = unique("bundles").replace("_", "-").lower()
    moto_s3.client().create_bucket(Bucket=bucket)
    import_into(out, f"s3://{bucket}/team", settings=fresh(settings, tmp_path), s3=moto_s3.client())
    storage = S3Storage(f"s3://{bucket}/team", tmp_path / "scratch", s3=moto_s3.client())
    offline = fresh(settings, tmp_path, "replica")  # a replica that knows no card: the bucket says it all
    assets = BucketAssets(storage, AssetStore(tmp_path / "scratch" / "assets", settings=offline))
    server = AsgiServer(create_app(Mirror(storage, offline=True), assets=assets)).start()
    try:
        for file, data in repo_files().items():
            got = hf_hub_download(repo_id, file, endpoint=server.url, cache_dir=tmp_path / "c", token=False)
            assert open(got, "rb").read() == data
        asset = requests.get(f"{server.url}{pub.uri}", timeout=10)
        assert asset.status_code == 200 and asset.content == pub.data
    finally:
        server.stop()
