"""Team repos written to the mirror with huggingface_hub's own upload API (``create_repo``, ``create_commit``,
``upload_folder``), over the LFS protocol, with a write token.

The steps a client takes, and what each checks here:

1. ``POST /api/repos/create``: a model repo whose name is not a mirrored upstream repo; its first commit holds
   a ``.gitattributes``.
2. ``POST /api/models/{repo}/preupload/{rev}``: per file, LFS or regular (by size, suffix and a NUL in its first
   bytes) and the oid the branch already has, so unchanged files are skipped and an unchanged commit is never
   made.
3. ``POST /{repo}.git/info/lfs/objects/batch``: an upload URL per LFS object the repo lacks, signed with a key
   derived from the write tokens (huggingface_hub sends the bytes without its token), so any replica over the
   same storage accepts it.
4. ``PUT`` of the bytes: at most the signed size, hashed as they arrive, stored only when the sha256 matches.
5. ``POST /api/models/{repo}/commit/{rev}``: NDJSON of small files inline and LFS files by oid (which must be
   stored); a ``parentCommit`` that is no longer the head is refused (412), so a concurrent commit is never lost.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub_client.fetch.digests import is_sha256

from .mirror import Mirror
from .storage import NotFound, ServeError, Snapshot, StoredFile, check_path, check_rev

#: A regular (non-LFS) file is at most this big, as on the Hub; larger files go through LFS.
REGULAR_MAX = 1 << 20
#: The largest commit request (regular files travel inside it, base64).
COMMIT_MAX = 64 << 20
#: Seconds an upload URL stays valid.
URL_TTL = 3600
LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".onnx", ".h5", ".msgpack", ".npz", ".npy",
                ".tar", ".gz", ".zip", ".mindir", ".pkl", ".tflite", ".ot", ".model")
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES)


def git_blob_id(data: bytes) -> str:
    """The id git (and the Hub) gives a small file: sha1 of ``blob <size>\\0`` and the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Upload:
    repo: str
    oid: str
    size: int


