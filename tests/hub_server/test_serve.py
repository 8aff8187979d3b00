"""``hub serve`` as a mirror: unmodified huggingface_hub and ``hub pull hf:`` against it, Range, the Hub's error
codes, team tokens, and hostile paths that must never reach outside the storage folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import HF_CARD, ROOT, payload, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

import requests  # noqa: E402

from hub_client import pull  # noqa: E402
from registry.settings import Settings  # noqa: E402

SECRET = b"a file outside the mirror's storage, never to be served"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mirror:
    def __init__(self, root: Path, tokens: tuple[str, ...] = (), assets: Path | None = None,
                 settings: Settings | None = None) -> None:
        import uvicorn

        from hub_server import LocalStorage, Mirror, create_app
        from hub_server.assets import AssetStore

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        store = AssetStore(assets, settings=settings) if assets else None
        app = create_app(Mirror(LocalStorage(root)), tokens=tokens, assets=store)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def stored(hf_env, hf_settings, tmp_path):
    """A repo pulled from the HF-compatible test server into the mirror's storage, the way a team fills it."""
    repo_id = f"acme/{unique('mirrored')}".replace("_", "-")
    files = {"README.md": HF_CARD.format(name=repo_id).encode(),
             "config.json": json.dumps({"model_type": "convnextv2", "num_labels": 2}).encode(),
             "model.safetensors": payload(300_000, seed=70),
             "sub/notes.txt": b"a file in a folder\n"}
    hf_env.add(repo_id, files)
    storage = tmp_path / "storage" / "hf"
    pull(f"hf:{repo_id}", fmt="safetensors", settings=hf_settings.but(hf_cache=storage))
    (tmp_path / "storage" / "secret.txt").write_bytes(SECRET)
    return repo_id, files, storage, hf_env.repos[repo_id].sha


@pytest.fixture
def mirror(stored, settings):
    m = Mirror(stored[2], assets=stored[2].parent, settings=settings)
    yield m
    m.stop()


