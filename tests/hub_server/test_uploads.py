"""Team repos uploaded to hub serve with huggingface_hub's own upload API: hub publish of a converted repo, then
hub pull and load through the mirror with the same logits; publishing again uploads nothing; write tokens,
signed upload URLs, announced sizes and digests, parent commits and upstream names are all enforced."""

from __future__ import annotations

import base64
import hashlib
import json

import numpy as np
import pytest
import requests

ms = pytest.importorskip("mindspore")
torch = pytest.importorskip("torch")
pytest.importorskip("starlette")
pytest.importorskip("mindcv.models.convnext")

from helpers import unique  # noqa: E402
from helpers.weights import make_ckpt  # noqa: E402
from servers.asgi import free_port, hub_serve  # noqa: E402

from hub_client.convert import open_source, to_hf  # noqa: E402
from hub_client.publish import CardOptions, inspect  # noqa: E402
from hub_client.publish.hf_repo import publish_hf  # noqa: E402
from registry.errors import PublishError  # noqa: E402

WRITE, READ = "team-write-token", "team-read-token"


@pytest.fixture
def mirror(tmp_path, hf_server, net):
    port = free_port()
    env = {"HUB_SERVE_WRITE_TOKENS": WRITE, "HUB_SERVE_TOKENS": READ, "HUB_ALLOWED_HOSTS": "127.0.0.1"}
    proc = hub_serve(port, str(tmp_path / "storage"), env, "--upstream-hf", hf_server.url)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


def converted(tmp_path, seed=4):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", seed=seed)
    to_hf(open_source(tmp_path / "w.ckpt"), tmp_path / "repo", name="team/atto")
    return inspect(tmp_path / "repo")


def test_publish_to_the_mirror_then_pull_and_load_with_the_same_logits(tmp_path, mirror, settings):
    from mindcv.models.convnext import convnextv2_atto

    import hub_client

    pkg = converted(tmp_path)
    repo = f"team/{unique('convnextv2-atto').replace('_', '-')}"
    done = publish_hf(pkg, repo, CardOptions(), endpoint=mirror, token=WRITE)
    weights = (tmp_path / "repo" / "model.safetensors").read_bytes()
    assert done.sha256 == hashlib.sha256(weights).hexdigest() and done.uploaded > len(weights)
    again = publish_hf(pkg, repo, CardOptions(), endpoint=mirror, token=WRITE)
    assert (again.uploaded, again.wrote) == (0, [])  # huggingface_hub found every file there: no commit made

    reader = settings.but(hf_endpoint=mirror, hf_token=READ)
    paths = hub_client.pull(f"hf:{repo}", settings=reader)
    assert {p.name: p.read_bytes() for p in paths}["model.safetensors"] == weights
    net = hub_client.load_model(f"hf:{repo}", backend="torch", precision="fp32", settings=reader)
    ref = convnextv2_atto(pretrained=False)
    ms.load_param_into_net(ref, ms.load_checkpoint(str(tmp_path / "w.ckpt")), strict_load=True)
    ref.set_train(False)
    x = np.random.default_rng(3).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        got = net(torch.from_numpy(x)).logits.numpy()
    assert np.abs(got - ref(ms.Tensor(x)).asnumpy()).max() <= 1e-4


def test_tokens_decide_who_writes(tmp_path, mirror):
    pkg = converted(tmp_path)
    with pytest.raises(PublishError, match="HTTP 403"):
        publish_hf(pkg, "team/by-a-reader", CardOptions(), endpoint=mirror, token=READ)
    with pytest.raises(PublishError, match="HTTP 401"):
        publish_hf(pkg, "team/by-anyone", CardOptions(), endpoint=mirror, token=False)  # type: ignore[arg-type]
    answer = requests.get(f"{mirror}/api/models/team/by-a-reader", headers={"Authorization": f"Bearer {READ}"},
                          timeout=10)
    assert answer.status_code == 404  # the refused create made nothing


def test_an_upstream_name_cannot_be_taken(tmp_path, mirror, hf_server):
    hf_server.add("upstream-org/model", {"config.json": b"{}"})
    with pytest.raises(PublishError, match="mirrors an upstream repo"):
        publish_hf(converted(tmp_path), "upstream-org/model", CardOptions(), endpoint=mirror, token=WRITE)


def _post(url, body, **kw):
    return requests.post(url, headers={"Authorization": f"Bearer {WRITE}"}, timeout=30, **kw, json=body)


