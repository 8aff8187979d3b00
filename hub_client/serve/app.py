"""The mirror's HTTP face: the Hugging Face Hub's download API over an :class:`~hub_client.serve.store.HfStore`.

Unmodified huggingface_hub, transformers and ``hub pull hf:`` work against it with ``HF_ENDPOINT=<its URL>``:

- ``GET /api/models/{org}/{name}[/revision/{rev}]`` (``?blobs=true`` adds sizes, blob ids and LFS facts);
- ``GET /api/models/{org}/{name}/tree/{rev}[/{path}]`` (``?recursive=true``);
- ``HEAD``/``GET /{org}/{name}/resolve/{rev}/{path}``: ``X-Repo-Commit``, the content address as ``ETag`` (and
  ``X-Linked-Etag``/``X-Linked-Size`` for LFS files), ``Range`` and ``If-Range``. No Xet headers are sent, so
  clients use plain HTTP.

Errors carry the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``), which
huggingface_hub turns into its own exceptions. With team tokens set, every route wants ``Authorization:
Bearer <token>``; names from a request are validated before they reach the file system (``store.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from registry.errors import UsageError

from .assets import AssetStore
from .store import HfStore, NotFound, StoredFile, check_path, check_repo

#: The longest request line and header set accepted; anything longer is refused before routing.
MAX_TARGET = 4096


class _Blob(FileResponse):
    chunk_size = 1 << 20  # a 1 GiB file in 1,024 sends, not 16,384


def _pointer_oid(f: StoredFile) -> str:
    """The git blob id of the LFS pointer file the Hub lists as an LFS file's ``blobId``."""
    text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{f.etag}\nsize {f.size}\n".encode()
    return hashlib.sha1(b"blob %d\0" % len(text) + text, usedforsecurity=False).hexdigest()


def _sibling(f: StoredFile, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": f.path}
    out: dict[str, Any] = {"rfilename": f.path, "size": f.size, "blobId": _pointer_oid(f) if f.lfs else f.etag}
    if f.lfs:
        out["lfs"] = {"sha256": f.etag, "size": f.size, "pointerSize": 134}
    return out


def _entry(f: StoredFile) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "path": f.path, "size": f.size,
                           "oid": _pointer_oid(f) if f.lfs else f.etag}
    if f.lfs:
        out["lfs"] = {"oid": f.etag, "size": f.size, "pointerSize": 134}
    return out


def _error(status: int, code: str | None, message: str) -> JSONResponse:
    # A header carries printable ASCII only: what came from the request is escaped, and kept short.
    shown = "".join(c if 32 <= ord(c) < 127 else c.encode("unicode_escape").decode("ascii") for c in message)[:300]
    headers = {"X-Error-Code": code, "X-Error-Message": shown} if code else {"X-Error-Message": shown}
    return JSONResponse({"error": shown}, status_code=status, headers=headers)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def create_app(store: HfStore, *, tokens: Iterable[str] = (), assets: AssetStore | None = None) -> Starlette:
    """The ASGI app serving ``store`` (and ``assets``, MindSpore Hub files under their upstream paths); with
    ``tokens``, only requests bearing one of them are answered."""
    allowed = [t.encode() for t in tokens if t]

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            if len(request.url.path) + len(request.url.query) > MAX_TARGET:
                return _error(414, None, "request target too long")
            if allowed:
                given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
                if not any(hmac.compare_digest(given, t) for t in allowed):
                    return _error(401, None, "a valid team token is needed: Authorization: Bearer <token>")
            try:
                return await handler(request)
            except NotFound as e:
                return _error(404, e.code, str(e))
            except UsageError as e:
                return _error(400, None, str(e))

        return run

    async def model_info(request: Request) -> Response:
        p = request.path_params
        repo = check_repo(p["org"], p["name"])
        sha = store.commit(repo, p.get("rev"))
        blobs = _flag(request, "blobs")
        return JSONResponse({"id": repo, "modelId": repo, "sha": sha, "private": False, "gated": False,
                             "lastModified": store.last_modified(repo, sha),
                             "siblings": [_sibling(f, blobs) for f in store.files(repo, sha)]})

    async def tree(request: Request) -> Response:
        p = request.path_params
        repo = check_repo(p["org"], p["name"])
        sha = store.commit(repo, p["rev"])
        prefix = check_path(p["path"].strip("/")).as_posix() if p.get("path", "").strip("/") else ""
        recursive = _flag(request, "recursive")
        entries: list[dict[str, Any]] = []
        folders: set[str] = set()
        for f in store.files(repo, sha):
            if prefix and not f.path.startswith(prefix + "/"):
                continue
            rest = f.path[len(prefix) + 1:] if prefix else f.path
            if recursive or "/" not in rest:
                entries.append(_entry(f))
            else:
                folders.add(f"{prefix}/{rest.split('/', 1)[0]}" if prefix else rest.split("/", 1)[0])
        if prefix and not entries and not folders:
            raise NotFound("EntryNotFound", f"{prefix} does not exist on {sha}")
        entries += [{"type": "directory", "path": d, "oid": ""} for d in sorted(folders)]
        return JSONResponse(entries)

    async def resolve(request: Request) -> Response:
        p = request.path_params
        repo = check_repo(p["org"], p["name"])
        sha = store.commit(repo, p["rev"])
        f = store.file(repo, sha, p["path"])
        headers = {"X-Repo-Commit": sha, "ETag": f'"{f.etag}"'}
        if f.lfs:
            headers.update({"X-Linked-Etag": f'"{f.etag}"', "X-Linked-Size": str(f.size)})
        return _Blob(f.blob, headers=headers, media_type="application/octet-stream")

    async def asset(request: Request) -> Response:
        if assets is None:
            raise NotFound("EntryNotFound", "this mirror holds no MindSpore Hub assets")
        digest = request.path_params.get("digest")
        f = assets.blob(digest) if digest is not None else assets.at(request.url.path)
        return _Blob(f.blob, headers={"ETag": f'"{f.etag}"'}, media_type="application/octet-stream")

    routes = [
        Route("/blobs/sha256/{digest}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/toolkits/{rest:path}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/models/{rest:path}", guarded(asset), methods=["GET", "HEAD"]),
        Route("/api/models/{org}/{name}", guarded(model_info), methods=["GET"]),
        Route("/api/models/{org}/{name}/revision/{rev:path}", guarded(model_info), methods=["GET"]),
        Route("/api/models/{org}/{name}/tree/{rev}", guarded(tree), methods=["GET"]),
        Route("/api/models/{org}/{name}/tree/{rev}/{path:path}", guarded(tree), methods=["GET"]),
        Route("/{org}/{name}/resolve/{rev}/{path:path}", guarded(resolve), methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)