def test_unmodified_huggingface_hub_downloads_from_the_mirror(stored, mirror, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    repo_id, files, _, sha = stored
    api = HfApi(endpoint=mirror.url, token=False)
    info = api.model_info(repo_id, files_metadata=True)
    assert info.sha == sha and {s.rfilename for s in info.siblings} == set(files)
    lfs = {s.rfilename: s.lfs for s in info.siblings}
    assert lfs["model.safetensors"].sha256 == __import__("hashlib").sha256(files["model.safetensors"]).hexdigest()
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    tree = list(api.list_repo_tree(repo_id, recursive=True))
    assert {e.path for e in tree if isinstance(e, RepoFile)} == set(files)
    assert {e.path for e in tree if isinstance(e, RepoFolder)} == {"sub"}  # folders too, as the Hub lists them
    top = {e.path for e in api.list_repo_tree(repo_id)}
    assert top == {"README.md", "config.json", "model.safetensors", "sub"}
    got = hf_hub_download(repo_id, "model.safetensors", endpoint=mirror.url, cache_dir=tmp_path / "client",
                          token=False)
    assert Path(got).read_bytes() == files["model.safetensors"]
    snap = Path(snapshot_download(repo_id, endpoint=mirror.url, cache_dir=tmp_path / "client2", token=False))
    assert {p.relative_to(snap).as_posix(): p.read_bytes() for p in snap.rglob("*") if p.is_file()} == files


def test_hub_pull_hf_from_the_mirror(stored, mirror, tmp_path, settings):
    repo_id, files, _, sha = stored
    node = settings.but(hf_endpoint=mirror.url, hf_cache=tmp_path / "node" / "hub")
    got = {p.name: p.read_bytes() for p in pull(f"hf:{repo_id}", settings=node)}
    assert got == {Path(k).name: v for k, v in files.items()}


def test_ranges_and_the_hub_headers(stored, mirror):
    repo_id, files, _, sha = stored
    url = f"{mirror.url}/{repo_id}/resolve/main/model.safetensors"
    head = requests.head(url, timeout=10)
    digest = __import__("hashlib").sha256(files["model.safetensors"]).hexdigest()
    assert head.status_code == 200 and head.headers["X-Repo-Commit"] == sha
    assert head.headers["ETag"] == f'"{digest}"' and head.headers["X-Linked-Size"] == str(300_000)
    part = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert part.status_code == 206 and part.content == files["model.safetensors"][1000:2000]
    stale = requests.get(url, headers={"Range": "bytes=1000-1999", "If-Range": '"0000"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == files["model.safetensors"]  # a changed file: all of it
    small = requests.head(f"{mirror.url}/{repo_id}/resolve/{sha}/config.json", timeout=10)
    assert "X-Linked-Etag" not in small.headers and len(small.headers["ETag"].strip('"')) == 40  # git blob id


def test_not_found_says_which_as_the_hub_does(stored, mirror, tmp_path):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    repo_id = stored[0]
    kw = {"endpoint": mirror.url, "cache_dir": tmp_path / "c", "token": False}
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/not-there", "config.json", **kw)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch", **kw)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "no-such-file.bin", **kw)


def test_team_tokens_are_checked_on_every_route(stored, tmp_path):
    from huggingface_hub import hf_hub_download

    repo_id = stored[0]
    m = Mirror(stored[2], tokens=("team-token-1",))
    try:
        for path in (f"/api/models/{repo_id}", f"/api/models/{repo_id}/tree/main",
                     f"/{repo_id}/resolve/main/config.json"):
            assert requests.get(m.url + path, timeout=10).status_code == 401
            assert requests.get(m.url + path, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
            ok = requests.get(m.url + path, headers={"Authorization": "Bearer team-token-1"}, timeout=10)
            assert ok.status_code == 200, path
        got = hf_hub_download(repo_id, "config.json", endpoint=m.url, cache_dir=tmp_path / "c", token="team-token-1")
        assert Path(got).read_bytes() == stored[1]["config.json"]
    finally:
        m.stop()


HOSTILE = ["../../secret.txt", "..%2F..%2Fsecret.txt", "%2e%2e/%2e%2e/secret.txt", "/etc/passwd",
           "sub/../../../secret.txt", "sub/..%2f..%2f..%2fsecret.txt", "..\\..\\secret.txt", "con%00fig.json",
           "x" * 5000, "%ff%fe", "sub/./notes.txt", "sub//notes.txt", ""]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_never_leave_the_storage(stored, mirror, path):
    repo_id = stored[0]
    for route in (f"/{repo_id}/resolve/main/{path}", f"/api/models/{repo_id}/tree/main/{path}",
                  f"/{repo_id}/resolve/{path}/config.json", f"/api/models/{path}/revision/main",
                  f"/{path}/{repo_id}/resolve/main/config.json", f"/toolkits/{path}", f"/blobs/sha256/{path}",
                  f"/models/{path}"):
        r = requests.get(mirror.url + route, timeout=10)
        assert r.status_code in (200, 400, 404, 405, 414), (route, r.status_code)
        assert SECRET not in r.content and b"root:" not in r.content, route


def test_the_command_refuses_to_serve_the_world_without_tokens(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "serve", "--host", "0.0.0.0", "--storage",
                           str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "HUB_SERVE_TOKENS": ""})
    assert proc.returncode == 2 and "HUB_SERVE_TOKENS" in proc.stderr and "Traceback" not in proc.stderr


def test_the_command_serves(stored):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "serve", "--port", str(port), "--storage",
                             str(stored[2].parent)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/models/{stored[0]}", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["sha"] == stored[3]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_mindspore_assets_under_their_upstream_paths(nginx, cards, tmp_path, net):
    """The mirror is filled by pulling into its folder as a HUB_HOME; a node with HUB_MIRRORS=<mirror> then gets
    the asset from it under the path the card's own host uses, and the blob by its digest."""
    import hashlib

    from helpers import index, publish

    data = payload(200_000, seed=71)
    pub = publish(nginx.root, cards, unique("msmirror"), data, base="https://download-mindspore.osinfra.cn")
    store = tmp_path / "storage"
    team = net.but(home=store, mirrors=(nginx.url,))
    index(cards, settings=team)
    pull(pub.name, settings=team)  # the team fills its mirror (here from nginx, standing in for the upstream host)
    m = Mirror(store / "hf", assets=store, settings=team)
    try:
        node = net.but(home=tmp_path / "node", mirrors=(m.url,))
        index(cards, settings=node)
        before = len(nginx.requests_for(pub.uri))
        [path] = pull(pub.name, settings=node)
        assert path.read_bytes() == data and len(nginx.requests_for(pub.uri)) == before  # from the mirror only
        digest = hashlib.sha256(data).hexdigest()
        blob = requests.get(f"{m.url}/blobs/sha256/{digest}", timeout=10)
        assert blob.status_code == 200 and blob.content == data and blob.headers["ETag"] == f'"{digest}"'
        assert requests.get(f"{m.url}/toolkits/mindcv/not/stored.ckpt", timeout=10).status_code == 404
        assert requests.get(f"{m.url}/blobs/sha256/{'0' * 64}", timeout=10).status_code == 404
        assert requests.get(f"{m.url}/blobs/sha256/..%2F..%2Fsecret", timeout=10).status_code == 404
    finally:
        m.stop()