def test_signed_urls_sizes_digests_and_parents_are_enforced(mirror):
    repo = f"team/{unique('raw').replace('_', '-')}"
    org, name = repo.split("/")
    assert _post(f"{mirror}/api/repos/create", {"name": name, "organization": org}).status_code == 200
    data = b"\x00weights" * 1000
    oid = hashlib.sha256(data).hexdigest()
    batch = _post(f"{mirror}/{repo}.git/info/lfs/objects/batch",
                  {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}], "hash_algo": "sha256"}).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]
    assert requests.put(href.replace("sig=", "sig=0"), data=data, timeout=10).status_code == 403
    assert requests.put(href, data=data + b"more", timeout=10).status_code == 413
    assert requests.put(href, data=data[::-1], timeout=10).status_code == 400  # same size, other bytes
    header = {"key": "header", "value": {"summary": "add weights"}}
    lfs = {"key": "lfsFile", "value": {"path": "w.ckpt", "algo": "sha256", "oid": oid, "size": len(data)}}
    ndjson = "\n".join(json.dumps(x) for x in (header, lfs))
    commit_url = f"{mirror}/api/models/{repo}/commit/main"
    auth = {"Authorization": f"Bearer {WRITE}", "Content-Type": "application/x-ndjson"}
    assert requests.post(commit_url, data=ndjson, headers=auth, timeout=10).status_code == 422  # never uploaded
    assert requests.put(href, data=data, timeout=10).status_code == 200
    again = _post(f"{mirror}/{repo}.git/info/lfs/objects/batch",
                  {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}).json()
    assert "actions" not in again["objects"][0]  # stored: nothing to upload
    first = requests.post(commit_url, data=ndjson, headers=auth, timeout=10)
    assert first.status_code == 200
    head = first.json()["commitOid"]
    readme = {"key": "file", "value": {"path": "README.md", "content": base64.b64encode(b"# hi\n").decode(),
                                       "encoding": "base64"}}
    stale = {"key": "header", "value": {"summary": "late", "parentCommit": "0" * 40}}
    late = requests.post(commit_url, data="\n".join(json.dumps(x) for x in (stale, readme)), headers=auth, timeout=10)
    assert late.status_code == 412
    got = requests.get(f"{mirror}/{repo}/resolve/main/w.ckpt", headers={"Authorization": f"Bearer {READ}"},
                       timeout=10)
    assert got.content == data and got.headers["X-Repo-Commit"] == head
    traversal = {"key": "file", "value": {"path": "../escape", "content": "", "encoding": "base64"}}
    bad = requests.post(commit_url, data="\n".join(json.dumps(x) for x in (header, traversal)), headers=auth,
                        timeout=10)
    assert bad.status_code == 400


def test_a_folder_without_readme_gets_one_with_model_index_and_a_dead_endpoint_is_a_publish_error(
        tmp_path, mirror):
    from registry.card.analyze import analyze_file

    converted(tmp_path)
    (tmp_path / "repo" / "README.md").unlink()
    pkg = inspect(tmp_path / "repo")
    repo = f"team/{unique('noreadme').replace('_', '-')}"
    publish_hf(pkg, repo, CardOptions(dataset="imagenet-1k", evaluation="top1acc81.28"),
               endpoint=mirror, token=WRITE)
    got = requests.get(f"{mirror}/{repo}/resolve/main/README.md", headers={"Authorization": f"Bearer {READ}"},
                       timeout=10)
    (tmp_path / "README.md").write_bytes(got.content)
    result = analyze_file(tmp_path / "README.md")
    assert result.diagnostics == [] and result.record.top1() == (81.28, "accuracy")
    with pytest.raises(PublishError, match="publishing again"):
        publish_hf(pkg, "team/nowhere", CardOptions(), endpoint=f"http://127.0.0.1:{free_port()}", token=WRITE)


def test_a_signed_repo_through_the_mirror_under_a_trust_policy(tmp_path, mirror, settings):
    pytest.importorskip("model_signing")
    import shutil

    from helpers.signing import keypair

    import hub_client
    from hub_client.provenance import SigningKey
    from registry.errors import SignatureError

    keys = keypair(tmp_path / "keys", "team")
    pkg = converted(tmp_path)
    signed = f"team/{unique('signed').replace('_', '-')}"
    bare = f"team/{unique('bare').replace('_', '-')}"
    done = publish_hf(pkg, signed, CardOptions(), endpoint=mirror, token=WRITE, signer=SigningKey(keys.private))
    assert "model.sig" in done.wrote
    publish_hf(pkg, bare, CardOptions(), endpoint=mirror, token=WRITE)
    shutil.copy(keys.public, tmp_path / "team.pub")
    (tmp_path / "trust.yaml").write_text('rules:\n  - models: ["hf:team/*"]\n    keys: [team.pub]\n')
    reader = settings.but(hf_endpoint=mirror, hf_token=READ, trust_file=tmp_path / "trust.yaml")
    paths = hub_client.pull(f"hf:{signed}", settings=reader)
    assert {p.name for p in paths} >= {"model.sig", "model.safetensors", "config.json", "README.md"}
    net = hub_client.load_model(f"hf:{signed}", backend="torch", precision="fp32", settings=reader)
    assert net is not None
    with pytest.raises(SignatureError, match="the repo has no model.sig") as e:
        hub_client.pull(f"hf:{bare}", settings=reader)
    assert e.value.rule is not None and "hf:team/*" in e.value.rule
