"""An HTTP proxy in front of an upstream on loopback that misbehaves on request.

Faults (each applies to the next responses until cleared): answer a scripted
status first (500, 429 with Retry-After, ...), cut the connection after N body
bytes, stall for S seconds after N bytes, flip one byte, ignore Range (answer 200
with the whole file), throttle to a rate. It counts the body bytes it sends.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .loopback import LoopbackServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class Faults:
    statuses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    cut_after: int | None = None
    cut_times: int = 1
    stall_after: int | None = None
    stall_seconds: float = 0.0
    stall_times: int = 1
    flip_at: int | None = None
    ignore_range: bool = False
    fake_length: int | None = None  # announce this Content-Length, whatever is sent
    rate: float | None = None  # bytes per second, per response
    #: The cut, flip and ignore_range faults spare this many requests first (a download's probe, say).
    after_requests: int = 0
    #: More requests than this in flight at once are answered 503 with Retry-After: 0 (a server's connection cap).
    max_concurrent: int | None = None


class FaultProxy(LoopbackServer):
    def __init__(self, upstream: str) -> None:
        u = urlsplit(upstream)
        self.upstream_host = u.hostname or "127.0.0.1"
        self.upstream_port = u.port or 80
        self.faults = Faults()
        self.lock = threading.Lock()
        self.body_bytes = 0
        self.requests: list[tuple[str, str, str | None]] = []
        self.in_flight = 0
        self.peak = 0  # the most requests in flight at once
        self.refused = 0
        super().__init__()

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.body_bytes = 0
            self.requests.clear()
            self.refused = 0
            self.peak = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._forward()

            def do_GET(self) -> None:
                self._forward()

            def _forward(self) -> None:
                with proxy.lock:
                    proxy.in_flight += 1
                    proxy.peak = max(proxy.peak, proxy.in_flight)
                try:
                    self._forward_counted()
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def _forward_counted(self) -> None:
                f = proxy.faults
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, self.headers.get("Range")))
                    scripted = f.statuses.pop(0) if f.statuses else None
                    if scripted is None and f.max_concurrent is not None and proxy.in_flight > f.max_concurrent:
                        scripted = (503, {"Retry-After": "0"})
                        proxy.refused += 1
                    spared = len(proxy.requests) <= f.after_requests
                if spared:  # this request is served as it is
                    f = Faults(rate=f.rate)
                if scripted is not None:
                    status, headers = scripted
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
                if f.ignore_range:
                    headers = {k: v for k, v in headers.items() if k.lower() not in ("range", "if-range")}
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                conn.request(self.command, self.path, headers=headers)
                up = conn.getresponse()
                self.send_response(up.status)
                for k, v in up.getheaders():
                    if k.lower() == "content-length" and f.fake_length is not None:
                        v = str(f.fake_length)
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if self.command == "HEAD":
                    conn.close()
                    return
                self._body(up, f)
                conn.close()

            def _body(self, up: http.client.HTTPResponse, f: Faults) -> None:
                sent = 0
                start = time.monotonic()
                while True:
                    block = up.read(64 * 1024)
                    if not block:
                        return
                    if f.flip_at is not None and sent <= f.flip_at < sent + len(block):
                        i = f.flip_at - sent
                        block = block[:i] + bytes([block[i] ^ 0xFF]) + block[i + 1 :]
                    if f.cut_after is not None and f.cut_times > 0 and sent + len(block) > f.cut_after:
                        self._send(block[: f.cut_after - sent])
                        with proxy.lock:
                            f.cut_times -= 1
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    try:
                        if (f.stall_after is not None and f.stall_times > 0
                                and sent <= f.stall_after < sent + len(block)):
                            with proxy.lock:
                                f.stall_times -= 1
                            i = f.stall_after - sent
                            self._send(block[:i])
                            self.wfile.flush()
                            time.sleep(f.stall_seconds)  # the client's read timeout fires meanwhile
                            self._send(block[i:])
                        else:
                            self._send(block)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    sent += len(block)
                    if f.rate:
                        ahead = sent / f.rate - (time.monotonic() - start)
                        if ahead > 0:
                            time.sleep(ahead)

            def _send(self, data: bytes) -> None:
                if data:
                    self.wfile.write(data)
                    with proxy.lock:
                        proxy.body_bytes += len(data)

        return Handler
