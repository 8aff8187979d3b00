"""What the mirror tells its operators: ``/metrics`` in Prometheus' text format (``prometheus_client``, every name
prefixed ``hub_``) and an audit log of who fetched what (JSON lines).

Requests are counted by one ASGI wrapper around the whole app (fast path included), labelled by the kind of
route, never by the raw path, so the number of series stays bounded whatever clients ask. The rest (hits,
misses, upstream transfers, evictions, policy refusals) is read at scrape time from the tallies the serving
parts keep (``tally.py``). The audit log names a client by the sha256 of its token (its first 12 hex digits),
never by the token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .fastpath import Receive, Scope, Send
from .fetches import Fetches, file_key
from .tally import Tally

#: (label, test on the path), first match wins: a bounded set of route kinds.
_KINDS: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("metrics", lambda p: p[1:] == ["metrics"]),
    ("api", lambda p: p[1:2] == ["api"]),
    ("file", lambda p: len(p) > 4 and p[3] == "resolve"),
    ("asset", lambda p: p[1:2] in (["toolkits"], ["models"], ["blobs"])),
    ("web", lambda p: p[1:] == [""] or p[1:2] in (["m"], ["c"])),
]


def route_kind(path: str) -> str:
    """The kind of route a path is (``file``, ``api``, ``asset``, ``web``, ``metrics``; ``other`` else)."""
    parts = path.split("/")
    return next((kind for kind, test in _KINDS if test(parts)), "other")


def who(authorization: bytes) -> str:
    """How the audit log names a client: the first 12 hex digits of its token's sha256, or ``anonymous``."""
    token = authorization.removeprefix(b"Bearer ").strip()
    return f"token:{hashlib.sha256(token).hexdigest()[:12]}" if token else "anonymous"


class Metrics:
    """The mirror's Prometheus registry: request counters kept here, the rest collected from ``tallies``
    (``{"hf": mirror.tally, "asset": assets.tally, "storage": storage.tally, "policy": policy.tally}``) and
    ``in_flight`` (files on their way in now) when scraped."""

    def __init__(self, tallies: dict[str, Tally], in_flight: Callable[[], int]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("hub_requests", "Requests answered, by kind of route and HTTP status.",
                                ["route", "status"], registry=self.registry)
        self.sent = Counter("hub_served_bytes", "Bytes of response bodies sent to clients, by kind of route.",
                            ["route"], registry=self.registry)
        Gauge("hub_inflight_transfers", "Files on their way in from upstream now.",
              registry=self.registry).set_function(in_flight)
        self.registry.register(_Tallies(tallies))

    def text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Tallies:
    """A prometheus_client collector over the tallies: each count a ``hub_*_total`` counter."""

    COUNTERS = {  # tally name -> (metric, help)
        "hits": ("hub_cache_hits", "Files served from storage, by source (hf: Hugging Face, asset: MindSpore Hub)."),
        "misses": ("hub_cache_misses", "Files asked for that storage lacked, by source."),
        "upstream_transfers": ("hub_upstream_transfers", "Transfers started from upstream, by source."),
        "upstream_bytes": ("hub_upstream_bytes", "Bytes fetched from upstream and stored, by source."),
        "evictions": ("hub_evictions", "Blobs removed to keep storage under its size cap."),
        "evicted_bytes": ("hub_evicted_bytes", "Bytes freed by evictions."),
    }

    def __init__(self, tallies: dict[str, Tally]) -> None:
        self.tallies = tallies

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        families = {name: CounterMetricFamily(metric, doc, labels=["source"])
                    for name, (metric, doc) in self.COUNTERS.items()}
        refusals = CounterMetricFamily("hub_policy_refusals", "Requests the mirror's policy refused, by rule.",
                                       labels=["rule"])
        for source, tally in self.tallies.items():
            for name, value in tally.snapshot().items():
                if name.startswith("refused:"):
                    refusals.add_metric([name.removeprefix("refused:")], value)
                elif name in families:
                    families[name].add_metric([source], value)
        yield from families.values()
        yield refusals


class Observed:
    """An ASGI app: ``app`` with every request counted in ``metrics`` and, with ``audit``, appended to the audit
    log as one JSON line (time, client, method, path, status, bytes sent); each whole file sent is counted in
    ``fetches`` (``fetches.py``)."""

    def __init__(self, app: Any, metrics: Metrics, audit: Path | None = None, fetches: Fetches | None = None
                 ) -> None:
        self.app = app
        self.metrics = metrics
        self.fetches = fetches
        self._audit = open(audit, "a", encoding="utf-8", buffering=1) if audit else None  # noqa: SIM115 - lives
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, sent, length, done = 0, 0, 0, False

        async def counted(message: Any) -> None:
            nonlocal status, sent, length, done
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                length = int(dict(message.get("headers", [])).get(b"content-length", b"0") or 0)
            elif kind == "http.response.body":
                sent += len(message.get("body", b""))
            elif kind in ("http.response.zerocopysend", "http.response.pathsend"):  # the server sends the file
                sent += length
            last = kind != "http.response.start" and not message.get("more_body", False)
            if last and not done:  # counted before the client has the last byte: a scrape after it sees it
                done = True
                self._record(scope, status, sent)
                self._fetched(scope, status)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            if not done:  # the client went away, or the app failed, before the answer was complete
                self._record(scope, status, sent)

    def _fetched(self, scope: Scope, status: int) -> None:
        """A whole file sent (no range, or one from its first byte) is one fetch of it."""
        if self.fetches is None or scope["method"] != "GET" or status not in (200, 206):
            return
        key = file_key(scope["path"])
        asked = next((v for k, v in scope["headers"] if k == b"range"), b"").replace(b" ", b"")
        if key is not None and (not asked or asked.startswith(b"bytes=0-")):
            self.fetches.add(key, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def _record(self, scope: Scope, status: int, sent: int) -> None:
        route = route_kind(scope["path"])
        self.metrics.requests.labels(route, str(status)).inc()
        self.metrics.sent.labels(route).inc(sent)
        if self._audit is None:
            return
        auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        line = json.dumps({"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "who": who(auth),
                           "method": scope["method"], "path": scope["path"], "status": status, "bytes": sent},
                          ensure_ascii=False)
        with self._lock:
            self._audit.write(line + "\n")


async def metrics_page(request: Request) -> Response:
    """``/metrics``: the counters in Prometheus' text format."""
    body, content_type = request.app.state.metrics.text()
    return Response(body, media_type=content_type)
