"""One bound on every network wait: a host that accepts connections and never answers costs at most
``HUB_TIMEOUT`` per try and ``HUB_RETRIES`` tries, and every command says so in one line, with no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from helpers import ROOT
from helpers.tools import closed_port


def hub(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "hub_client.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - start


@pytest.fixture
def silent():
    """A port that accepts connections (the kernel completes the handshake) and never sends a byte."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


BOUND = {"HUB_TIMEOUT": "1", "HUB_RETRIES": "1", "HUB_BACKOFF": "0.01", "HUB_ALLOWED_HOSTS": "127.0.0.1"}


@pytest.mark.parametrize("args", [("search", "--hf", "convnext"), ("info", "hf:acme/never-seen"),
                                  ("pull", "hf:acme/never-seen")])
def test_a_silent_endpoint_ends_within_the_bound(silent, args, tmp_path):
    done, took = hub(*args, env={**BOUND, "HF_ENDPOINT": silent, "HUB_HOME": str(tmp_path)})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "timed out" in done.stderr.lower() or "read" in done.stderr.lower(), done.stderr
    assert took < 1 * 2 * 2 + 6, took  # time-out x tries, for connect and read, plus start-up


@pytest.mark.parametrize("args", [("search", "--hf", "convnext"), ("info", "hf:acme/never-seen")])
def test_a_closed_port_is_one_clear_line(args, tmp_path):
    done, _ = hub(*args, env={**BOUND, "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "HUB_HOME": str(tmp_path)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "connection refused" in done.stderr, done.stderr
