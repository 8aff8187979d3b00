"""hub serve --policy through unmodified huggingface_hub: denied and unlicensed repos, pickle weights, missing or
wrong signatures are each a 403 naming the rule; what passes is served as before; refusals are counted on
/metrics; a MindSpore Hub asset is held to the same rules; the web page says why a model is blocked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import index, payload, publish, unique
from helpers.signing import hub
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")
need_module("model_signing")

import requests  # noqa: E402
from servers.asgi import AsgiServer  # noqa: E402

README = "---\nlicense: {lic}\nlibrary_name: transformers\n---\n# a model\n"



@pytest.fixture
def policy_file(tmp_path, signing_keys):
    folder = tmp_path / "policy"
    folder.mkdir()
    shutil.copy(signing_keys[0].public, folder / "acme.pub")
    path = folder / "mirror-policy.yaml"
    path.write_text("deny: ['hf:evil/*', 'denied_ms_*']\n"
                    "licenses: [apache-2.0, mit]\n"
                    "formats:\n  allow-for: ['hf:legacy/*']\n"
                    "signatures:\n  - models: ['hf:acme/*']\n    keys: [acme.pub]\n")
    return path


@pytest.fixture
def mirror(tmp_path, hf_server, net, policy_file, nginx):
    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.assets import AssetStore
    from hub_server.rules import load_rules

    rules = load_rules(policy_file)
    cards = tmp_path / "cards"
    indexer = net.but(home=tmp_path / "home", registry_file=tmp_path / "registry.db")
    m = Mirror(LocalStorage(tmp_path / "storage" / "hf"), upstream=hf_server.url, settings=net, rules=rules)
    assets = AssetStore(tmp_path / "storage", pull_through=True, settings=indexer, rules=rules)
    server = AsgiServer(create_app(m, assets=assets)).start()
    server.cards, server.indexer = cards, indexer
    yield server
    server.stop()


def add(hf_server, repo_id, lic="apache-2.0", **files):
    hf_server.add(repo_id, {"README.md": README.format(lic=lic).encode(), "config.json": b"{}",
                            "model.safetensors": payload(50_000, seed=5), **files})


def signed(tmp_path, files, key):
    folder = tmp_path / unique("signed")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert hub("sign", folder, "--key", key).returncode == 0
    return {**files, "model.sig": (folder / "model.sig").read_bytes()}


def refused(url, repo_id, name, cache):
    """The 403 behind huggingface_hub's error (a refused HEAD comes wrapped in LocalEntryNotFoundError, its
    cause the HTTP error): its X-Error-Message, which names the rule."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(Exception) as e:  # noqa: B017 - the HTTP error may come wrapped, checked below
        hf_hub_download(repo_id, name, endpoint=url, cache_dir=cache, token=False)
    err: BaseException | None = e.value
    while err is not None and not isinstance(err, HfHubHTTPError):
        err = err.__cause__
    assert isinstance(err, HfHubHTTPError) and err.response.status_code == 403
    assert "refused by the mirror's policy" in str(err)  # what the user reads in the traceback
    return err.response.headers["X-Error-Message"]


