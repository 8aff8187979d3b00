"""MindSpore Hub assets pulled through ``hub serve`` as they arrive: one upstream transfer for 16 cold clients,
bytes sent before the file is whole, the card's 8-hex sha256 judging the file before its last byte goes out, a
cut resumed within the transfer, a HEAD that starts nothing, and a ``hub pull`` into the same folder waited for
rather than fetched twice. The card's host is nginx behind the fault proxy; cards give no size, as real ones."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import index, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

import requests  # noqa: E402
from servers.asgi import AsgiServer  # noqa: E402
from servers.faultproxy import FaultProxy  # noqa: E402

from registry.settings import Settings  # noqa: E402

MB = 1 << 20


@pytest.fixture
def host(nginx):
    proxy = FaultProxy(nginx.url).start()  # the card's host, with faults on demand
    yield proxy
    proxy.stop()


@pytest.fixture
def mirror(tmp_path, net):
    """A mirror over ``tmp_path/mirror`` pulling through, as ``hub serve`` builds it; its ``settings`` make a hub
    pull by the tests go into the mirror's folder."""
    from hub_server.build import build_mirror

    home = tmp_path / "mirror"
    settings = net.but(home=home, registry_file=tmp_path / "registry.db")
    server = AsgiServer(build_mirror(settings, storage=str(home)).app)
    server.home, server.settings = home, settings
    yield server.start()
    server.stop()


def _card(nginx, host, tmp_path, size: int, seed: int, settings: Settings):
    data = payload(size, seed=seed)
    pub = publish(nginx.root, tmp_path / "cards", unique("flight"), data, base=host.url, prefix=True)
    index(tmp_path / "cards", settings=settings)
    return pub


def _upstream_gets(host, pub) -> list[str | None]:
    return [rng for method, path, rng in host.requests if method == "GET" and path == pub.uri]


def test_sixteen_cold_clients_one_transfer_streamed_before_it_is_whole(mirror, nginx, host, tmp_path):
    pub = _card(nginx, host, tmp_path, 12 * MB, seed=201, settings=mirror.settings)
    host.faults.rate = 24 * MB  # half a second upstream: clients must get bytes long before the end
    blob = mirror.home / "blobs" / "sha256" / pub.digest

    first = requests.get(mirror.url + pub.uri, stream=True, timeout=30)
    assert first.status_code == 200 and int(first.headers["Content-Length"]) == len(pub.data)
    head = next(first.iter_content(MB))
    assert head == pub.data[:len(head)]
    assert not blob.exists(), "the first bytes came before the file was whole and stored"

    def one(_: int) -> bytes:
        return requests.get(mirror.url + pub.uri, timeout=60).content

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, range(15)))
    rest = head + b"".join(first.iter_content(MB))
    assert all(g == pub.data for g in [*got, rest])
    assert _upstream_gets(host, pub) == [None], "one upstream transfer, from the first byte"
    assert blob.is_file() and hashlib.sha256(blob.read_bytes()).hexdigest() == pub.digest
    assert not list((mirror.home / "incomplete").glob(".hub-serve-*"))
    # Stored as hub pull stores it: a node pulling from the mirror's folder as its own home finds it verified.
    from hub_client import pull

    [path] = pull(pub.name, settings=mirror.settings)
    assert Path(os.path.realpath(path)) == blob and len(_upstream_gets(host, pub)) == 1
    again = requests.get(mirror.url + pub.uri, headers={"Range": "bytes=5-9"}, timeout=30)
    assert again.status_code == 206 and again.content == pub.data[5:10]
    assert again.headers["ETag"] == f'"{pub.digest}"'


def test_a_flipped_byte_fails_every_client_and_stores_nothing(mirror, nginx, host, tmp_path):
    pub = _card(nginx, host, tmp_path, 3 * MB, seed=202, settings=mirror.settings)
    host.faults.flip_at = 2 * MB
    try:  # cut short of its Content-Length; or, when the flight failed before this answer began (a loaded
        # machine), a 502: either way no client takes other bytes for the file
        answer = requests.get(mirror.url + pub.uri, timeout=30)
        assert answer.status_code == 502, answer.status_code
    except requests.exceptions.ChunkedEncodingError:
        pass
    assert not (mirror.home / "blobs" / "sha256").exists() or not list((mirror.home / "blobs" / "sha256").iterdir())
    assert not list((mirror.home / "incomplete").glob(".hub-serve-*"))
    host.faults.flip_at = None
    assert requests.get(mirror.url + pub.uri, timeout=30).content == pub.data  # the next asker fetches anew


