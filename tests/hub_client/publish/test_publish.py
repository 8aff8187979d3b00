"""hub publish of a MindCV checkpoint to a folder served over https and to S3 (moto behind nginx's TLS): the card
passes lint --strict, a fresh home pulls exactly those bytes and loads them with the same logits, publishing
again uploads nothing, and an upload that fails half-way publishes nothing until a retry completes it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
pytest.importorskip("boto3")
pytest.importorskip("moto")

from helpers import unique  # noqa: E402
from helpers.tools import closed_port, need  # noqa: E402
from helpers.weights import make_ckpt  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from hub_client.publish import CardOptions, DirTarget, S3Target, inspect, publish_ckpt  # noqa: E402
from registry.card.analyze import analyze_file  # noqa: E402
from registry.errors import ConversionError, InvalidCardError, PublishError, UsageError  # noqa: E402
from registry.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def front(tmp_path_factory, moto_s3):
    """nginx over TLS: a folder at / and the S3 server at /s3/, as a team serves both behind https."""
    need("nginx")
    base = tmp_path_factory.mktemp("front")
    server = Nginx(base / "root", base / "work", proxies={"/s3/": moto_s3.url}).start()
    yield server
    server.stop()


@pytest.fixture
def trusting(front, monkeypatch):
    """The front, its certificate trusted (``REQUESTS_CA_BUNDLE`` is requests' own variable, read by it)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(front.cert))
    return front


def fresh_machine(settings: Settings, tmp_path: Path) -> Settings:
    """Another machine's settings: a home and registry of its own, nothing pulled or indexed yet."""
    return settings.but(home=tmp_path / unique("fresh"), registry_file=None, retries=1)


def s3_target(moto_s3, front, monkeypatch) -> S3Target:
    for k, v in moto_s3.env.items():
        monkeypatch.setenv(k, v)
    bucket = unique("pub").replace("_", "-").lower()
    s3 = moto_s3.client()
    s3.create_bucket(Bucket=bucket)
    policy = {"Version": "2012-10-17", "Statement": [{  # anyone reads what the team publishes, as behind a CDN
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/team/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return S3Target(f"s3://{bucket}/team", f"{front.tls_url}/s3/{bucket}/team")


OPTS = CardOptions(author="hub tests", evaluation="top1acc81.28 | top5acc95.61", mindspore_version="2.5")


@pytest.mark.parametrize("kind", ["dir", "s3"])
def test_publish_then_a_fresh_machine_pulls_the_same_bytes_and_logits(tmp_path, trusting, moto_s3, monkeypatch,
                                                                      kind, settings):
    from hub_client import load_model, pull
    from hub_client.fetch.catalog import update

    front = trusting
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", seed=11)
    data = (tmp_path / "w.ckpt").read_bytes()
    name = unique("convnextv2_atto_team")
    if kind == "dir":
        sub = unique("team")
        target = DirTarget(front.root / sub, f"{front.tls_url}/{sub}")
    else:
        target = s3_target(moto_s3, front, monkeypatch)
    done = publish_ckpt(inspect(tmp_path / "w.ckpt"), name, target, OPTS)
    assert done.sha256 == hashlib.sha256(data).hexdigest() and done.uploaded == len(data)
    assert done.link.startswith("https://") and done.link.endswith(f"{name}-{done.sha256[:8]}.ckpt")
    card = target.read(f"cards/{name}.md")
    assert card is not None and f"asset-sha256: {done.sha256}" in card.decode()
    (tmp_path / "card.md").write_bytes(card)
    assert analyze_file(tmp_path / "card.md").diagnostics == []  # lint --strict: not even a note

    again = publish_ckpt(inspect(tmp_path / "w.ckpt"), name, target, OPTS)
    assert (again.uploaded, again.wrote, again.sha256) == (0, [], done.sha256)  # nothing uploaded, nothing written

    fresh = fresh_machine(settings, tmp_path)
    update(target.url("catalog.tar.gz"), settings=fresh)
    (path,) = pull(name, settings=fresh)
    assert path.read_bytes() == data
    net = load_model(name, backend="mindspore", settings=fresh)
    from mindcv.models.convnext import convnextv2_atto

    ref = convnextv2_atto(pretrained=False)
    ms.load_param_into_net(ref, ms.load_checkpoint(str(tmp_path / "w.ckpt")), strict_load=True)
    ref.set_train(False)
    x = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    assert np.abs(net(ms.Tensor(x)).asnumpy() - ref(ms.Tensor(x)).asnumpy()).max() <= 1e-4


def test_an_upload_that_fails_half_way_publishes_nothing_and_a_retry_completes_it(tmp_path, trusting, moto_s3,
                                                                                   monkeypatch):
    import hub_client.publish.targets as targets

    monkeypatch.setattr(targets, "CHUNK", 5 << 20)  # S3's smallest part: a 14 MB file is three parts
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_femto", seed=2)
    target = s3_target(moto_s3, trusting, monkeypatch)
    name = unique("convnextv2_femto_team")
    real = target.s3.upload_part
    calls = []

    def flaky(**kw):
        calls.append(kw["PartNumber"])
        if kw["PartNumber"] == 2:
            raise ConnectionError("connection reset by peer")
        return real(**kw)

    monkeypatch.setattr(target.s3, "upload_part", flaky)
    with pytest.raises(PublishError, match="connection reset"):
        publish_ckpt(inspect(tmp_path / "w.ckpt"), name, target, OPTS)
    objects = target.s3.list_objects_v2(Bucket=target.bucket).get("Contents", [])
    assert objects == []  # no asset, no card, no catalogue, no staging object
    assert target.s3.list_multipart_uploads(Bucket=target.bucket).get("Uploads", []) == []  # aborted
    monkeypatch.setattr(target.s3, "upload_part", real)
    done = publish_ckpt(inspect(tmp_path / "w.ckpt"), name, target, OPTS)
    keys = sorted(o["Key"] for o in target.s3.list_objects_v2(Bucket=target.bucket)["Contents"])
    asset = f"team/{name}/{name}-{done.sha256[:8]}.ckpt"
    assert keys == sorted(["team/catalog.tar.gz", f"team/cards/{name}.md", asset])


def test_a_folder_copy_that_fails_leaves_no_partial_file(tmp_path, monkeypatch):
    import hub_client.publish.targets as targets

    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    target = DirTarget(tmp_path / "site", "https://files.example.com/models")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(targets.os, "fsync", full)
    with pytest.raises(PublishError, match="No space"):
        publish_ckpt(inspect(tmp_path / "w.ckpt"), "convnextv2_atto_x", target, OPTS)
    assert [p.name for p in (tmp_path / "site").rglob("*") if p.is_file()] == []


def test_conflicting_fields_are_refused_before_anything_is_uploaded(tmp_path, monkeypatch):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", num_classes=10)
    target = DirTarget(tmp_path / "site", "https://files.example.com/models")
    pkg = inspect(tmp_path / "w.ckpt")
    with pytest.raises(UsageError, match="says convnext_tiny, but w.ckpt holds convnextv2_atto"):
        publish_ckpt(pkg, "convnext_tiny_digits", target, OPTS)
    with pytest.raises(UsageError, match="10-class head"):
        publish_ckpt(pkg, "atto_digits", target, OPTS)
    with pytest.raises(UsageError, match="ImageNet-1k"):
        publish_ckpt(pkg, "atto_digits", target, CardOptions(dataset="ImageNet2012"))
    with pytest.raises(InvalidCardError, match="license-unknown"):
        publish_ckpt(pkg, "atto_digits", target, CardOptions(dataset="digits", license="Apache Two"))
    http = DirTarget(tmp_path / "site", "http://files.example.com/models")
    with pytest.raises(InvalidCardError, match="insecure-link"):
        publish_ckpt(pkg, "atto_digits", http, CardOptions(dataset="digits"))
    assert not (tmp_path / "site").exists()  # every refusal came before the first byte moved
    ms.save_checkpoint([{"name": "conv.weight", "data": ms.Tensor(np.zeros((2, 3), np.float32))}],
                       str(tmp_path / "other.ckpt"))
    with pytest.raises(ConversionError, match="not a ConvNeXt"):
        inspect(tmp_path / "other.ckpt")


def test_cli_publish_to_a_folder_prints_json(tmp_path):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    hub = Path(sys.executable).with_name("hub")
    cmd = [str(hub), "publish", str(tmp_path / "w.ckpt"), "--name", "convnextv2_atto_cli", "--to",
           str(tmp_path / "site"), "--author", "me", "--json"]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--base-url" in refused.stderr
    run = subprocess.run(cmd + ["--base-url", "https://files.example.com/models"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["architecture"] == "convnextv2_atto" and report["uploaded_bytes"] > 0
    assert (tmp_path / "site" / "cards" / "convnextv2_atto_cli.md").is_file()
    # a web server running as another user serves what was published: the umask's modes (022 here), not 0600
    modes = {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in (tmp_path / "site").rglob("*")}
    assert modes and all(m == (oct(0o755) if (tmp_path / p).is_dir() else oct(0o644)) for p, m in modes.items()), modes


def test_cli_publish_to_s3_without_credentials_says_so_in_one_line(tmp_path):
    pytest.importorskip("boto3")
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    hub = Path(sys.executable).with_name("hub")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}",
               AWS_DEFAULT_REGION="us-east-1")
    run = subprocess.run([str(hub), "publish", str(tmp_path / "w.ckpt"), "--name", "nocreds", "--to",
                          "s3://models/site", "--author", "me", "--base-url", "https://files.example.com/m"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "AWS_ACCESS_KEY_ID" in run.stderr, run.stderr
