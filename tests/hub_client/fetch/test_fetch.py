"""hub pull against real servers on loopback: nginx, and a fault-injecting proxy in front of it."""

import hashlib
import os
from pathlib import Path

import pytest
from helpers import MS_CARD, index, payload, publish, unique

from hub_client import pull
from hub_client.fetch.cache import Cache
from hub_client.fetch.transfer import CHUNK
from registry.errors import DownloadError, IntegrityError, OfflineError, SizeLimitError, UnsafeURLError

pytestmark = pytest.mark.usefixtures("net")


def nothing_cached(pub, home: Path) -> None:
    root = Cache(home).root
    assert not (root / "blobs" / "sha256" / pub.digest).exists()
    assert not list((root / "incomplete").glob("*.part")) if (root / "incomplete").exists() else True
    assert not list((root / "models").rglob(Path(pub.rel).name)) if (root / "models").exists() else True


def test_full_hash_pull_then_cached_without_network(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("full"), payload(3 * CHUNK + 123), base=nginx.url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert path.is_symlink() and path.resolve() == Cache(net.home).blob_path(pub.digest)
    assert path.resolve().name == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [r[:2] for r in nginx.requests_for(pub.uri)] == [("GET", 200)]
    assert pull(pub.name, settings=net) == [path]
    assert len(nginx.requests_for(pub.uri)) == 1  # the cached pull made no request


def test_prefix_hash_verified_against_digest_and_file_name(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("prefix"), payload(CHUNK), base=nginx.url, prefix=True)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data


def test_wrong_hash_error_and_nothing_cached(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("wrong"), payload(2 * CHUNK), base=nginx.url, sha="0" * 64)
    index(cards, settings=net)
    with pytest.raises(IntegrityError) as e:
        pull(pub.name, settings=net)
    assert e.value.expected == "0" * 64 and e.value.actual == pub.digest and pub.link in str(e.value)
    nothing_cached(pub, net.home)


def test_prefix_that_disagrees_with_the_file_name(nginx, cards, net):
    data = payload(CHUNK, seed=7)
    other = hashlib.sha256(b"something else").hexdigest()[:8]
    pub = publish(nginx.root, cards, unique("namehash"), data, base=nginx.url, sha=other)
    index(cards, settings=net)
    with pytest.raises(IntegrityError) as e:
        pull(pub.name, settings=net)
    assert other in e.value.expected
    nothing_cached(pub, net.home)


def test_interrupted_then_resumed_across_runs(nginx, proxy, cards, net):
    size = 8 * CHUNK
    pub = publish(nginx.root, cards, unique("resume"), payload(size, seed=1), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.cut_after = 5 * CHUNK + 1000
    net = net.but(retries=0)
    with pytest.raises(DownloadError):
        pull(pub.name, settings=net)
    kept = list((Cache(net.home).root / "incomplete").glob("*.part"))
    assert len(kept) == 1
    kept_size = kept[0].stat().st_size
    assert 0 < kept_size <= 5 * CHUNK + 1000
    first = proxy.body_bytes
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert proxy.requests[-1][2] == f"bytes={kept_size}-"  # continued where it stopped
    assert proxy.body_bytes - first == size - kept_size  # and fetched only the rest
    assert first + (proxy.body_bytes - first) - size <= CHUNK  # bytes sent twice over both runs
    assert not list((Cache(net.home).root / "incomplete").glob("*.part"))


def test_interrupted_and_retried_within_one_run(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("retry"), payload(6 * CHUNK, seed=2), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.cut_after = 2 * CHUNK
    proxy.faults.cut_times = 2
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    ranges = [r[2] for r in proxy.requests]
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    assert proxy.body_bytes - len(pub.data) <= 2 * CHUNK


def test_server_that_ignores_range_falls_back_to_full_download(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("norange"), payload(4 * CHUNK, seed=3), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.cut_after = 3 * CHUNK
    proxy.faults.ignore_range = True
    net = net.but(retries=0)
    with pytest.raises(DownloadError):
        pull(pub.name, settings=net)
    [path] = pull(pub.name, settings=net)  # asks for a range, gets 200 with everything, starts over
    assert path.read_bytes() == pub.data
    assert proxy.requests[-1][2] is not None  # it did ask


@pytest.mark.parametrize("new_etag", [True, False], ids=["new-etag", "same-etag"])
def test_file_changed_between_runs(nginx, proxy, cards, new_etag, net):
    """The card stays; the server's file changes under a half-done pull. With a new ETag, If-Range fails
    and a full 200 follows; with the same ETag (nginx: mtime in seconds and size), the spliced file fails
    its hash and is fetched once more from the first byte."""
    data = payload(4 * CHUNK, seed=4)
    pub = publish(nginx.root, cards, unique("changed"), data, base=proxy.url)
    index(cards, settings=net)
    served = nginx.root / pub.rel
    served.write_bytes(payload(4 * CHUNK, seed=5))  # at first the server has other bytes
    first_mtime = served.stat().st_mtime
    proxy.faults.cut_after = 2 * CHUNK
    net = net.but(retries=0)
    with pytest.raises(DownloadError):
        pull(pub.name, settings=net)
    served.write_bytes(data)  # then the right ones
    os.utime(served, (first_mtime + 10, first_mtime + 10) if new_etag else (first_mtime, first_mtime))
    sent = proxy.body_bytes
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == data
    resumed = [r[2] for r in proxy.requests if r[2]]
    assert resumed[0] == f"bytes={2 * CHUNK}-"  # it tried to resume
    if new_etag:
        assert proxy.body_bytes - sent == len(data)  # a 200 with the whole new file
    else:
        assert proxy.body_bytes - sent == len(data) + 2 * CHUNK  # the spliced tail, then the whole file


def test_500_then_success(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("five"), payload(CHUNK, seed=6), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.statuses = [(500, {}), (503, {})]
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert len(proxy.requests) == 3


def test_429_honours_retry_after(nginx, proxy, cards, net):
    import time

    pub = publish(nginx.root, cards, unique("429"), payload(CHUNK, seed=8), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.statuses = [(429, {"Retry-After": "1"})]
    start = time.monotonic()
    [path] = pull(pub.name, settings=net)
    assert time.monotonic() - start >= 1.0
    assert path.read_bytes() == pub.data


def test_stall_beyond_read_timeout_is_retried(nginx, proxy, cards, net):
    net = net.but(timeout=0.5)
    pub = publish(nginx.root, cards, unique("stall"), payload(3 * CHUNK, seed=9), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.stall_after = CHUNK + 10
    proxy.faults.stall_seconds = 2.0
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert len(proxy.requests) == 2 and proxy.requests[1][2].startswith("bytes=")


def test_flipped_byte_is_caught(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("flip"), payload(2 * CHUNK, seed=10), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.flip_at = 12345
    with pytest.raises(IntegrityError):
        pull(pub.name, settings=net)
    nothing_cached(pub, net.home)


def test_offline_hit_and_miss(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("offline"), payload(CHUNK, seed=11), base=nginx.url)
    other = publish(nginx.root, cards, unique("offmiss"), payload(CHUNK, seed=12), base=nginx.url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    net = net.but(offline=True)
    assert pull(pub.name, settings=net) == [path]
    assert len(nginx.requests_for(pub.uri)) == 1
    with pytest.raises(OfflineError) as e:
        pull(other.name, settings=net)
    assert "HUB_OFFLINE" in str(e.value) and isinstance(e.value, FileNotFoundError)
    assert nginx.requests_for(other.uri) == []


def test_mirror_fallback(nginx, proxy, cards, net):
    from servers.nginx import free_port

    data = payload(2 * CHUNK, seed=13)
    origin = "https://download-mindspore.osinfra.cn"  # not allowed in tests: never contacted
    pub = publish(nginx.root, cards, unique("mirror"), data, base=origin)
    index(cards, settings=net)
    dead = f"http://127.0.0.1:{free_port()}"
    missing = f"{nginx.url}/no-such-mirror-prefix"
    proxy.faults.flip_at = 99
    net = net.but(mirrors=(dead, missing, proxy.url, nginx.url), retries=1)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == data
    assert [r[:2] for r in nginx.requests_for(pub.uri)][-1] == ("GET", 200)


def test_every_mirror_failing_lists_attempts(nginx, cards, net):
    from servers.nginx import free_port

    pub = publish(nginx.root, cards, unique("allfail"), payload(CHUNK), base="https://download-mindspore.osinfra.cn")
    index(cards, settings=net)
    net = net.but(mirrors=(f"http://127.0.0.1:{free_port()}",), retries=0)
    with pytest.raises(DownloadError) as e:
        pull(pub.name, settings=net)
    assert len(e.value.attempts) == 2 and "not allowed" in e.value.attempts[1]


@pytest.mark.parametrize(("link", "why"), [
    ("http://example.com/m/m-12345678-910v2.ckpt", "plain http"),
    ("https://evil.example/m/m-12345678-910v2.ckpt", "not allowed"),
    ("https://127.0.0.1/m/..%2F..%2Fetc%2Fpasswd", "escape"),
    ("file:///etc/passwd", "scheme"),
    ("/etc/passwd", "scheme"),
    ("https://user:pw@127.0.0.1/m.ckpt", "credentials"),
])
def test_refused_links_make_no_connection(cards, link, why, net):
    name = unique("refused")
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=link, sha="1" * 64))
    index(cards, settings=net)
    with pytest.raises(UnsafeURLError) as e:
        pull(name, settings=net)
    assert why in str(e.value)


@pytest.mark.parametrize(("where", "why"), [("/redirect/http", "plain http"), ("/redirect/elsewhere", "not allowed")])
def test_redirects_are_rechecked(nginx, cards, where, why, net):
    name = unique("redir")
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=f"{nginx.url}{where}", sha="1" * 64))
    index(cards, settings=net)
    with pytest.raises(UnsafeURLError) as e:
        pull(name, settings=net)
    assert why in str(e.value)


def test_redirect_within_allowed_host_is_followed(nginx, cards, net):
    data = payload(CHUNK, seed=14)
    pub = publish(nginx.root, cards, unique("redirok"), data, base=f"{nginx.url}/redirect/local")
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == data


def test_https_with_a_trusted_certificate(nginx, cards, monkeypatch, net):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(nginx.cert))
    pub = publish(nginx.root, cards, unique("tls"), payload(CHUNK, seed=15), base=nginx.tls_url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data


def test_size_cap(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("big"), payload(2 * CHUNK, seed=16), base=nginx.url)
    index(cards, settings=net)
    net = net.but(max_bytes=CHUNK)
    with pytest.raises(SizeLimitError):
        pull(pub.name, settings=net)
    nothing_cached(pub, net.home)


def test_pull_to_folder(nginx, cards, tmp_path, net):
    pub = publish(nginx.root, cards, unique("to"), payload(CHUNK, seed=17), base=nginx.url)
    index(cards, settings=net)
    out = tmp_path / "out"
    [path] = pull(pub.name, to=out, settings=net)
    assert path == out / Path(pub.rel).name and path.read_bytes() == pub.data and not path.is_symlink()


def test_format_filter(nginx, cards, net):
    from registry.errors import UsageError

    pub = publish(nginx.root, cards, unique("fmt"), payload(CHUNK, seed=18), base=nginx.url)
    index(cards, settings=net)
    with pytest.raises(UsageError) as e:
        pull(pub.name, fmt="onnx", settings=net)
    assert "formats on its card: ckpt" in str(e.value)
    assert pull(pub.name, fmt="ckpt", settings=net)[0].read_bytes() == pub.data


def test_hub_home_is_where_everything_goes(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("home"), payload(CHUNK, seed=19), base=nginx.url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.is_relative_to(net.home)


def test_flaky_link_that_progresses_is_not_given_up(nginx, proxy, cards, net):
    """Cut every 2 MiB, 2 retries allowed: each attempt moves forward, so the pull goes on to the end."""
    pub = publish(nginx.root, cards, unique("flaky"), payload(16 << 20, seed=44), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.cut_after = 2 << 20
    proxy.faults.cut_times = 10**6
    net = net.but(retries=2)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data and len(proxy.requests) >= 8


def test_backoff_is_capped(tmp_path):
    import requests

    from hub_client.fetch import http_layer, transfer

    class TimingOut(requests.Session):  # a host that is there but never answers in time: worth retrying
        def send(self, request, **kwargs):
            raise requests.ConnectTimeout("connect timed out")

    delays = []
    settings = transfer.Settings(timeout=1, retries=40, backoff=1.0, max_bytes=1 << 30, sleep=delays.append)
    part = transfer.Partial(tmp_path / "x.part")
    with pytest.raises(DownloadError):
        transfer.fetch("http://127.0.0.1:9/x.ckpt", part, session=TimingOut(),
                       policy=transfer.Policy(hosts=("127.0.0.1",)), settings=settings)
    assert len(delays) == 40 and max(delays) <= http_layer.MAX_BACKOFF


@pytest.mark.parametrize("link", ["https://[127.0.0.1/m.ckpt", "https://127.0.0.1:port/m.ckpt"])
def test_malformed_link_is_refused_cleanly(cards, link, net):
    name = unique("malformed")
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=link, sha="1" * 64))
    index(cards, settings=net)
    with pytest.raises(UnsafeURLError) as e:
        pull(name, settings=net)
    assert "not a valid URL" in str(e.value)


@pytest.mark.parametrize(("status", "headers", "size"), [
    (200, {"Content-Length": "1000"}, 1000),
    (206, {"Content-Range": "bytes 100-199/1000", "Content-Length": "100"}, 1000),
    (206, {"Content-Range": "bytes 100-199/*", "Content-Length": "100"}, None),  # a range's length is not the size
    (200, {}, None),  # chunked
])
def test_the_announced_size_is_the_whole_files(status, headers, size):
    import requests

    from hub_client.fetch.transfer import announced_size

    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers)
    assert announced_size(resp) == size