def test_a_cut_is_resumed_within_the_one_transfer(mirror, nginx, host, tmp_path):
    pub = _card(nginx, host, tmp_path, 3 * MB, seed=203, settings=mirror.settings)
    host.faults.cut_after = MB
    got = requests.get(mirror.url + pub.uri, timeout=30)
    assert got.status_code == 200 and got.content == pub.data
    ranges = _upstream_gets(host, pub)
    assert ranges[0] is None and len(ranges) == 2 and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


def test_a_head_starts_no_transfer(mirror, nginx, host, tmp_path):
    pub = _card(nginx, host, tmp_path, 2 * MB, seed=204, settings=mirror.settings)
    head = requests.head(mirror.url + pub.uri, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(pub.data)
    assert "ETag" not in head.headers  # an 8-hex card: the full sha256 is not known before the bytes
    assert _upstream_gets(host, pub) == ["bytes=0-0"], "only the size was asked"
    assert not (mirror.home / "blobs").exists()
    missing = requests.head(mirror.url + "/toolkits/mindcv/nobody/none.ckpt", timeout=30)
    assert missing.status_code == 404


def test_a_pull_into_the_same_folder_is_waited_for_not_repeated(mirror, nginx, host, tmp_path):
    """Another process holds the asset's lock (``hub pull`` into the mirror's folder): the mirror waits for it
    and serves what it stored, asking the host nothing."""
    from filelock import FileLock

    from hub_client.fetch.cache import Cache, asset_key, link
    from hub_client.fetch.pull import resolve

    pub = _card(nginx, host, tmp_path, MB, seed=205, settings=mirror.settings)
    record = resolve(pub.name, settings=mirror.settings)
    cache = Cache(mirror.home)
    asset = record.assets[0]
    lock = FileLock(cache.lock_path(asset_key(asset.url, asset.sha256)), thread_local=False)
    lock.acquire()
    answer: list[requests.Response] = []
    asking = threading.Thread(target=lambda: answer.append(requests.get(mirror.url + pub.uri, timeout=60)))
    asking.start()
    time.sleep(0.5)
    assert not answer, "the mirror waits for the lock's holder"
    part = tmp_path / "other.part"  # what the other process downloaded and verified
    part.write_bytes(pub.data)
    link(cache.asset_path(record, asset), cache.store_blob(part, pub.digest))
    lock.release()
    asking.join(60)
    assert answer and answer[0].status_code == 200 and answer[0].content == pub.data
    assert _upstream_gets(host, pub) == []


def test_the_size_cap_counts_assets_with_hugging_face_files(nginx, host, hf_server, tmp_path, net):
    """One cap over both kinds: the least recently used goes, whichever kind it is, and comes back when asked."""
    from hub_server.build import build_mirror

    home = tmp_path / "mirror"
    net = net.but(registry_file=tmp_path / "registry.db")
    a = _card(nginx, host, tmp_path, MB, seed=206, settings=net)
    c = _card(nginx, host, tmp_path, MB, seed=207, settings=net)
    repo_id = f"acme/{unique('cap')}".replace("_", "-")
    hf_file = payload(MB, seed=208)
    hf_server.add(repo_id, {"w.safetensors": hf_file})
    built = build_mirror(net, storage=str(home), upstream=hf_server.url, max_bytes=int(2.5 * MB))
    server = AsgiServer(built.app).start()
    hf_url = f"{server.url}/{repo_id}/resolve/main/w.safetensors"
    try:
        assert requests.get(server.url + a.uri, timeout=30).content == a.data
        time.sleep(0.02)
        assert requests.get(hf_url, timeout=30).content == hf_file
        time.sleep(0.02)
        assert requests.get(server.url + a.uri, timeout=30).content == a.data  # a used again: w is the oldest
        time.sleep(0.02)
        assert requests.get(server.url + c.uri, timeout=30).content == c.data
        kept = {p.name for p in home.rglob("blobs/*") if p.is_file()} | {
            p.name for p in (home / "blobs" / "sha256").iterdir()}
        assert kept == {a.digest, c.digest}
        assert len(_upstream_gets(host, a)) == 1
        assert requests.get(hf_url, timeout=30).content == hf_file  # evicted: fetched again when asked
        assert (home / "blobs" / "sha256" / c.digest).is_file()
        assert not (home / "blobs" / "sha256" / a.digest).exists()  # storing it evicted a, now the least recent
        assert requests.get(server.url + a.uri, timeout=30).content == a.data  # and a comes back from its host
        assert len(_upstream_gets(host, a)) == 2
    finally:
        server.stop()
