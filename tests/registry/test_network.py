"""Network failures told apart: a host that cannot be reached fails at once, naming the host and the settings
that help; what is worth retrying (time-outs, resets) still is."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from helpers import index, payload, publish, unique
from helpers.tools import closed_port

from hub_client import pull
from hub_client.fetch import remote
from registry.errors import DownloadError
from registry.network import unreachable


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


def test_an_unreachable_host_fails_fast_and_says_what_helps(nginx, cards, net):
    net = net.but(retries=5, backoff=0.5)  # retrying would take 15 s
    dead = f"http://127.0.0.1:{closed_port()}"
    pub = publish(nginx.root, cards, unique("dead"), payload(10_000, seed=60), base=dead)
    index(cards, settings=net)
    start = time.perf_counter()
    with pytest.raises(DownloadError) as e:
        pull(pub.name, settings=net)
    assert time.perf_counter() - start < 3
    assert "cannot reach 127.0.0.1" in str(e.value) and "HUB_OFFLINE" in str(e.value) and "HUB_MIRRORS" in str(e.value)
    net = net.but(mirrors=(nginx.url,))  # a mirror that has the file: the dead origin is never needed
    assert pull(pub.name, settings=net)[0].read_bytes() == pub.data


def test_an_unreachable_hf_endpoint_is_a_clear_error(settings):
    start = time.perf_counter()
    with pytest.raises(DownloadError) as e:
        remote.resolve("hf:acme/anything", settings=settings.but(hf_endpoint=f"http://127.0.0.1:{closed_port()}"))
    assert "cannot reach" in str(e.value) and "HF_ENDPOINT" in str(e.value)
    assert time.perf_counter() - start < 30
