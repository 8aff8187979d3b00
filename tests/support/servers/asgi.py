"""An ASGI app (``hub serve``'s) on uvicorn in a thread of the test, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AsgiServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.server.started:
            raise RuntimeError("uvicorn did not start within 10 s")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def hub_serve(port: int, storage: str, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    """``hub serve`` as its own process on ``port``, returned once it answers; its stderr is kept for errors."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "serve", "--port", str(port), "--storage",
                             storage, *extra], cwd=root, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/models/x/y", timeout=2)
            return proc
        except requests.ReadTimeout:  # it listens, and is asking an upstream that does not answer
            return proc
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "hub serve exited") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("hub serve did not start within 30 s")
