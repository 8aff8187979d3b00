"""The two requests a cluster makes most, answered before routing when memory alone knows the answer: ``HEAD``
of a file (``/{org}/{name}/resolve/{rev}/{path}``) and a repo's info (``GET /api/models/{org}/{name}``).

Under 64 concurrent clients a mirror's latency is its queue: every microsecond of routing and request objects
is paid by every client in line (``python -m bench.serve`` measures the p99). So these two skip Starlette when
``Mirror.cached`` has the snapshot, with the same token check, the same name checks and the same headers and body
(``file_headers``, ``model_info_body``); anything else (a miss, an error, another route or method) goes to the app,
which answers it in full.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from registry.errors import UsageError

from .answers import bearer_in, file_headers, model_info_body
from .mirror import Mirror
from .storage import ServeError, Snapshot, check_path, check_repo

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
#: Encoded info bodies kept (a snapshot's JSON is immutable); past this many the memo starts again.
MEMO = 1024


class FastPath:
    """An ASGI app: ``app`` behind the fast answers."""

    def __init__(self, app: Any, mirror: Mirror, tokens: list[bytes]) -> None:
        self.app = app
        self.mirror = mirror
        self.tokens = tokens
        self._bodies: dict[tuple[str, str, bool], bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("HEAD", "GET"):
            try:
                answer = self._answer(scope)
            except (ServeError, UsageError):
                answer = None  # the app says what is wrong, in full
            if answer is not None:
                headers, body = answer
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _authed(self, scope: Scope) -> bool | None:
        """True/False for a client with/without a valid token; None when tokens are set and it has none valid."""
        valid = bearer_in(next((v for k, v in scope["headers"] if k == b"authorization"), b""), self.tokens)
        return None if self.tokens and not valid else valid

    def _answer(self, scope: Scope) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        raw = scope.get("raw_path") or scope["path"].encode()
        if len(raw) + len(scope.get("query_string", b"")) > 1024:
            return None  # long targets go to the app, which bounds them
        parts = raw.decode("latin-1").split("/")
        if scope["method"] == "HEAD" and len(parts) >= 6 and parts[3] == "resolve" and parts[0] == "":
            return self._head(scope, parts)
        if (scope["method"] == "GET" and len(parts) == 5 and parts[1:3] == ["api", "models"]
                and scope.get("query_string", b"") in (b"", b"blobs=true", b"blobs=True", b"blobs=1")):
            return self._info(scope, parts)
        return None

    def _head(self, scope: Scope, parts: list[str]) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        authed = self._authed(scope)
        if authed is None:
            return None
        repo = check_repo(parts[1], parts[2])
        hot = self.mirror.cached(repo, unquote(parts[4]), authed=authed)
        if hot is None:
            return None
        f = hot.snapshot.by_path.get(check_path("/".join(unquote(p) for p in parts[5:])).as_posix())
        if f is None:
            return None
        headers = [(k.lower().encode(), v.encode()) for k, v in file_headers(hot, f).items()]
        return [*headers, (b"content-length", str(f.size).encode()),
                (b"content-type", b"application/octet-stream")], b""

    def _info(self, scope: Scope, parts: list[str]) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        authed = self._authed(scope)
        if authed is None:
            return None
        hot = self.mirror.cached(check_repo(parts[3], parts[4]), None, authed=authed)
        if hot is None:
            return None
        blobs = scope.get("query_string", b"") != b""
        body = self._body(hot.snapshot, blobs)
        return [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")], body

    def _body(self, snap: Snapshot, blobs: bool) -> bytes:
        key = (snap.repo, snap.sha, blobs)
        body = self._bodies.get(key)
        if body is None:
            if len(self._bodies) >= MEMO:
                self._bodies.clear()
            body = self._bodies[key] = model_info_body(snap, blobs)
        return body
