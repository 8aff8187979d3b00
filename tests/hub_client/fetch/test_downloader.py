"""Parallel ranged downloads over a link that caps each connection (the fault proxy's per-response rate in front
of nginx): more connections while they help, every piece verified in the one sha256, resumable across kill -9,
and each fault the issue names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, index, payload, publish, unique

from hub_client import pull
from hub_client.fetch.cache import Cache
from hub_client.fetch.downloader import HANDOVER_AFTER, PIECE
from registry.errors import IntegrityError

pytestmark = pytest.mark.usefixtures("net")
MiB = 1 << 20
SIZE = 40 * MiB
RATE = 16 * MiB  # per connection: one stream needs 2.5 s, sixteen well under one


def _ranges(proxy) -> list[tuple[int, int]]:
    out = []
    for _, _, rng in proxy.requests:
        if rng:
            a, _, b = rng.removeprefix("bytes=").partition("-")
            out.append((int(a), int(b) + 1 if b else SIZE))
    return out


def _leftovers(home: Path) -> list[str]:
    folder = Cache(home).root / "incomplete"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def capped(nginx, proxy, cards, net):
    pub = publish(nginx.root, cards, unique("capped"), payload(SIZE, seed=60), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.rate = RATE
    return pub


def test_a_capped_link_is_fetched_over_several_connections_and_verified(capped, proxy, net):
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert proxy.requests[0][2] is None  # it starts as one plain stream...
    ranges = _ranges(proxy)
    assert len(ranges) >= 3 and proxy.peak >= 4  # ...and the slow link got more connections
    covered = sorted(ranges)
    assert covered[0][0] >= HANDOVER_AFTER and covered[-1][1] == SIZE  # the first stream's bytes not asked again
    assert all(b - a <= PIECE for a, b in ranges)
    assert proxy.body_bytes <= SIZE + 4 * MiB  # about every byte once
    assert not any(name.endswith((".part", ".seg.json")) for name in _leftovers(net.home))


def test_the_connection_cap_is_kept(capped, proxy, tmp_path, net):
    """Counted by the client: a proxy still writing into a socket the client has closed would count it twice."""
    import hashlib

    import requests

    from hub_client.fetch.downloader import download
    from hub_client.fetch.policy import Policy
    from hub_client.fetch.transfer import Partial

    three = net.but(connections=3)
    part = Partial(tmp_path / "x.part")
    with requests.Session() as session:
        out = download(capped.link, part, session=session, policy=Policy.of(three), settings=three)
    assert out.digest == hashlib.sha256(capped.data).hexdigest() and out.size == SIZE
    assert out.connections == 3  # more than one stream was worth it, and no more than three were opened
    one = net.but(connections=1)
    part.discard()
    with requests.Session() as session:
        proxy.reset()
        proxy.faults.rate = RATE * 4  # one stream only, however slow: keep the test short
        out = download(capped.link, part, session=session, policy=Policy.of(one), settings=one)
    assert out.connections == 1 and [r[2] for r in proxy.requests] == [None]


def test_a_fast_link_stays_one_stream(nginx, cards, net):
    pub = publish(nginx.root, cards, unique("fast"), payload(SIZE, seed=61), base=nginx.url)
    index(cards, settings=net)
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert [r[:2] + (r[3],) for r in nginx.requests_for(pub.uri)] == [("GET", 200, "-")]


def test_one_connection_cut_mid_piece_continues_from_the_cut(capped, proxy, net):
    proxy.faults.after_requests = 1  # spare the first stream
    proxy.faults.cut_after = 3 * MiB + 12345
    proxy.faults.cut_times = 1
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert any(a % MiB for a, _ in _ranges(proxy))  # a piece asked again from where its cut left it


def test_a_server_answering_a_range_with_200_gets_one_stream(capped, proxy, net):
    proxy.faults.after_requests = 1
    proxy.faults.ignore_range = True
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert proxy.requests[-1][2] is None  # the whole file again, by one stream, after the parallel attempt


def test_a_server_limiting_connections_is_backed_off_from(capped, proxy, net):
    proxy.faults.max_concurrent = 3
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert proxy.refused >= 1  # it tried more, was told 503, and finished with fewer


def test_a_flipped_byte_in_one_piece_fails_the_whole_file_and_nothing_is_kept(capped, proxy, net):
    """The one sha256 catches it, but cannot say which piece: the partial file and its ranges are deleted, and
    the next pull fetches everything again (from the next mirror first, when there is one)."""
    proxy.faults.after_requests = 1
    proxy.faults.flip_at = 1000  # in every ranged piece
    with pytest.raises(IntegrityError) as e:
        pull(capped.name, settings=net)
    assert e.value.actual != capped.digest and "nothing was cached" in str(e.value)
    assert _leftovers(net.home) == [] or all(n.endswith(".lock") for n in _leftovers(net.home))
    proxy.reset()
    proxy.faults.rate = RATE
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data


@pytest.mark.slow
def test_kill_9_keeps_every_finished_piece(capped, proxy, net):
    proxy.faults.rate = 4 * MiB  # slow enough that the kill lands mid-way
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", capped.name, "-q"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while len(_ranges(proxy)) < 4 and time.monotonic() < deadline:  # parallel by now
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = [n for n in _leftovers(net.home) if n.endswith(".seg.json")]
    assert len(state) == 1, _leftovers(net.home)
    first_run = proxy.body_bytes
    assert first_run < SIZE  # killed mid-way
    proxy.faults.rate = RATE
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    resent = proxy.body_bytes - SIZE
    assert resent <= 4 * MiB * 16, f"{resent / MiB:.1f} MiB sent twice"
    assert not any(n.endswith((".part", ".seg.json")) for n in _leftovers(net.home))


def test_a_hugging_face_file_on_a_capped_cdn_comes_in_parallel_into_the_hf_cache(hf_env, hf_settings, nginx, proxy):
    """The Hub redirects a big LFS file to its CDN; the pieces come from there, the token stays with the Hub,
    and the file lands where huggingface_hub looks."""
    import hashlib

    from servers.hfserver import Remote


    data = payload(SIZE, seed=62)
    digest = hashlib.sha256(data).hexdigest()
    (nginx.root / "cdn").mkdir(exist_ok=True)
    (nginx.root / "cdn" / digest).write_bytes(data)
    proxy.faults.rate = RATE
    repo_id = f"acme/{unique('big')}".replace("_", "-")
    hf_env.add(repo_id, {"config.json": b'{"model_type": "convnextv2"}', "model.safetensors": Remote(SIZE, digest)})
    hf_env.cdn[f"{repo_id}/model.safetensors"] = f"{proxy.url}/cdn/{digest}"
    paths = {p.name: p for p in pull(f"hf:{repo_id}", settings=hf_settings)}
    assert paths["model.safetensors"].read_bytes() == data
    assert str(paths["model.safetensors"]).startswith(str(hf_settings.hf_cache))
    assert os.path.realpath(paths["model.safetensors"]).endswith(f"/blobs/{digest}")
    assert len(_ranges(proxy)) >= 3 and proxy.peak >= 4


def test_verbose_pull_says_how_many_connections(capped):
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "pull", capped.name, "-q", "-v"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "connections" in proc.stderr and "MB over at most" in proc.stderr
    assert proc.stdout.strip().endswith(os.path.basename(capped.rel))  # stdout stays the paths


@pytest.fixture
def second(nginx):
    from servers.faultproxy import FaultProxy

    p = FaultProxy(nginx.url).start()
    p.faults.rate = RATE
    yield p
    p.stop()


def test_pieces_come_from_every_mirror_that_agrees(capped, proxy, second, net):
    net = net.but(mirrors=(second.url,))  # the mirror first, then the card's own host
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert second.requests[0][2] is None  # the first stream, from the mirror
    assert len(_ranges(second)) >= 2 and len(_ranges(proxy)) >= 2  # then pieces from both


def test_a_mirror_serving_other_bytes_is_found_out_by_the_hash(capped, proxy, second, net):
    """Its pieces spoil the file; the sha256 says so but not whose they were, so each source is then tried alone,
    and the one with the right bytes wins."""
    net = net.but(mirrors=(second.url,))
    second.faults.flip_at = 4321  # every response of the mirror
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    assert proxy.requests[-1][2] is None or _ranges(proxy)  # the good source served the last, whole attempt
    assert not any(n.endswith((".part", ".seg.json")) for n in _leftovers(net.home))


def test_a_mirror_with_another_size_is_not_used(capped, proxy, second, nginx, net):
    truncated = nginx.root / "elsewhere" / capped.rel
    truncated.parent.mkdir(parents=True, exist_ok=True)
    truncated.write_bytes(capped.data[: SIZE - MiB])  # another size: not the same file
    net = net.but(mirrors=tuple(f"{second.url},{second.url}/elsewhere".split(",")))
    [path] = pull(capped.name, settings=net)
    assert path.read_bytes() == capped.data
    asked = [r[2] for r in second.requests if "/elsewhere/" in r[1]]
    assert asked == ["bytes=0-0"]  # asked once whether it agrees, never for a piece
    assert len(_ranges(proxy)) >= 2  # the origin agreed, and served pieces


def test_a_host_known_to_cap_connections_gets_them_from_the_first_byte(capped, proxy, tmp_path, net):
    """The first pull measures the host (one stream, then more); a later pull from it, into another home that
    has only that record, asks one byte for the size and ETag, then nothing but pieces, many at once."""
    import shutil

    from hub_client.fetch import hosts
    from hub_client.fetch.downloader import FAST_STREAM

    pull(capped.name, settings=net)
    known = hosts.known(net.home, capped.link)
    assert known is not None and known.per_connection < FAST_STREAM and known.connections >= 4
    other = net.but(home=tmp_path / "other", registry_file=net.registry)
    (tmp_path / "other").mkdir()
    shutil.copyfile(net.home / hosts.FILE_NAME, tmp_path / "other" / hosts.FILE_NAME)
    proxy.reset()
    [path] = pull(capped.name, settings=other)
    assert path.read_bytes() == capped.data
    asked = [r[2] for r in proxy.requests]
    assert asked[0] == "bytes=0-0" and all(asked), asked  # no single stream first
    # pieces for the host's count at once, not a ramp (how many overlap at the proxy depends on the machine's load:
    # with another test beside it, 8 of 23 were seen in flight, so the figure itself is bench.parallel's)
    assert len(asked) - 1 >= min(known.connections, SIZE // MiB) and proxy.peak >= 4
    assert proxy.body_bytes <= SIZE + MiB


def test_a_host_known_to_be_fast_gets_one_stream_even_for_a_big_file_of_known_size(capped, proxy, tmp_path, net):
    import hashlib

    import requests

    from hub_client.fetch import hosts
    from hub_client.fetch.downloader import download
    from hub_client.fetch.policy import Policy
    from hub_client.fetch.transfer import Partial

    proxy.faults.rate = None  # a link one stream fills
    hosts.remember(net.home, capped.link, 400e6, 1)
    part = Partial(tmp_path / "x.part")
    with requests.Session() as session:
        out = download(capped.link, part, session=session, policy=Policy.of(net), settings=net, size=SIZE)
    assert out.digest == hashlib.sha256(capped.data).hexdigest() and out.connections == 1
    assert [r[2] for r in proxy.requests] == [None]


def test_a_file_of_known_size_from_an_unknown_host_starts_with_many_connections(capped, proxy, tmp_path, net):
    """As aria2c -x16: the size known before the first byte (a Hugging Face listing) and nothing known of the
    host, sixteen connections from the first byte; what it measured is kept for the next time."""
    import hashlib

    import requests

    from hub_client.fetch import hosts
    from hub_client.fetch.downloader import FIRST_CONTACT, download, piece_size
    from hub_client.fetch.policy import Policy
    from hub_client.fetch.transfer import Partial

    assert hosts.known(net.home, capped.link) is None
    part = Partial(tmp_path / "x.part")
    with requests.Session() as session:
        out = download(capped.link, part, session=session, policy=Policy.of(net), settings=net, size=SIZE)
    assert out.digest == hashlib.sha256(capped.data).hexdigest()
    assert proxy.requests[0][2] == "bytes=0-0" and all(r[2] for r in proxy.requests)
    assert proxy.peak >= FIRST_CONTACT // 2 and out.connections >= FIRST_CONTACT
    assert all(b - a <= piece_size(SIZE, FIRST_CONTACT) for a, b in _ranges(proxy)[1:])
    assert hosts.known(net.home, capped.link).connections == out.connections


def test_pieces_are_sized_to_the_file_and_a_damaged_record_is_no_hint(tmp_path):
    from hub_client.fetch import hosts
    from hub_client.fetch.downloader import MIN_PIECE, piece_size
    from hub_client.fetch.parallel import BLOCK

    assert piece_size(110 * MiB, 16) == 110 * MiB // 32 - (110 * MiB // 32) % BLOCK
    assert piece_size(4 << 30, 16) == PIECE and piece_size(30 * MiB, 32) == MIN_PIECE
    (tmp_path / hosts.FILE_NAME).write_text("{not json")
    assert hosts.known(tmp_path, "https://cdn.example/x") is None
    hosts.remember(tmp_path, "https://cdn.example/x", 20e6, 16)  # written anew over the damaged file
    assert hosts.known(tmp_path, "https://cdn.example/y").connections == 16
    assert hosts.known(tmp_path, "http://cdn.example/y") is None  # another port is another host
    (tmp_path / hosts.FILE_NAME).write_text('{"cdn.example:443": {"per_connection": 1, "connections": 2, "at": 0}}')
    assert hosts.known(tmp_path, "https://cdn.example/x") is None  # too old to go by
