"""hub pull across processes and from the command line: one transfer for many pullers, the cache commands,
progress bars only on a terminal."""

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from helpers import ROOT, index, payload, publish, unique

from hub_client.fetch.cache import Cache
from hub_client.fetch.transfer import CHUNK

pytestmark = pytest.mark.usefixtures("net")


def hub(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env or os.environ.copy(), timeout=300)


@pytest.mark.slow
def test_eight_processes_one_transfer(nginx, proxy, cards, settings):
    size = 16 * CHUNK
    pub = publish(nginx.root, cards, unique("eight"), payload(size, seed=20), base=proxy.url)
    index(cards, settings=settings)
    proxy.faults.rate = 8 * CHUNK  # 2 s for the file: every process starts while it is still coming
    procs = [subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", pub.name, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(8)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [e for _, e in outs]
    paths = {json.loads(o)["paths"][0] for o, _ in outs}
    assert len(paths) == 1
    asked = [r[:2] for r in nginx.requests_for(pub.uri)]
    # one transfer: the first stream, then (a slow link) the rest in ranged pieces, each byte sent about once
    assert asked[0] == ("GET", 200) and all(r == ("GET", 206) for r in asked[1:])
    assert size <= proxy.body_bytes <= size + 2 * CHUNK
    assert [b.name for b in (Cache(settings.home).root / "blobs" / "sha256").iterdir()] == [pub.digest]


def test_cli_pull_imports_no_framework(nginx, cards, settings):
    from helpers.probe import heavy_modules_after

    pub = publish(nginx.root, cards, unique("light"), payload(CHUNK, seed=22), base=nginx.url)
    index(cards, settings=settings)
    assert heavy_modules_after(["pull", pub.name, "--quiet"]) == set()
    assert len(nginx.requests_for(pub.uri)) == 1  # the pull really happened in the probe


def test_a_cached_pull_loads_neither_http_nor_sqlite_utils(nginx, cards, settings):
    """Start-up of the commonest command: the registry is read with sqlite3, and nothing is downloaded."""
    from helpers.probe import modules_after

    pub = publish(nginx.root, cards, unique("warm"), payload(CHUNK, seed=26), base=nginx.url)
    index(cards, settings=settings)
    assert "requests" in modules_after(["pull", pub.name, "--quiet"])  # the first pull downloads
    loaded = modules_after(["pull", pub.name, "--quiet"])
    assert not loaded & {"requests", "urllib3", "sqlite_utils", "click", "dateutil", "numpy"}, loaded
    assert len(nginx.requests_for(pub.uri)) == 1


def test_cli_pull_json_quiet_and_to(nginx, cards, tmp_path, settings):
    pub = publish(nginx.root, cards, unique("cli"), payload(CHUNK, seed=21), base=nginx.url)
    index(cards, settings=settings)
    proc = hub("pull", pub.name, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == pub.name and open(data["paths"][0], "rb").read() == pub.data
    assert proc.stderr == ""  # no bar, no note: not a terminal, and --json
    quiet = hub("pull", pub.name, "-q")
    assert quiet.returncode == 0 and quiet.stdout.strip() == data["paths"][0]
    out = tmp_path / "here"
    to = hub("pull", pub.name, "--to", str(out))
    assert to.returncode == 0 and to.stdout.strip() == str(out / os.path.basename(pub.rel))


def test_cli_errors_are_messages_with_exit_codes(nginx, cards, settings):
    pub = publish(nginx.root, cards, unique("clibad"), payload(CHUNK, seed=22), base=nginx.url, sha="0" * 64)
    index(cards, settings=settings)
    bad = hub("pull", pub.name)
    assert bad.returncode == 1 and "sha256 mismatch" in bad.stderr and "Traceback" not in bad.stderr
    unknown = hub("pull", "convnext-tiny")
    assert unknown.returncode == 1 and "did you mean 'convnext_tiny'" in unknown.stderr


def test_progress_bar_on_a_terminal_only(nginx, proxy, cards, settings):
    pub = publish(nginx.root, cards, unique("bar"), payload(8 * CHUNK, seed=23), base=proxy.url)
    index(cards, settings=settings)
    proxy.faults.rate = 16 * CHUNK
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "pull", pub.name], stdout=subprocess.PIPE,
                            stderr=slave, cwd=ROOT, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert os.path.basename(pub.rel) in text and ("MB/s" in text or "kB/s" in text)
    assert f"{len(pub.data) / 1e6:.1f} MB" in text  # DownloadColumn shows the total


def test_cache_commands(nginx, cards, settings):
    a = publish(nginx.root, cards, unique("cachea"), payload(CHUNK, seed=24), base=nginx.url)
    b = publish(nginx.root, cards, unique("cacheb"), payload(CHUNK, seed=25), base=nginx.url)
    index(cards, settings=settings)
    assert hub("pull", a.name, "-q").returncode == 0 and hub("pull", b.name, "-q").returncode == 0

    listed = json.loads(hub("cache", "ls", "--json").stdout)
    assert {r["file"] for r in listed} == {os.path.basename(a.rel), os.path.basename(b.rel)}
    assert all(r["ok"] for r in listed)

    assert hub("cache", "verify").returncode == 0
    assert hub("verify", a.name).returncode == 0

    blob = Cache(settings.home).blob_path(b.digest)
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.seek(100)
        f.write(b"X")
    bad = hub("cache", "verify", "--json")
    assert bad.returncode == 1
    assert {r["file"]: r["ok"] for r in json.loads(bad.stdout)} == {os.path.basename(a.rel): True,
                                                                     os.path.basename(b.rel): False}
    v = hub("verify", b.name)
    assert v.returncode == 1 and "corrupt" in v.stdout and b.digest in v.stdout

    linked = [e.path for e in Cache(settings.home).entries() if e.path.name == os.path.basename(b.rel)]
    removed = hub("cache", "rm", b.name)
    assert removed.returncode == 0 and f"freed {len(b.data) / 1e6:.1f} MB" in removed.stdout, removed.stdout
    assert linked and not linked[0].exists() and not blob.exists()  # no other model used the blob
    assert Cache(settings.home).blob_path(a.digest).exists()
    stale = Cache(settings.home).partial_path("0" * 32)  # a partial download nobody is writing
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"x" * 5000)
    pruned = hub("cache", "prune")
    assert pruned.returncode == 0 and "deleted 1 file(s), freed 5.0 kB" in pruned.stdout, pruned.stdout
    assert not stale.exists() and Cache(settings.home).blob_path(a.digest).exists()
    assert hub("verify", b.name).returncode == 1  # missing now
    assert hub("pull", b.name, "-q").returncode == 0  # and back


def test_cache_rm_keeps_a_blob_another_model_uses(nginx, cards, settings):
    data = payload(CHUNK, seed=26)
    a = publish(nginx.root, cards, unique("sharea"), data, base=nginx.url)
    b = publish(nginx.root, cards, unique("shareb"), data, base=nginx.url)
    index(cards, settings=settings)
    assert hub("pull", a.name, "-q").returncode == 0 and hub("pull", b.name, "-q").returncode == 0
    removed = hub("cache", "rm", a.name)
    assert removed.returncode == 0 and "removed 1 file(s)" in removed.stdout and "freed 0 bytes" in removed.stdout
    assert Cache(settings.home).blob_path(b.digest).exists() and hub("verify", b.name).returncode == 0
