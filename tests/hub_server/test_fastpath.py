"""The fast path (HEAD of a file, GET of a repo's info, answered before routing when memory knows them) says
exactly what the app says, byte for byte, and enforces the same tokens; a miss or an error goes to the app."""

from __future__ import annotations

import pytest
import requests

pytest.importorskip("starlette")

from helpers import unique  # noqa: E402
from servers.asgi import AsgiServer  # noqa: E402

from hub_server import LocalStorage, Mirror, create_app  # noqa: E402
from hub_server.fastpath import FastPath  # noqa: E402
from hub_server.metrics import Observed  # noqa: E402

DROP = {"date", "server"}


def shown(r: requests.Response) -> tuple[int, dict[str, str], bytes]:
    return r.status_code, {k.lower(): v for k, v in r.headers.items() if k.lower() not in DROP}, r.content


def test_fast_answers_equal_the_apps_and_tokens_hold(tmp_path, hf_server, net):
    repo = f"fast/{unique('m').replace('_', '-')}"
    hf_server.add(repo, {"model.safetensors": b"w" * 5000, "sub/dir/config.json": b"{}"})
    mirror = Mirror(LocalStorage(tmp_path / "hf"), upstream=hf_server.url)
    observed = create_app(mirror, tokens=["t1"])  # every request counted, around the fast path
    app = observed.app
    assert isinstance(observed, Observed) and isinstance(app, FastPath)
    fast, slow = AsgiServer(observed).start(), AsgiServer(app.app).start()  # the same mirror, with and without it
    auth = {"Authorization": "Bearer t1"}
    routed = []
    inner = app.app

    async def counting(scope, receive, send):
        routed.append(scope["path"])
        await inner(scope, receive, send)

    app.app = counting  # the fast server's fallback only; the slow one serves the original directly
    try:
        for path in (f"/api/models/{repo}", f"/api/models/{repo}?blobs=true", f"/{repo}/resolve/main/model.safetensors",
                     f"/{repo}/resolve/main/sub%2Fdir/config.json", f"/{repo}/resolve/main/sub/dir/config.json"):
            method = requests.head if "/resolve/" in path else requests.get
            method(f"{fast.url}{path}", headers=auth, timeout=30)  # the first asks upstream (through the app)
            routed.clear()
            assert shown(method(f"{fast.url}{path}", headers=auth, timeout=30)) == shown(
                method(f"{slow.url}{path}", headers=auth, timeout=30)), path
            assert routed == [], path  # answered before routing
            assert method(f"{fast.url}{path}", timeout=30).status_code == 401  # no token: the app refuses
            assert method(f"{fast.url}{path}", headers={"Authorization": "Bearer t2"}, timeout=30).status_code == 401
        missing = requests.head(f"{fast.url}/{repo}/resolve/main/nope.bin", headers=auth, timeout=30)
        assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
        bad = requests.head(f"{fast.url}/{repo}/resolve/main/..%2F..%2Fetc%2Fpasswd", headers=auth, timeout=30)
        assert bad.status_code in (400, 404)
    finally:
        fast.stop()
        slow.stop()


def test_an_org_named_models_is_a_repo_not_a_mindspore_path(tmp_path, hf_server, net):
    repo = f"models/{unique('m').replace('_', '-')}"
    hf_server.add(repo, {"config.json": b'{"a": 1}'})
    server = AsgiServer(create_app(Mirror(LocalStorage(tmp_path / "hf"), upstream=hf_server.url))).start()
    try:
        got = requests.get(f"{server.url}/{repo}/resolve/main/config.json", timeout=30)
        assert got.status_code == 200 and got.content == b'{"a": 1}'
        assert requests.get(f"{server.url}/models/r1.9/x.ckpt", timeout=30).status_code == 404  # still an asset path
    finally:
        server.stop()
