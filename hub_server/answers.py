"""What the mirror says of a repo and its files, as the Hub says it: the pure functions behind the app's routes
and its fast path (``fastpath.py``), so both answer alike byte for byte."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .mirror import Resolved
from .storage import Snapshot, StoredFile


def bearer_in(authorization: bytes, tokens: list[bytes]) -> bool:
    """Whether an ``Authorization`` header carries one of ``tokens`` as a bearer token (compared in constant
    time): the one check of the app's routes and of its fast path."""
    given = authorization.removeprefix(b"Bearer ")
    return bool(given) and any(hmac.compare_digest(given, t) for t in tokens)


def pointer_oid(f: StoredFile) -> str:
    """The git blob id of the LFS pointer file the Hub lists as an LFS file's ``blobId``."""
    text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{f.etag}\nsize {f.size}\n".encode()
    return hashlib.sha1(b"blob %d\0" % len(text) + text, usedforsecurity=False).hexdigest()


def sibling(f: StoredFile, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": f.path}
    out: dict[str, Any] = {"rfilename": f.path, "size": f.size, "blobId": pointer_oid(f) if f.lfs else f.etag}
    if f.lfs:
        out["lfs"] = {"sha256": f.etag, "size": f.size, "pointerSize": 134}
    return out


def entry(f: StoredFile) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "path": f.path, "size": f.size,
                           "oid": pointer_oid(f) if f.lfs else f.etag}
    if f.lfs:
        out["lfs"] = {"oid": f.etag, "size": f.size, "pointerSize": 134}
    return out


def model_info_body(snap: Snapshot, blobs: bool) -> bytes:
    """``GET /api/models/{repo}``'s JSON, as the Hub writes it (and huggingface_hub's ``ModelInfo`` reads it)."""
    private = snap.team and snap.gated  # a team repo created private; upstream's gating is "gated"
    return json.dumps({"id": snap.repo, "modelId": snap.repo, "sha": snap.sha, "private": private,
                       "gated": "auto" if snap.gated and not private else False, "lastModified": snap.last_modified,
                       "siblings": [sibling(f, blobs) for f in snap.files]}, separators=(",", ":"),
                      ensure_ascii=False).encode()


def file_headers(resolved: Resolved, f: StoredFile) -> dict[str, str]:
    headers = {"X-Repo-Commit": resolved.snapshot.sha, "ETag": f'"{f.etag}"', "Accept-Ranges": "bytes"}
    if f.lfs:
        headers.update({"X-Linked-Etag": f'"{f.etag}"', "X-Linked-Size": str(f.size)})
    if resolved.stale:
        headers["X-Hub-Stale"] = resolved.stale
    return headers