def test_each_rule_refuses_with_its_name_and_the_rest_is_served(mirror, hf_server, tmp_path, signing_keys, net):
    from huggingface_hub import hf_hub_download, snapshot_download

    good, stranger = signing_keys
    evil, gpl, ok, legacy = (f"{org}/{unique('p')}".replace("_", "-") for org in ("evil", "other", "other", "legacy"))
    add(hf_server, evil)
    add(hf_server, gpl, lic="gpl-3.0")
    add(hf_server, ok, **{"pytorch_model.bin": payload(40_000, seed=6)})
    add(hf_server, legacy, **{"pytorch_model.bin": payload(40_000, seed=7)})
    assert "mirror-policy.yaml: deny hf:evil/*" in refused(mirror.url, evil, "config.json", tmp_path / "c")
    import hub_client
    from registry.errors import HubError

    with pytest.raises(HubError) as ours:  # hub pull through the mirror says the rule too
        hub_client.pull(f"hf:{evil}", settings=net.but(hf_endpoint=mirror.url))
    assert "mirror-policy.yaml: deny hf:evil/*" in str(ours.value), ours.value
    assert "mirror-policy.yaml: licenses" in refused(mirror.url, gpl, "config.json", tmp_path / "c")
    assert "its card says GPL-3.0" in refused(mirror.url, gpl, "config.json", tmp_path / "c")
    assert "formats.refuse .bin" in refused(mirror.url, ok, "pytorch_model.bin", tmp_path / "c")
    snap = Path(snapshot_download(ok, endpoint=mirror.url, cache_dir=tmp_path / "s", token=False))
    assert sorted(p.name for p in snap.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert Path(hf_hub_download(legacy, "pytorch_model.bin", endpoint=mirror.url, cache_dir=tmp_path / "l",
                                token=False)).read_bytes() == payload(40_000, seed=7)

    base = {"README.md": README.format(lic="mit").encode(), "config.json": b'{"a": 1}',
            "model.safetensors": payload(60_000, seed=8)}
    acme_ok, acme_none, acme_wrong, acme_changed = (f"acme/{unique(n)}".replace("_", "-")
                                                    for n in ("ok", "none", "wrong", "changed"))
    hf_server.add(acme_ok, signed(tmp_path, base, good.private))
    hf_server.add(acme_none, base)
    hf_server.add(acme_wrong, signed(tmp_path, base, stranger.private))
    hf_server.add(acme_changed, {**signed(tmp_path, base, good.private), "config.json": b'{"a": 2}'})
    snap = Path(snapshot_download(acme_ok, endpoint=mirror.url, cache_dir=tmp_path / "a", token=False))
    assert (snap / "model.safetensors").read_bytes() == base["model.safetensors"]
    assert "has no model.sig" in refused(mirror.url, acme_none, "model.safetensors", tmp_path / "c")
    assert "was not made with the key" in refused(mirror.url, acme_wrong, "model.safetensors", tmp_path / "c")
    assert "differs from the signed digest: config.json" in refused(mirror.url, acme_changed, "model.safetensors",
                                                                    tmp_path / "c")

    from prometheus_client.parser import text_string_to_metric_families

    counts = {s.labels["rule"]: s.value for f in text_string_to_metric_families(
        requests.get(f"{mirror.url}/metrics", timeout=10).text) for s in f.samples
        if s.name == "hub_policy_refusals_total"}
    assert counts["mirror-policy.yaml: deny hf:evil/*"] >= 1  # huggingface_hub may ask again after a 403
    assert counts["mirror-policy.yaml: licenses"] >= 2
    assert sum(v for k, v in counts.items() if k.startswith("mirror-policy.yaml: signatures")) >= 3


def test_a_mindspore_hub_asset_is_held_to_the_rules(mirror, nginx, tmp_path):
    ok = publish(nginx.root, mirror.cards, unique("allowed_ms"), payload(20_000, seed=9), base=nginx.url)
    denied = publish(nginx.root, mirror.cards, unique("denied_ms"), payload(20_000, seed=10), base=nginx.url)
    index(mirror.cards, settings=mirror.indexer)
    got = requests.get(f"{mirror.url}{ok.uri}", timeout=30)
    assert got.status_code == 200 and got.content == ok.data
    no = requests.get(f"{mirror.url}{denied.uri}", timeout=30)
    assert no.status_code == 403 and "deny denied_ms_*" in no.headers["X-Error-Message"]
    assert nginx.requests_for(denied.uri) == []  # refused before upstream was asked


def test_the_rules_file_is_checked_before_serving(tmp_path):
    from hub_server.rules import load_rules
    from registry.errors import UsageError

    bad = tmp_path / "p.yaml"
    bad.write_text("deny: ['x']\nlicence: [mit]\n")
    with pytest.raises(UsageError, match="licence"):
        load_rules(bad)
    bad.write_text("signatures:\n  - models: ['hf:a/*']\n    keys: [missing.pub]\n")
    with pytest.raises(UsageError, match="missing.pub, which is not a file"):
        load_rules(bad)
    out = hub("serve", "--policy", tmp_path / "nowhere.yaml", "--port", "1")
    assert out.returncode == 2 and "cannot be read" in out.stderr


def test_uploads_are_held_to_the_names_and_formats(tmp_path, hf_server, net, policy_file, monkeypatch):
    """What may enter by upload: a denied name is refused at create_repo, a pickle file at create_commit."""
    from huggingface_hub import CommitOperationAdd, HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.rules import load_rules

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # not the Hub: the LFS protocol
    m = Mirror(LocalStorage(tmp_path / "storage" / "hf"), upstream=hf_server.url, settings=net,
               rules=load_rules(policy_file))
    server = AsgiServer(create_app(m, write_tokens=["w"])).start()
    api = HfApi(endpoint=server.url, token="w")
    try:
        with pytest.raises(HfHubHTTPError) as e:
            api.create_repo(f"evil/{unique('up')}".replace("_", "-"))
        assert e.value.response.status_code == 403 and "deny hf:evil/*" in str(e.value)
        repo = f"team/{unique('up')}".replace("_", "-")
        api.create_repo(repo)
        readme = CommitOperationAdd("README.md", README.format(lic="mit").encode())
        with pytest.raises(HfHubHTTPError) as e:
            api.create_commit(repo, [readme, CommitOperationAdd("pytorch_model.bin", payload(30_000, seed=11))],
                              commit_message="pickle")
        assert e.value.response.status_code == 403 and "formats.refuse .bin" in str(e.value)
        api.create_commit(repo, [readme, CommitOperationAdd("model.safetensors", payload(30_000, seed=12))],
                          commit_message="safetensors")
        assert {"README.md", "model.safetensors"} <= set(api.list_repo_files(repo))
        assert not any(f.endswith(".bin") for f in api.list_repo_files(repo))
    finally:
        server.stop()
