"""A small Hugging-Face-Hub-compatible server: the routes huggingface_hub uses to download files.

    GET  /api/models?search=Q[&limit=N]         [{"id", "pipeline_tag", "library_name", "downloads", ...}]
    GET  /api/models/{repo}[/revision/{rev}]    {"id", "sha", "lastModified", "gated", "siblings": [{"rfilename"}]}
                                                (?blobs=true: siblings with "size", "blobId", "lfs")
    GET  /api/models/{repo}/tree/{rev}[/{path}] [{"type", "path", "size", "oid", "lfs": {"oid", "size", ...}}]
    POST /api/models/{repo}/paths-info/{rev}    the tree's entries of the form's ``paths`` (what olah asks)
    HEAD/GET /{repo}/resolve/{rev}/{path}       X-Repo-Commit, ETag (sha256 for LFS files), Content-Length, Range
    404 with X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound

Access as the Hub grants it: a private repo answers 401 RepoNotFound unless the request carries ``token``; a
gated repo shows its metadata and card to anyone, but its other files answer 401 GatedRepo without the token,
and 403 GatedRepo with it until the repo is in ``granted`` (its conditions accepted).

No X-Xet-* header is ever sent, so clients use plain HTTP downloads.

``HfServer(minimal=True)`` answers only what ``snapshot_download`` uses, as a mirror that is not the Hub may:
the revision API lists names alone (``?blobs=true`` is ignored), the tree API gives every file in one page, and
paths-info answers 404. With ``tree=False`` the tree API answers 404 too: only ``/resolve/`` gives addresses.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from .loopback import LoopbackServer

#: Files at least this big, or with a weights suffix, are stored as LFS files (ETag = sha256).
LFS_MIN = 10 * 1024
_WEIGHTS = (".safetensors", ".bin", ".ckpt", ".h5", ".msgpack", ".onnx")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Remote:
    """A big LFS file this server only knows by size and sha256: it is served through a ``cdn`` redirect."""

    size: int
    sha256: str


def _size(v: bytes | Remote) -> int:
    return v.size if isinstance(v, Remote) else len(v)


def _sha256(v: bytes | Remote) -> str:
    return v.sha256 if isinstance(v, Remote) else hashlib.sha256(v).hexdigest()


@dataclass
class Repo:
    files: dict[str, bytes | Remote]
    sha: str = ""
    revisions: dict[str, str] = field(default_factory=dict)
    private: bool = False
    gated: bool = False
    last_modified: str = "2025-03-10T12:00:00.000Z"
    #: Other commits of the repo: sha -> files (a ref in ``revisions`` may point at one).
    history: dict[str, dict[str, bytes | Remote]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(b"".join(k.encode() + _sha256(v).encode() for k, v in sorted(self.files.items())),
                              usedforsecurity=False).hexdigest()
        self.sha = self.sha or digest
        self.revisions.setdefault("main", self.sha)
        self.revisions.setdefault(self.sha, self.sha)


def is_lfs(path: str, data: bytes | Remote) -> bool:
    return isinstance(data, Remote) or len(data) >= LFS_MIN or path.endswith(_WEIGHTS)


class HfServer(LoopbackServer):
    def __init__(self, *, minimal: bool = False, tree: bool = True) -> None:
        self.minimal = minimal
        self.tree = tree
        self.repos: dict[str, Repo] = {}
        #: Paths whose bytes are served with one byte flipped (the ETag stays the true sha256).
        self.corrupt: set[str] = set()
        #: "repo/path" -> absolute URL: LFS files answered with a 302 there, as the real Hub sends to its CDN.
        self.cdn: dict[str, str] = {}
        self.hits: Counter[str] = Counter()
        #: Every request in order, as (method, path): what a client asked before its first file byte.
        self.log: list[tuple[str, str]] = []
        #: The one token this server accepts, and the gated repos whose conditions its account accepted.
        self.token = "hf_loopback_test_token"
        self.granted: set[str] = set()
        super().__init__()

    def add(self, repo_id: str, files: dict[str, bytes | Remote], *, private: bool = False,
            gated: bool = False) -> Repo:
        repo = Repo(dict(files), private=private, gated=gated)
        self.repos[repo_id] = repo
        return repo

    def add_commit(self, repo_id: str, files: dict[str, bytes | Remote], *, ref: str | None = None) -> str:
        """Another commit of an existing repo (not its default branch); a ``ref`` (tag, branch) may name it."""
        repo = self.repos[repo_id]
        sha = Repo(dict(files)).sha
        repo.history[sha] = dict(files)
        repo.revisions[sha] = sha
        if ref:
            repo.revisions[ref] = sha
        return sha

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _error(self, code: int, error_code: str, message: str) -> None:
                body = json.dumps({"error": message}).encode()
                self.send_response(code)
                self.send_header("X-Error-Code", error_code)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, data: object) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _repo(self, parts: list[str]) -> tuple[str, Repo | None]:
                repo_id = "/".join(parts[:2])
                return repo_id, server.repos.get(repo_id)

            def _authorised(self) -> bool:
                return self.headers.get("Authorization", "") == f"Bearer {server.token}"

            def _refused(self, repo_id: str, repo: Repo, file_path: str | None) -> bool:
                """Answer as the Hub does when access is lacking; True when it did."""
                if repo.private and not self._authorised():
                    self._error(401, "RepoNotFound", "Invalid username or password.")
                    return True
                if repo.gated and file_path not in (None, "README.md", ".gitattributes"):
                    if not self._authorised():
                        self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted.")
                        return True
                    if repo_id not in server.granted:
                        self._error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you are not "
                                    "in the authorized list.")
                        return True
                return False

            def _files_at(self, repo: Repo, sha: str) -> dict[str, bytes | Remote]:
                return repo.history.get(sha, repo.files)

            def _search(self) -> None:
                query = dict(p.split("=", 1) for p in urlsplit(self.path).query.split("&") if "=" in p)
                text = unquote(query.get("search", "")).lower()
                limit = int(query.get("limit", "1000"))
                found = [{"id": rid, "modelId": rid, "private": r.private, "downloads": 0, "likes": 0,
                          "pipeline_tag": "image-classification" if "config.json" in r.files else None,
                          "library_name": "transformers" if "config.json" in r.files else None,
                          "lastModified": r.last_modified, "gated": "auto" if r.gated else False}
                         for rid, r in sorted(server.repos.items())
                         if text in rid.lower() and (not r.private or self._authorised())]
                return self._json(found[:limit])

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                server.hits[path] += 1
                server.log.append((self.command, path))
                parts = [p for p in path.split("/") if p]
                if parts[:1] == ["datasets"]:  # one namespace here: olah's health check asks for a dataset's file
                    parts = parts[1:]
                if parts == ["api", "models"]:
                    self._search()
                elif parts[:2] == ["api", "models"]:
                    self._api(parts[2:])
                elif len(parts) >= 5 and parts[2] == "resolve":
                    self._resolve(parts)
                else:
                    self._error(404, "RepoNotFound", f"no route {path}")

            def _api(self, parts: list[str]) -> None:
                repo_id, repo = self._repo(parts)
                if repo is None:
                    return self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
                if self._refused(repo_id, repo, None):
                    return None
                if len(parts) == 2:
                    parts = [*parts, "revision", "main"]
                if len(parts) < 4 or parts[2] not in ("revision", "tree") or not server.tree and parts[2] == "tree":
                    return self._error(404, "RepoNotFound", "unknown api route")
                rev = parts[3]
                sha = repo.revisions.get(rev)
                if sha is None:
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                files = self._files_at(repo, sha)
                if parts[2] == "revision":
                    blobs = "blobs=true" in urlsplit(self.path).query.lower() and not server.minimal
                    return self._json({"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                                       "gated": "auto" if repo.gated else False, "lastModified": repo.last_modified,
                                       "siblings": [self._sibling(p, d, blobs) for p, d in sorted(files.items())]})
                prefix = "/".join(parts[4:])
                return self._json([self._entry(p, data) for p, data in sorted(files.items())
                                   if not prefix or p.startswith(prefix + "/")])

            def _entry(self, p: str, data: bytes | Remote) -> dict[str, object]:
                oid = _sha256(data)[:40] if isinstance(data, Remote) else git_blob_id(data)
                entry: dict[str, object] = {"type": "file", "path": p, "size": _size(data), "oid": oid}
                if is_lfs(p, data):
                    entry["lfs"] = {"oid": _sha256(data), "size": _size(data), "pointerSize": 134}
                return entry

            def do_POST(self) -> None:
                """``/api/models/{repo}/paths-info/{rev}`` (form field ``paths``, repeated): what olah asks."""
                from urllib.parse import parse_qs

                path = unquote(urlsplit(self.path).path)
                server.log.append(("POST", path))
                parts = [p for p in path.split("/") if p]
                if parts[:1] == ["datasets"]:
                    parts = parts[1:]
                length = int(self.headers.get("Content-Length") or 0)
                asked = parse_qs(self.rfile.read(min(length, 1 << 20)).decode()).get("paths", [])
                if len(parts) != 6 or parts[:2] != ["api", "models"] or parts[4] != "paths-info" or server.minimal:
                    return self._error(404, "RepoNotFound", f"no route {path}")
                repo_id, repo = self._repo(parts[2:])
                sha = repo.revisions.get(parts[5]) if repo else None
                if repo is None or sha is None:
                    return self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
                files = self._files_at(repo, sha)
                return self._json([self._entry(p, files[p]) for p in asked if p in files])

            def _sibling(self, path: str, data: bytes | Remote, blobs: bool) -> dict[str, object]:
                """A file as the revision API lists it; with ``?blobs=true`` its size, blob id and LFS facts."""
                if not blobs:
                    return {"rfilename": path}
                oid = _sha256(data)[:40] if isinstance(data, Remote) else git_blob_id(data)
                entry: dict[str, object] = {"rfilename": path, "size": _size(data), "blobId": oid}
                if is_lfs(path, data):
                    entry["lfs"] = {"sha256": _sha256(data), "size": _size(data), "pointerSize": 134}
                return entry

            def _resolve(self, parts: list[str]) -> None:
                repo_id, repo = self._repo(parts)
                if repo is None:
                    return self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
                sha = repo.revisions.get(parts[3])
                if sha is None:
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {parts[3]}")
                file_path = "/".join(parts[4:])
                if self._refused(repo_id, repo, file_path):
                    return None
                data = self._files_at(repo, sha).get(file_path)
                if data is None:
                    return self._error(404, "EntryNotFound", f"{file_path} does not exist on {parts[3]}")
                etag = _sha256(data) if is_lfs(file_path, data) else git_blob_id(data)  # type: ignore[arg-type]
                cdn = server.cdn.get(f"{repo_id}/{file_path}")
                if cdn and is_lfs(file_path, data):
                    self.send_response(302)
                    self.send_header("Location", cdn)
                    self.send_header("X-Repo-Commit", sha)
                    self.send_header("ETag", f'"{etag}"')
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(_size(data)))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if isinstance(data, Remote):
                    return self._error(404, "EntryNotFound", f"{file_path} is only on the CDN")
                served = data
                if f"{repo_id}/{file_path}" in server.corrupt:
                    served = bytes([data[0] ^ 0xFF]) + data[1:]
                start, end, status = 0, len(served) - 1, 200
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    start = int(a) if a else 0
                    end = int(b) if b else len(served) - 1
                    status = 206
                body = served[start : end + 1]
                self.send_response(status)
                self.send_header("X-Repo-Commit", sha)
                self.send_header("ETag", f'"{etag}"')
                if is_lfs(file_path, data):
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(served)}")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        return Handler
