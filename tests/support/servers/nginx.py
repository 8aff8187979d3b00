"""nginx (the Debian package) serving a folder over http and https on 127.0.0.1, with Range, ETag, redirects."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def self_signed(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


class Nginx:
    """``limit_rate``: bytes per second per connection under ``/capped/`` (the same files as at the root), as a
    distant CDN gives one TCP stream."""

    def __init__(self, root: Path, workdir: Path, *, limit_rate: int | None = None,
                 proxies: dict[str, str] | None = None) -> None:
        self.proxies = dict(proxies or {})  #: URL prefix → upstream server, e.g. {"/s3/": "http://127.0.0.1:9000"}
        self.root = root
        self.workdir = workdir
        self.limit_rate = limit_rate
        self.port = free_port()
        self.tls_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.cert: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def start(self) -> Nginx:
        self.root.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed(self.workdir)
        user = "user root;" if os.geteuid() == 0 else ""
        locations = """
            location = /redirect/http { return 302 http://example.com/file.ckpt; }
            location = /redirect/elsewhere { return 302 https://evil.example/file.ckpt; }
            location /redirect/local/ { rewrite ^/redirect/local/(.*)$ /$1 redirect; }
        """
        for prefix, upstream in self.proxies.items():
            host = upstream.split("://", 1)[1].rstrip("/")
            locations += (f"location {prefix} {{ proxy_pass {upstream.rstrip('/')}/; proxy_set_header Host {host}; "
                          "proxy_buffering off; }")
        if self.limit_rate:
            locations += f"location /capped/ {{ alias {self.root}/; limit_rate {int(self.limit_rate)}; }}"
        conf = f"""
        {user}
        worker_processes 2;
        daemon off;
        pid {self.workdir}/nginx.pid;
        error_log {self.workdir}/error.log warn;
        events {{ worker_connections 512; }}
        http {{
            log_format hub '$request_method $uri $status $body_bytes_sent "$http_range"';
            access_log {self.access_log} hub;
            client_body_temp_path {self.workdir}/body;
            proxy_temp_path {self.workdir}/proxy;
            fastcgi_temp_path {self.workdir}/fastcgi;
            uwsgi_temp_path {self.workdir}/uwsgi;
            scgi_temp_path {self.workdir}/scgi;
            sendfile on;
            tcp_nopush on;
            default_type application/octet-stream;
            server {{ listen 127.0.0.1:{self.port}; root {self.root}; {locations} }}
            server {{
                listen 127.0.0.1:{self.tls_port} ssl;
                ssl_certificate {self.cert};
                ssl_certificate_key {key};
                root {self.root};
                {locations}
            }}
        }}
        """
        path = self.workdir / "nginx.conf"
        path.write_text(conf)
        self.proc = subprocess.Popen([NGINX, "-c", str(path), "-p", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.tls_port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def requests_for(self, uri: str) -> list[tuple[str, int, int, str]]:
        """(method, status, body bytes, range header) of every request for ``uri`` so far."""
        time.sleep(0.05)  # nginx writes the log line when the response ends
        out = []
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                method, got_uri, status, sent, rng = line.split(" ", 4)
                if got_uri == uri:
                    out.append((method, int(status), int(sent), rng.strip('"')))
        return out
