"""``hub serve`` as a pull-through mirror, on a folder and on S3 (moto's server): a miss fetched from upstream
once and verified, 16 cold clients on one transfer, a flipped byte stored nowhere, refs with a TTL, upstream
down, offline, gated repos, pages of a tree, and revisions with a slash."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from helpers import payload, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

import requests  # noqa: E402
from servers.asgi import AsgiServer, free_port  # noqa: E402
from servers.faultproxy import FaultProxy  # noqa: E402

MB = 1 << 20


@pytest.fixture
def upstream(hf_server):
    proxy = FaultProxy(hf_server.url).start()  # the mirror's upstream: the test hub, behind faults on demand
    yield proxy
    proxy.stop()


def make_storage(kind: str, tmp_path: Path, request: pytest.FixtureRequest):
    from hub_server import LocalStorage, S3Storage

    if kind == "local":
        return LocalStorage(tmp_path / "storage" / "hf")
    server = request.getfixturevalue("moto_s3")
    bucket = unique("mirror").replace("_", "-").lower()
    server.client().create_bucket(Bucket=bucket)
    return S3Storage(f"s3://{bucket}/team", tmp_path / "scratch", s3=server.client())


@pytest.fixture(params=["local", "s3"])
def serve(request, tmp_path, upstream, hf_server, net):
    from hub_server import Mirror, create_app

    started: list[AsgiServer] = []

    def start(*, storage=None, ttl=300.0, offline=False, tokens=(), upstream_url=None, page_size=1000):
        storage = storage or make_storage(request.param, tmp_path, request)
        mirror = Mirror(storage, upstream=upstream_url or upstream.url, token=hf_server.token, ttl=ttl,
                        offline=offline)
        server = AsgiServer(create_app(mirror, tokens=tokens, page_size=page_size)).start()
        server.mirror = mirror
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def repo(hf_server):
    repo_id = f"acme/{unique('pt')}".replace("_", "-")
    files = {"config.json": b'{"model_type": "convnext"}', "model.safetensors": payload(3 * MB, seed=81),
             "sub/deep/notes.txt": b"a file two folders down\n"}
    hf_server.add(repo_id, files)
    return repo_id, files


def _download(url: str, repo_id: str, name: str, cache: Path, **kw) -> bytes:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id, name, endpoint=url, cache_dir=cache, **{"token": False, **kw})).read_bytes()


def _resolve_hits(hf_server, repo_id: str, name: str) -> int:
    return sum(n for path, n in hf_server.hits.items() if path.startswith(f"/{repo_id}/resolve/")
               and path.endswith("/" + name))


def test_a_miss_is_fetched_once_verified_and_stored(serve, repo, hf_server, tmp_path):
    from huggingface_hub import snapshot_download

    repo_id, files = repo
    m = serve()
    assert _download(m.url, repo_id, "model.safetensors", tmp_path / "c1") == files["model.safetensors"]
    assert _resolve_hits(hf_server, repo_id, "model.safetensors") == 1
    snap = Path(snapshot_download(repo_id, endpoint=m.url, cache_dir=tmp_path / "c2", token=False))
    assert {p.relative_to(snap).as_posix(): p.read_bytes() for p in snap.rglob("*") if p.is_file()} == files
    assert _download(m.url, repo_id, "model.safetensors", tmp_path / "c3") == files["model.safetensors"]
    assert _resolve_hits(hf_server, repo_id, "model.safetensors") == 1  # stored: upstream is not asked again
    digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert m.mirror.storage.blob(repo_id, digest) is not None
    assert m.mirror.upstream_transfers() == 0


def test_sixteen_cold_clients_make_one_upstream_transfer(serve, repo, hf_server, upstream):
    repo_id, files = repo
    m = serve()
    sha = requests.get(f"{m.url}/api/models/{repo_id}", timeout=10).json()["sha"]
    upstream.faults.rate = 6e6  # half a second of upstream transfer: every client arrives while it runs
    url = f"{m.url}/{repo_id}/resolve/{sha}/model.safetensors"
    start = threading.Barrier(16)
    got: list[bytes] = []

    def client() -> None:
        start.wait()
        got.append(requests.get(url, timeout=30).content)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 16 and all(g == files["model.safetensors"] for g in got)
    assert _resolve_hits(hf_server, repo_id, "model.safetensors") == 1
    assert upstream.body_bytes < 2 * len(files["model.safetensors"])


def test_a_byte_flipped_upstream_is_stored_nowhere_and_fails_the_clients(serve, repo, hf_server, tmp_path):
    repo_id, files = repo
    m = serve()
    hf_server.corrupt.add(f"{repo_id}/model.safetensors")
    try:
        with pytest.raises(Exception) as failed:  # noqa: PT011 - what huggingface_hub raises for a cut body varies
            _download(m.url, repo_id, "model.safetensors", tmp_path / "c1")
        assert "Traceback" not in str(failed.value)
        sha = requests.get(f"{m.url}/api/models/{repo_id}", timeout=10).json()["sha"]
        resp = requests.get(f"{m.url}/{repo_id}/resolve/{sha}/model.safetensors", stream=True, timeout=10)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            resp.content  # noqa: B018 - cut short of its Content-Length: no client takes it for the file
    finally:
        hf_server.corrupt.discard(f"{repo_id}/model.safetensors")
    digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert m.mirror.storage.blob(repo_id, digest) is None
    assert not list((tmp_path / "storage").rglob("*.incoming")) and not list(tmp_path.rglob("scratch/*"))
    assert _download(m.url, repo_id, "model.safetensors", tmp_path / "c2") == files["model.safetensors"]


def test_refs_are_trusted_for_their_ttl_then_asked_again(serve, repo, hf_server):
    repo_id, files = repo
    trusting = serve(ttl=3600)
    old = requests.get(f"{trusting.url}/api/models/{repo_id}", timeout=10).json()["sha"]
    new = hf_server.add_commit(repo_id, {**files, "config.json": b'{"model_type": "convnextv2"}'}, ref="main")
    try:
        assert requests.get(f"{trusting.url}/api/models/{repo_id}", timeout=10).json()["sha"] == old
        asking = serve(storage=trusting.mirror.storage, ttl=0)
        assert requests.get(f"{asking.url}/api/models/{repo_id}", timeout=10).json()["sha"] == new
        body = requests.get(f"{asking.url}/{repo_id}/resolve/main/config.json", timeout=10)
        assert body.content == b'{"model_type": "convnextv2"}' and body.headers["X-Repo-Commit"] == new
    finally:
        hf_server.repos[repo_id].revisions["main"] = old


def test_upstream_down_serves_what_is_stored_marked_stale(serve, repo, tmp_path):
    repo_id, files = repo
    first = serve()
    assert _download(first.url, repo_id, "model.safetensors", tmp_path / "c1") == files["model.safetensors"]
    down = serve(storage=first.mirror.storage, ttl=0, upstream_url=f"http://127.0.0.1:{free_port()}")
    head = requests.head(f"{down.url}/{repo_id}/resolve/main/model.safetensors", timeout=10)
    assert head.status_code == 200 and "upstream unreachable" in head.headers["X-Hub-Stale"]
    assert _download(down.url, repo_id, "model.safetensors", tmp_path / "c2") == files["model.safetensors"]
    gone = requests.get(f"{down.url}/api/models/acme/never-stored", timeout=10)  # nothing stored: a 502 saying why
    assert gone.status_code == 502 and "cannot reach 127.0.0.1" in gone.json()["error"]


def test_offline_serves_only_what_is_stored(serve, repo, tmp_path):
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    repo_id, files = repo
    first = serve()
    assert _download(first.url, repo_id, "config.json", tmp_path / "c1") == files["config.json"]
    offline = serve(storage=first.mirror.storage, offline=True)
    assert _download(offline.url, repo_id, "config.json", tmp_path / "c2") == files["config.json"]
    with pytest.raises(EntryNotFoundError):  # listed, never fetched: offline does not fetch it
        _download(offline.url, repo_id, "model.safetensors", tmp_path / "c3")
    with pytest.raises(RepositoryNotFoundError):
        _download(offline.url, "acme/not-here", "config.json", tmp_path / "c4")


def test_gated_repos_only_to_a_client_with_a_team_token(serve, hf_server, tmp_path):
    from huggingface_hub.errors import GatedRepoError

    repo_id = f"acme/{unique('gated')}".replace("_", "-")
    files = {"README.md": b"# gated\n", "model.safetensors": payload(MB, seed=82)}
    hf_server.add(repo_id, files, gated=True)
    hf_server.granted.add(repo_id)  # the mirror's upstream token has accepted the conditions
    team = serve(tokens=("team-token",))
    got = _download(team.url, repo_id, "model.safetensors", tmp_path / "c1", token="team-token")
    assert got == files["model.safetensors"]
    resp = requests.get(f"{team.url}/{repo_id}/resolve/main/model.safetensors",
                        headers={"Authorization": "Bearer team-token"}, timeout=10)
    assert hf_server.token not in str(resp.headers) and hf_server.token.encode() not in resp.content
    for mirror in (serve(storage=team.mirror.storage), serve(storage=team.mirror.storage, offline=True)):
        with pytest.raises(GatedRepoError):  # no team token: not served, stored or not
            _download(mirror.url, repo_id, "model.safetensors", tmp_path / "c2")


def test_a_tree_comes_in_pages(serve, repo):
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    repo_id, files = repo
    m = serve(page_size=2)
    first = requests.get(f"{m.url}/api/models/{repo_id}/tree/main?recursive=true", timeout=10)
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["Link"]
    tree = list(HfApi(endpoint=m.url, token=False).list_repo_tree(repo_id, recursive=True))
    assert {e.path for e in tree if isinstance(e, RepoFile)} == set(files)
    assert {e.path for e in tree if isinstance(e, RepoFolder)} == {"sub", "sub/deep"}


def test_a_revision_with_a_slash(serve, repo, tmp_path):
    repo_id, files = repo
    m = serve()
    sha = requests.get(f"{m.url}/api/models/{repo_id}", timeout=10).json()["sha"]
    for name in ("config.json", "sub/deep/notes.txt"):
        requests.get(f"{m.url}/{repo_id}/resolve/{sha}/{name}", timeout=10).raise_for_status()
    m.mirror.storage.set_ref(repo_id, "feature/x", sha)  # as a stored branch of that name
    offline = serve(storage=m.mirror.storage, offline=True)
    got = _download(offline.url, repo_id, "config.json", tmp_path / "c1", revision="feature/x")
    assert got == files["config.json"]
    resp = requests.get(f"{offline.url}/{repo_id}/resolve/feature%2Fx/sub/deep/notes.txt", timeout=10)
    assert resp.status_code == 200 and resp.content == files["sub/deep/notes.txt"]


def test_ranges_while_the_file_arrives_and_from_storage(serve, repo, upstream):
    repo_id, files = repo
    data = files["model.safetensors"]
    m = serve()
    sha = requests.get(f"{m.url}/api/models/{repo_id}", timeout=10).json()["sha"]
    url = f"{m.url}/{repo_id}/resolve/{sha}/model.safetensors"
    upstream.faults.rate = 6e6
    part = requests.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30)  # served as the flight arrives
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    upstream.faults.rate = None
    requests.get(url, timeout=30).raise_for_status()
    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=10)
    assert tail.status_code == 206 and tail.content == data[-10:]
    stale = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == data
    beyond = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert beyond.status_code == 416


def test_a_size_cap_evicts_the_least_recently_used(hf_server, upstream, tmp_path, net):
    from hub_server import LocalStorage, Mirror, create_app

    repo_id = f"acme/{unique('lru')}".replace("_", "-")
    files = {f"w{i}.safetensors": payload(MB, seed=90 + i) for i in range(3)}
    hf_server.add(repo_id, files)
    storage = LocalStorage(tmp_path / "hf", max_bytes=int(2.5 * MB))
    server = AsgiServer(create_app(Mirror(storage, upstream=upstream.url))).start()
    try:
        def get(name: str) -> bytes:
            return requests.get(f"{server.url}/{repo_id}/resolve/main/{name}", timeout=30).content

        assert get("w0.safetensors") == files["w0.safetensors"]
        time.sleep(0.02)
        assert get("w1.safetensors") == files["w1.safetensors"]
        time.sleep(0.02)
        assert get("w0.safetensors") == files["w0.safetensors"]  # w0 used again: w1 is now the least recent
        time.sleep(0.02)
        assert get("w2.safetensors") == files["w2.safetensors"]
        kept = {p.name for p in (tmp_path / "hf").rglob("blobs/*")}
        digest = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
        assert kept == {digest["w0.safetensors"], digest["w2.safetensors"]}
        assert get("w1.safetensors") == files["w1.safetensors"]  # evicted: fetched again when asked
        assert _resolve_hits(hf_server, repo_id, "w1.safetensors") == 2
    finally:
        server.stop()


def test_scratch_left_by_a_killed_server_is_swept(tmp_path):
    from hub_server import LocalStorage

    storage = LocalStorage(tmp_path / "hf")
    folder = storage.scratch("acme/m")
    old, live = folder / ".hub-serve-aa.1.incoming", folder / ".hub-serve-bb.2.incoming"
    for p in (old, live):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert storage.sweep() == [old] and live.exists() and not old.exists()


def test_during_an_outage_upstream_is_not_asked_on_every_request(serve, repo, upstream, tmp_path):
    repo_id, files = repo
    m = serve(ttl=0)  # every ref is past its TTL: each request would ask upstream
    assert _download(m.url, repo_id, "config.json", tmp_path / "c1") == files["config.json"]
    upstream.faults.statuses = [(503, {"Retry-After": "0"})] * 20
    first = requests.head(f"{m.url}/{repo_id}/resolve/main/config.json", timeout=30)
    asked = 20 - len(upstream.faults.statuses)
    assert first.status_code == 200 and "upstream unreachable" in first.headers["X-Hub-Stale"] and asked >= 1
    for _ in range(5):
        again = requests.head(f"{m.url}/{repo_id}/resolve/main/config.json", timeout=30)
        assert again.status_code == 200 and "X-Hub-Stale" in again.headers
    assert 20 - len(upstream.faults.statuses) == asked  # the pause after the failure: nobody waited on it again


def test_an_upstream_503_or_cut_mid_file_is_retried_within_the_one_transfer(serve, repo, upstream):
    repo_id, files = repo
    m = serve()
    sha = requests.get(f"{m.url}/api/models/{repo_id}", timeout=10).json()["sha"]
    upstream.faults.statuses = [(503, {"Retry-After": "0"})]
    upstream.faults.cut_after = MB  # then the connection is cut a megabyte in, once
    got = requests.get(f"{m.url}/{repo_id}/resolve/{sha}/model.safetensors", timeout=30)
    assert got.status_code == 200 and got.content == files["model.safetensors"]
    assert not upstream.faults.statuses


def test_mindspore_assets_on_a_bucket_mirror(moto_s3, nginx, tmp_path, monkeypatch, net):
    """A mirror on S3 pulls a MindSpore Hub asset through once, into the bucket by digest with its path indexed;
    a second replica over the bucket serves it offline, ranges too, and a node pulls it from there alone."""
    from helpers import index, publish

    from hub_client import pull
    from hub_server.build import build_mirror

    data = payload(MB, seed=95)
    pub = publish(nginx.root, tmp_path / "cards", unique("bucketms"), data, base=nginx.url, prefix=True)
    scratch = tmp_path / "scratch-home"
    indexer = net.but(home=scratch, registry_file=tmp_path / "registry.db")
    index(tmp_path / "cards", settings=indexer)
    bucket = unique("msbucket").replace("_", "-").lower()
    moto_s3.client().create_bucket(Bucket=bucket)

    def replica(pull_through: bool) -> AsgiServer:
        built = build_mirror(indexer, storage=f"s3://{bucket}/team", s3=moto_s3.client(),
                             offline=not pull_through)
        return AsgiServer(built.app).start()

    first, second = replica(True), replica(False)
    try:
        got = requests.get(first.url + pub.uri, timeout=30)
        assert got.status_code == 200 and got.content == data
        fetched = len(nginx.requests_for(pub.uri))
        keys = {o["Key"] for o in moto_s3.client().list_objects_v2(Bucket=bucket)["Contents"]}
        assert keys == {f"team/ms/blobs/sha256/{pub.digest}", f"team/ms/paths/{pub.rel}"}
        assert not (scratch / "blobs" / "sha256" / pub.digest).exists()  # the scratch copy is gone
        part = requests.get(second.url + pub.uri, headers={"Range": "bytes=10-19"}, timeout=30)
        assert part.status_code == 206 and part.content == data[10:20]
        by_digest = requests.get(f"{second.url}/blobs/sha256/{pub.digest}", timeout=30)
        assert by_digest.content == data and by_digest.headers["ETag"] == f'"{pub.digest}"'
        assert requests.get(f"{second.url}/toolkits/mindcv/nothing/here.ckpt", timeout=30).status_code == 404
        [path] = pull(pub.name, settings=indexer.but(home=tmp_path / "node", mirrors=(second.url,)))
        assert path.read_bytes() == data and len(nginx.requests_for(pub.uri)) == fetched  # from the bucket alone
    finally:
        first.stop()
        second.stop()
