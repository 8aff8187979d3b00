"""The fetcher under faults and hostile input: killed processes, lying servers, a full disk, private
addresses. Each case ends with a verified file or a clear error, and never a bad file at a final path."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, index, payload, publish, unique

from hub_client import pull
from hub_client.fetch.cache import Cache, asset_key
from hub_client.fetch.policy import Policy
from hub_client.fetch.transfer import CHUNK
from registry.errors import CacheWriteError, IntegrityError, SizeLimitError, UnsafeURLError
from registry.settings import Settings

pytestmark = pytest.mark.usefixtures("net")


def final_paths_clean(pub, home: Path) -> None:
    """No file for this asset at a final cache path (the per-model link or its blob) of the cache in ``home``."""
    assert not Cache(home).blob_path(pub.digest).exists()
    models = Cache(home).root / "models"
    assert not (models.exists() and list(models.rglob(os.path.basename(pub.rel))))


@pytest.mark.slow
def test_kill_9_mid_pull_then_resume(nginx, proxy, cards, net):
    """The single stream (one connection: HUB_CONNECTIONS=1); tests/hub_client/fetch/test_downloader.py kills a
    parallel download."""
    size = 48 * (1 << 20)
    pub = publish(nginx.root, cards, unique("kill"), payload(size, seed=40), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.rate = 24 * (1 << 20)  # 2 s for the file, so the kills land mid-transfer
    kills = 3
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", pub.name, "-q"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "HUB_CONNECTIONS": "1"})
        before = len(proxy.requests)
        deadline = time.monotonic() + 30
        while len(proxy.requests) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        final_paths_clean(pub, net.home)  # killed: nothing unverified at a final path
    kept = [p.stat().st_size for p in (Cache(net.home).root / "incomplete").glob("*.part")]
    assert len(kept) == 1 and kept[0] > 0
    t0 = time.monotonic()
    [path] = pull(pub.name, settings=net.but(connections=1))  # the lock of the killed process does not hold us up
    assert time.monotonic() - t0 < 30
    assert path.read_bytes() == pub.data
    ranges = [r[2] for r in proxy.requests]
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    offsets = [int(r[6:-1]) for r in ranges[1:]]
    assert offsets == sorted(offsets) and offsets[-1] == kept[0]  # each run continued from the last
    resent = proxy.body_bytes - size
    assert resent <= kills * 2 * CHUNK, f"{resent} bytes sent twice over {kills} kills"


def test_content_length_over_the_cap_is_refused_before_the_body(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("huge"), payload(CHUNK, seed=41), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.fake_length = 10**13
    net = net.but(max_bytes=10**12)
    start = time.monotonic()
    with pytest.raises(SizeLimitError) as e:
        pull(pub.name, settings=net)
    assert e.value.size == 10**13 and time.monotonic() - start < 10
    final_paths_clean(pub, net.home)
    assert not list((Cache(net.home).root / "incomplete").glob("*.part"))


def test_content_length_that_lies_short(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("short"), payload(2 * CHUNK, seed=42), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.fake_length = CHUNK  # announces half, then sends everything
    with pytest.raises(IntegrityError):
        pull(pub.name, settings=net)
    final_paths_clean(pub, net.home)


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_is_a_clear_error_and_the_next_pull_resumes(nginx, cards, small_disk, net):
    data = payload(3 * CHUNK, seed=43)  # 12 MiB into 6 MiB of space
    pub = publish(nginx.root, cards, unique("full"), data, base=nginx.url)
    index(cards, settings=net)
    net = net.but(home=small_disk / "hub", registry_file=net.registry)
    with pytest.raises(CacheWriteError) as e:
        pull(pub.name, settings=net)
    assert "No space left" in str(e.value) and isinstance(e.value, OSError)
    final_paths_clean(pub, net.home)
    kept = list((small_disk / "hub" / "incomplete").glob("*.part"))
    assert kept and kept[0].stat().st_size <= 6 << 20
    subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)  # space freed
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == data
    ranges = [r for r in nginx.requests_for(pub.uri)]
    assert ranges[-1][3].startswith("bytes=")  # resumed, not started over


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/x.ckpt",  # link-local (cloud metadata)
    "https://10.0.0.8/x.ckpt",
    "https://192.168.1.2/x.ckpt",
    "https://[fe80::1]/x.ckpt",
    "https://0.0.0.0/x.ckpt",
])
def test_private_and_link_local_addresses_refused_when_allowed_only_by_default(url):
    host = url.split("/")[2].strip("[]")
    policy = Policy(hosts=(host,), trusted=())  # allowed, but not named by the user
    with pytest.raises(UnsafeURLError) as e:
        policy.check(url)
    assert "private or link-local" in str(e.value)


def test_a_host_the_user_names_may_be_private():
    assert Policy(hosts=("10.0.0.8",), trusted=("10.0.0.8",)).check("https://10.0.0.8/x.ckpt")


def test_public_host_resolving_to_a_private_address_is_refused(monkeypatch):
    import socket

    def fake(host, *args, **kwargs):
        assert host == "download.mindspore.cn"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(UnsafeURLError) as e:
        Policy.of(Settings()).check("https://download.mindspore.cn/models/x.ckpt")
    assert "resolves to the private address 10.1.2.3" in str(e.value)


def test_mirrors_and_listed_hosts_are_trusted():
    policy = Policy.of(Settings(hosts=("mirror.lan",), mirrors=("https://10.0.0.9:8443",)))
    assert set(policy.trusted) == {"mirror.lan", "10.0.0.9"}
    assert policy.check("https://10.0.0.9:8443/x.ckpt")


def test_a_lock_held_too_long_is_a_clear_error(nginx, cards, monkeypatch, net):
    from filelock import FileLock

    from hub_client.fetch import pull as fetcher
    from registry.errors import DownloadError

    pub = publish(nginx.root, cards, unique("locked"), payload(CHUNK, seed=45), base=nginx.url)
    index(cards, settings=net)
    monkeypatch.setattr(fetcher, "LOCK_TIMEOUT", 0.3)
    key = asset_key(pub.link, pub.digest)
    with FileLock(Cache(net.home).lock_path(key)):  # another puller, stuck
        with pytest.raises(DownloadError) as e:
            pull(pub.name, settings=net)
    assert "another process" in str(e.value) and str(Cache(net.home).lock_path(key)) in str(e.value)
    assert pull(pub.name, settings=net)[0].read_bytes() == pub.data  # free again
