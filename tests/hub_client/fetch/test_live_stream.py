"""A single stream that a user can watch and stop: progress at least every quarter second on a slow link, and
Ctrl-C or SIGTERM keep every byte that arrived, so the next pull continues from there."""

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT, index, payload, publish, unique

from hub_client import pull
from hub_client.fetch.cache import Cache

pytestmark = pytest.mark.usefixtures("net")


def one_connection() -> dict[str, str]:
    """The test's environment with one connection, for the CLI (an edge); library calls get ``net.but()``."""
    return {**os.environ, "HUB_CONNECTIONS": "1"}
MB = 1 << 20


class Ticks:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.done = 0

    def start(self, name, total, done):
        self.times.append(time.monotonic())

    def advance(self, n):
        self.done += n
        self.times.append(time.monotonic())

    def finish(self):
        self.times.append(time.monotonic())


def test_progress_moves_at_least_every_quarter_second_on_a_slow_link(nginx, proxy, cards, net):
    net = net.but(connections=1)
    pub = publish(nginx.root, cards, unique("ticks"), payload(3 * MB, seed=61), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.rate = 2 * MB  # 1.5 s for the file, less than one 4 MiB block
    ticks = Ticks()
    [path] = pull(pub.name, progress=lambda name: ticks, settings=net)
    assert path.read_bytes() == pub.data and ticks.done == 3 * MB
    gaps = [b - a for a, b in zip(ticks.times, ticks.times[1:], strict=False)]
    assert len(gaps) >= 5 and max(gaps) <= 0.35, gaps


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_pull_keeps_every_byte_and_resumes_from_it(nginx, proxy, cards, sig, net):
    net = net.but(connections=1)
    size = 6 * MB
    pub = publish(nginx.root, cards, unique("stop"), payload(size, seed=62), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.rate = 2 * MB
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", pub.name, "-q"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=one_connection())
    deadline = time.monotonic() + 30
    while proxy.body_bytes < int(1.5 * MB) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    sent = proxy.body_bytes
    assert proc.returncode != 0 and "Traceback" not in err, err
    kept = [p.stat().st_size for p in (Cache(net.home).root / "incomplete").glob("*.part")]
    assert len(kept) == 1 and sent - 512 * 1024 <= kept[0] <= sent, (kept, sent)  # all but what the kernel held
    proxy.faults.rate = None
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data
    assert proxy.requests[-1][2] == f"bytes={kept[0]}-"  # continued where it stopped


def test_a_small_file_resumes_too(nginx, proxy, cards, net):
    net = net.but(connections=1)
    pub = publish(nginx.root, cards, unique("small"), payload(600 * 1024, seed=63), base=proxy.url)
    index(cards, settings=net)
    proxy.faults.rate = 400 * 1024
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", pub.name, "-q"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=one_connection())
    deadline = time.monotonic() + 30
    while proxy.body_bytes < 300 * 1024 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    kept = [p.stat().st_size for p in (Cache(net.home).root / "incomplete").glob("*.part")]
    assert len(kept) == 1 and kept[0] >= 200 * 1024, kept
    proxy.faults.rate = None
    [path] = pull(pub.name, settings=net)
    assert path.read_bytes() == pub.data and proxy.requests[-1][2] == f"bytes={kept[0]}-"


def test_verbose_says_one_connection_and_why(nginx, cards, net):
    small = publish(nginx.root, cards, unique("vsmall"), payload(300 * 1024, seed=64), base=nginx.url)
    other = publish(nginx.root, cards, unique("vone"), payload(300 * 1024, seed=65), base=nginx.url)
    index(cards, settings=net)

    def verbose(name, **env):
        done = subprocess.run([sys.executable, "-m", "hub_client.cli", "pull", name, "-v", "-q"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "over one connection" in (said := verbose(small.name)) and "too small" in said, said
    assert "HUB_CONNECTIONS=1" in verbose(other.name, HUB_CONNECTIONS="1")
