"""What a test needs from the machine: a program (nginx) or a package (the extras). CI installs all of them,
so there a missing one fails the test; elsewhere it skips, saying what to install."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from pathlib import Path

import pytest


def need(tool: str) -> None:
    """A program on PATH (or in /usr/sbin, where Debian puts nginx)."""
    if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run installs it")
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")


def need_module(name: str) -> None:
    """An importable package (an extra's)."""
    if importlib.util.find_spec(name) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run installs every extra")
        pytest.skip(f"{name} is not installed (pip install -e '.[test,mindspore,torch,serve]')")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released), for connection-refused cases."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
