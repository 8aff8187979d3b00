"""Network failures told apart: a host that cannot be reached fails at once, naming the host and the settings
that help; what is worth retrying (time-outs, resets) still is."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from helpers import env_settings, index, payload, publish, unique
from helpers.tools import closed_port

from hub_client import pull
from hub_client.fetch import remote
from registry.errors import DownloadError
from registry.network import unreachable


def resolve(spec: str) -> remote.Resolution:
    """The resolution ``spec`` gets with the settings of the test's environment."""
    return remote.resolve(spec, settings=env_settings())


def test_the_kinds_of_failure():
    with pytest.raises(requests.ConnectionError) as refused:
        requests.get(f"http://127.0.0.1:{closed_port()}/x", timeout=5)
    assert "refused" in unreachable(refused.value)
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as e:
            raise requests.ConnectionError("Max retries exceeded") from e
    except requests.ConnectionError as e:
        assert "does not resolve" in unreachable(e)
    assert unreachable(requests.ReadTimeout("read timed out")) is None
    assert unreachable(ConnectionResetError(104, "reset")) is None


@pytest.mark.usefixtures("net")
def test_an_unreachable_host_fails_fast_and_says_what_helps(nginx, cards, monkeypatch):
    monkeypatch.setenv("HUB_RETRIES", "5")
    monkeypatch.setenv("HUB_BACKOFF", "0.5")  # retrying would take 15 s
    dead = f"http://127.0.0.1:{closed_port()}"
    pub = publish(nginx.root, cards, unique("dead"), payload(10_000, seed=60), base=dead)
    index(cards)
    start = time.perf_counter()
    with pytest.raises(DownloadError) as e:
        pull(pub.name)
    assert time.perf_counter() - start < 3
    assert "cannot reach 127.0.0.1" in str(e.value) and "HUB_OFFLINE" in str(e.value) and "HUB_MIRRORS" in str(e.value)
    monkeypatch.setenv("HUB_MIRRORS", nginx.url)  # a mirror that has the file: the dead origin is never needed
    assert pull(pub.name)[0].read_bytes() == pub.data


def test_an_unreachable_hf_endpoint_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("HUB_ALLOWED_HOSTS", "127.0.0.1")
    start = time.perf_counter()
    with pytest.raises(DownloadError) as e:
        resolve("hf:acme/anything")
    assert "cannot reach" in str(e.value) and "HF_ENDPOINT" in str(e.value)
    assert time.perf_counter() - start < 30