class Uploads:
    """The write half of a mirror; ``write_tokens`` sign the upload URLs (so replicas that share them agree)."""

    def __init__(self, mirror: Mirror, write_tokens: list[str], *, max_bytes: int = 64 << 30) -> None:
        self.mirror = mirror
        self.storage = mirror.storage
        self.key = hashlib.sha256(b"hub-serve-uploads\0" + "\0".join(sorted(write_tokens)).encode()).digest()
        self.max_bytes = max_bytes

    # Repos.

    def head(self, repo: str, rev: str = "main") -> Snapshot | None:
        ref = self.storage.ref(repo, check_rev(rev))
        return self.storage.snapshot(repo, ref.sha) if ref else None

    def team_head(self, repo: str, rev: str) -> Snapshot:
        head = self.head(repo, rev)
        if head is None:
            if self.head(repo) is None:
                raise NotFound("RepoNotFound", f"Repository {repo} not found: create it first")
            raise NotFound("RevisionNotFound", f"Invalid rev id: {rev}")
        if not head.team:
            raise ServeError(None, f"{repo} mirrors an upstream repo: uploads go to team repos only", 403)
        return head

    def create(self, repo: str, *, private: bool) -> tuple[bool, Snapshot]:
        """Create ``repo`` with a first commit; (False, its head) when it exists already.

        Raises:
            ServeError: 409 when upstream has a repo of that name (this mirror serves it).
        """
        head = self.head(repo)
        if head is not None:
            return False, head
        if not self.mirror.offline:
            try:
                self.mirror.resolve(repo, None, authed=True)
            except ServeError as e:
                if e.status != 404:
                    raise
            else:
                raise ServeError(None, f"{repo} exists upstream and this mirror serves it: choose another name", 409)
        data = GITATTRIBUTES.encode()
        f = self._store_small(repo, ".gitattributes", data)
        snap = self._snapshot(repo, None, {f.path: f}, "initial commit", gated=private)
        self.mirror.record(snap, "main")
        return True, snap

    def _snapshot(self, repo: str, parent: Snapshot | None, files: dict[str, StoredFile], summary: str, *,
                  gated: bool) -> Snapshot:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"{parent.sha if parent else ''}\n{summary}\n{time.time_ns()}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{files[path].etag}\0{files[path].size}\n".encode())
        ordered = tuple(files[p] for p in sorted(files))
        return Snapshot(repo, digest.hexdigest(), _now(), ordered, gated=gated, team=True)

    def _store_small(self, repo: str, path: str, data: bytes) -> StoredFile:
        etag = git_blob_id(data)
        if self.storage.blob(repo, etag) is None:
            fd, tmp = tempfile.mkstemp(prefix=".hub-serve-", suffix=".incoming", dir=self.storage.scratch(repo))
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            self.storage.add_blob(repo, etag, Path(tmp))
        return StoredFile(path, etag, len(data))

    # Preupload and the LFS batch.

    def preupload(self, repo: str, rev: str, files: Any) -> list[dict[str, Any]]:
        head = self.team_head(repo, rev)
        if not isinstance(files, list) or len(files) > 10_000:
            raise ServeError(None, "preupload wants a list of at most 10,000 files", 400)
        out = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise ServeError(None, "each preupload file needs a path", 400)
            path = check_path(item["path"]).as_posix()
            size = item.get("size")
            try:
                sample = base64.b64decode(str(item.get("sample", "")), validate=True)
            except (ValueError, binascii.Error):
                raise ServeError(None, f"{path}: the sample is not base64", 400) from None
            lfs = (not isinstance(size, int) or size > REGULAR_MAX or path.lower().endswith(LFS_SUFFIXES)
                   or b"\0" in sample)
            stored = head.by_path.get(path)
            out.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": stored.etag if stored else None})
        return out

    def sign(self, repo: str, oid: str, size: int, expires: int) -> str:
        return hmac.new(self.key, f"{repo}\n{oid}\n{size}\n{expires}".encode(), "sha256").hexdigest()

    def batch(self, repo: str, body: Any, base_url: str) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("operation") != "upload":
            raise ServeError(None, "this mirror's LFS endpoint takes uploads only (downloads use resolve)", 400)
        self.team_head(repo, str((body.get("ref") or {}).get("name") or "main"))
        objects = body.get("objects")
        if not isinstance(objects, list) or len(objects) > 1000:
            raise ServeError(None, "objects must be a list of at most 1,000", 400)
        out = []
        expires = int(time.time()) + URL_TTL
        for obj in objects:
            oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
            if not isinstance(oid, str) or not is_sha256(oid) or not isinstance(size, int) or size < 0:
                out.append({"oid": str(oid), "size": size, "error": {"code": 422, "message": "oid must be a sha256 "
                                                                     "and size a byte count"}})
                continue
            if size > self.max_bytes:
                out.append({"oid": oid, "size": size, "error": {"code": 413, "message": f"larger than this "
                                                                f"mirror takes ({self.max_bytes} bytes)"}})
                continue
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if self.storage.blob(repo, oid) is None:
                query = f"size={size}&expires={expires}&sig={self.sign(repo, oid, size, expires)}"
                entry["actions"] = {
                    "upload": {"href": f"{base_url}/api/hub-uploads/{repo}/{oid}?{query}", "expires_in": URL_TTL},
                    "verify": {"href": f"{base_url}/api/hub-uploads/{repo}/{oid}/verify"}}
            out.append(entry)
        return {"transfer": "basic", "objects": out}

    def check_url(self, repo: str, oid: str, query: dict[str, str]) -> Upload:
        """The upload a signed URL allows; refused (403) when the signature is wrong or expired."""
        try:
            size, expires, sig = int(query["size"]), int(query["expires"]), query["sig"]
        except (KeyError, ValueError):
            raise ServeError(None, "not a signed upload URL", 403) from None
        if not is_sha256(oid) or expires < time.time() or not hmac.compare_digest(
                sig, self.sign(repo, oid, size, expires)):
            raise ServeError(None, "the upload URL is not valid (wrong signature, or expired)", 403)
        return Upload(repo, oid, size)

    def scratch(self, up: Upload) -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(prefix=".hub-serve-", suffix=".incoming", dir=self.storage.scratch(up.repo))
        return fd, Path(name)

    def finish(self, up: Upload, tmp: Path, size: int, sha: str) -> None:
        """Store the received file if it is exactly what was announced; otherwise drop it (and say so)."""
        if size != up.size or sha != up.oid:
            tmp.unlink(missing_ok=True)
            raise ServeError(None, f"received {size} bytes with sha256 {sha}; expected {up.size} bytes with "
                             f"sha256 {up.oid}", 400)
        if self.storage.blob(up.repo, up.oid) is None:
            self.storage.add_blob(up.repo, up.oid, tmp)
        else:
            tmp.unlink(missing_ok=True)

    def verify(self, repo: str, oid: str, size: Any) -> None:
        blob = self.storage.blob(repo, oid) if is_sha256(oid) else None
        if blob is None or blob.size != size:
            raise NotFound("EntryNotFound", f"{oid} is not stored (with {size} bytes)")

    # Commits.

    def commit(self, repo: str, rev: str, lines: list[Any]) -> Snapshot:
        """Apply an NDJSON commit to ``rev``'s head and make it the new head.

        Raises:
            ServeError: 400 for a malformed line, 412 for a stale ``parentCommit``, 422 for an LFS file that was
                never uploaded.
        """
        head = self.team_head(repo, rev)
        if not lines or not isinstance(lines[0], dict) or lines[0].get("key") != "header":
            raise ServeError(None, "a commit starts with its header line", 400)
        header = lines[0].get("value") or {}
        parent = header.get("parentCommit")
        if parent and parent != head.sha:
            raise ServeError(None, f"{rev} moved to {head.sha} since {parent}: commit again on the new head", 412)
        files = dict(head.by_path)
        for line in lines[1:]:
            self._apply(repo, files, line)
        summary = str(header.get("summary") or "upload")[:500]
        snap = self._snapshot(repo, head, files, summary, gated=head.gated)
        self.mirror.record(snap, rev)
        return snap

    def _apply(self, repo: str, files: dict[str, StoredFile], line: Any) -> None:
        key, value = (line.get("key"), line.get("value")) if isinstance(line, dict) else (None, None)
        if not isinstance(value, dict) or not isinstance(value.get("path"), str):
            raise ServeError(None, f"a commit line without a path: {str(line)[:100]}", 400)
        path = check_path(value["path"]).as_posix()
        if key == "file":
            if value.get("encoding", "base64") != "base64":
                raise ServeError(None, f"{path}: only base64 content is taken", 400)
            try:
                data = base64.b64decode(str(value.get("content", "")), validate=True)
            except (ValueError, binascii.Error):
                raise ServeError(None, f"{path}: the content is not base64", 400) from None
            files[path] = self._store_small(repo, path, data)
        elif key == "lfsFile":
            oid, size = value.get("oid"), value.get("size")
            blob = self.storage.blob(repo, oid) if isinstance(oid, str) and is_sha256(oid) else None
            if blob is None or blob.size != size:
                raise ServeError(None, f"{path}: LFS object {oid} was not uploaded (with {size} bytes)", 422)
            files[path] = StoredFile(path, str(oid), int(size))
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise ServeError("EntryNotFound", f"{path} is not in the repo", 404)
        elif key == "deletedFolder":
            prefix = path.rstrip("/") + "/"
            for p in [p for p in files if p.startswith(prefix)]:
                del files[p]
        else:
            raise ServeError(None, f"commit operation {key!r} is not one this mirror takes", 400)


def parse_ndjson(body: bytes) -> list[Any]:
    try:
        return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, ValueError) as e:
        raise ServeError(None, f"the commit is not NDJSON ({e})", 400) from None


def repo_of(org: str, name_git: str) -> tuple[str, str]:
    """``org``, ``name.git`` from the LFS route, as the parts ``check_repo`` takes."""
    if not name_git.endswith(".git"):
        raise NotFound("RepoNotFound", "not an LFS endpoint")
    return org, name_git[: -len(".git")]
