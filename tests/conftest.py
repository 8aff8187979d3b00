"""Fixtures every test may use: an isolated HUB_HOME, the loopback servers, the settings library calls take.

Library calls in tests are given a ``Settings`` built here (``settings``, ``net``, ``hf_settings``), changed
with ``settings.but(...)``, never an environment variable: below the edges the hub reads none. The variables
set here are for the edges themselves (the CLI run in-process, ``settings=None`` in a public function) and
keep them off the user's own home.

Helpers shared by several test modules live in ``support/helpers``; no test module imports another.
The public card corpus is read in place from ``../shared/corpus``, never copied.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CORPUS, SEEDS
from helpers.tools import need

from registry.settings import Settings


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set HUB_TEST_SHARED)")
    return CORPUS


@pytest.fixture(scope="session")
def seeds() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seeds not found at {SEEDS} (set HUB_TEST_SHARED)")
    return SEEDS


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own HUB_HOME and registry: the checkout's registry.db is never touched."""
    home = tmp_path_factory.mktemp("hub_home")
    monkeypatch.setenv("HUB_HOME", str(home))
    monkeypatch.setenv("HUB_REGISTRY", str(home / "registry.db"))
    for var in ("HUB_OFFLINE", "HF_HUB_OFFLINE", "HUB_MIRRORS"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def nginx(tmp_path_factory):
    from servers.nginx import Nginx

    need("nginx")
    base = tmp_path_factory.mktemp("nginx")
    server = Nginx(base / "root", base / "work").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hf_server():
    from servers.hfserver import HfServer

    server = HfServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory):
    """Two P-256 key pairs made by openssl: a publisher's and a stranger's."""
    from helpers.signing import keypair

    folder = tmp_path_factory.mktemp("keys")
    return keypair(folder, "publisher"), keypair(folder, "stranger")


@pytest.fixture
def settings(_isolated_home, tmp_path) -> Settings:
    """What this test's library calls are given: its own home, registry and HF cache, only loopback allowed,
    quick retries. A test that needs another knob passes ``settings.but(retries=0)``."""
    return Settings(home=_isolated_home, hf_cache=tmp_path / "hf_home" / "hub", hosts=("127.0.0.1",), retries=2,
                    backoff=0.01, timeout=5)


@pytest.fixture
def hf_env(hf_server, monkeypatch, tmp_path):
    """The HF-compatible server as the Hub huggingface_hub talks to, with an HF cache of the test's own."""
    monkeypatch.setenv("HF_ENDPOINT", hf_server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HUB_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return hf_server


@pytest.fixture
def hf_settings(hf_env, settings) -> Settings:
    """``settings`` with the HF-compatible test server as the Hugging Face endpoint."""
    return settings.but(hf_endpoint=hf_env.url)


@pytest.fixture
def proxy(nginx):
    from servers.faultproxy import FaultProxy

    p = FaultProxy(nginx.url).start()
    yield p
    p.stop()


@pytest.fixture
def net(monkeypatch, settings) -> Settings:
    """``settings`` (only loopback allowed, quick retries), also as the environment of the edges."""
    monkeypatch.setenv("HUB_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HUB_RETRIES", "2")
    monkeypatch.setenv("HUB_BACKOFF", "0.01")
    monkeypatch.setenv("HUB_TIMEOUT", "5")
    return settings


@pytest.fixture
def cards(tmp_path):
    """A folder for the cards a test writes (added to the test's registry by ``helpers.index``)."""
    d = tmp_path / "cards"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory):
    """moto's S3 server, one per test module (each test makes buckets of its own)."""
    from helpers.tools import need_module

    need_module("moto")
    need_module("boto3")
    from servers.s3 import moto

    server = moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def serving():
    """``serving(storage, env, *options)``: ``hub serve`` as its own process on a free port; its URL. Stopped after
    the test."""
    from servers.asgi import free_port, hub_serve

    procs = []

    def start(storage, env, *extra):
        port = free_port()
        procs.append(hub_serve(port, str(storage), env, *extra))
        return f"http://127.0.0.1:{port}"

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)
