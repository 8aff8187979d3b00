"""The HTTP routes of uploads (``uploads.py``): each wants a write token, except the signed PUT of an LFS
object's bytes, whose URL is its credential (huggingface_hub sends those bytes without a token)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .context import guarded, served
from .storage import ServeError, check_repo
from .uploads import COMMIT_MAX, Upload, Uploads, parse_ndjson, repo_of


def _writer(request: Request) -> None:
    if not getattr(request.state, "writer", False):
        raise ServeError(None, "uploads need a write token (HUB_SERVE_WRITE_TOKENS on the server): "
                         "Authorization: Bearer <token>", 403 if request.state.authed else 401)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ServeError(None, f"the request body is larger than {limit} bytes", 413)
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > limit:
            raise ServeError(None, f"the request body is larger than {limit} bytes", 413)
    return bytes(out)


async def _json(request: Request, limit: int = 8 << 20) -> object:
    import json

    try:
        return json.loads(await _body(request, limit))
    except ValueError:
        raise ServeError(None, "the request body is not JSON", 400) from None


def _need(request: Request) -> Uploads:
    uploads = served(request).uploads
    if uploads is None:
        raise ServeError(None, "this mirror takes no uploads: its operator sets HUB_SERVE_WRITE_TOKENS", 403)
    return uploads


def _admit(request: Request, repo: str, paths: list[str]) -> None:
    """What the mirror's policy lets enter by upload: a name its patterns allow, no file of a refused format (the
    license and signature rules hold when the repo is read, as for any repo).

    Raises:
        Refused: naming the rule.
    """
    rules = served(request).mirror.rules
    if rules is None:
        return
    names = [f"hf:{repo}"]
    rules.check_name(names)
    for path in paths:
        refused = rules.refused_format(names, path)
        if refused is not None:
            raise refused


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def create(request: Request) -> Response:
    _writer(request)
    up = _need(request)
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise ServeError(None, "create wants a name", 400)
    if body.get("type") not in (None, "model"):
        raise ServeError(None, "this mirror holds model repos only", 400)
    org = body.get("organization")
    if not isinstance(org, str) or not org:
        raise ServeError(None, "a repo here needs an organization (org/name)", 400)
    repo = check_repo(org, body["name"])
    _admit(request, repo, [])
    private = body.get("private") is True or body.get("visibility") == "private"
    url = f"{_base(request)}/{repo}"
    try:
        created, _ = await run_in_threadpool(up.create, repo, private=private)
    except ServeError as e:  # huggingface_hub reads a 409 as "exists" and wants its url
        if e.status != 409:
            raise
        return JSONResponse({"error": str(e), "url": url}, status_code=409,
                            headers={"X-Error-Message": str(e)[:300]})
    if not created:
        return JSONResponse({"error": "You already created this model repo", "url": url}, status_code=409)
    return JSONResponse({"url": url, "name": repo, "id": repo})

async def preupload(request: Request) -> Response:
    _writer(request)
    p = request.path_params
    body = await _json(request)
    files = body.get("files") if isinstance(body, dict) else None
    out = await run_in_threadpool(_need(request).preupload, check_repo(p["org"], p["name"]), p["rev"], files)
    return JSONResponse({"files": out})

async def batch(request: Request) -> Response:
    _writer(request)
    org, name = repo_of(request.path_params["org"], request.path_params["name_git"])
    body = await _json(request)
    answer = await run_in_threadpool(_need(request).batch, check_repo(org, name), body, _base(request))
    return JSONResponse(answer, media_type="application/vnd.git-lfs+json")

async def put(request: Request) -> Response:
    p = request.path_params
    up = _need(request).check_url(check_repo(p["org"], p["name"]), p["oid"], dict(request.query_params))
    fd, tmp = await run_in_threadpool(_need(request).scratch, up)
    try:
        size, sha = await _receive(request, up, fd, tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    await run_in_threadpool(_need(request).finish, up, tmp, size, sha)
    return JSONResponse({})

async def verify(request: Request) -> Response:
    _writer(request)
    p = request.path_params
    body = await _json(request)
    size = body.get("size") if isinstance(body, dict) else None
    await run_in_threadpool(_need(request).verify, check_repo(p["org"], p["name"]), p["oid"], size)
    return JSONResponse({})

async def commit(request: Request) -> Response:
    _writer(request)
    p = request.path_params
    lines = parse_ndjson(await _body(request, COMMIT_MAX))
    repo = check_repo(p["org"], p["name"])
    _admit(request, repo, [str(line["value"].get("path")) for line in lines if isinstance(line, dict)
                           and line.get("key") in ("file", "lfsFile") and isinstance(line.get("value"), dict)])
    snap = await run_in_threadpool(_need(request).commit, repo, p["rev"], lines)
    return JSONResponse({"success": True, "commitOid": snap.sha, "commitUrl": f"{_base(request)}/{repo}/commit/"
                         f"{snap.sha}", "commitMessage": "", "pullRequestUrl": None})

async def validate_yaml(request: Request) -> Response:
    body = await _json(request, COMMIT_MAX)
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        raise ServeError(None, "validate-yaml wants the README's content", 400)
    errors, warnings = await run_in_threadpool(card_problems, content)
    answer = {"errors": [{"message": m} for m in errors], "warnings": [{"message": m} for m in warnings]}
    return JSONResponse(answer, status_code=400 if errors else 200)


#: The upload routes; a mirror without write tokens answers them 403, and says why.
ROUTES = [
    Route("/api/validate-yaml", guarded(validate_yaml), methods=["POST"]),
    Route("/api/repos/create", guarded(create), methods=["POST"]),
    Route("/api/models/{org}/{name}/preupload/{rev}", guarded(preupload), methods=["POST"]),
    Route("/api/models/{org}/{name}/commit/{rev}", guarded(commit), methods=["POST"]),
    Route("/{org}/{name_git}/info/lfs/objects/batch", guarded(batch), methods=["POST"]),
    Route("/api/hub-uploads/{org}/{name}/{oid}", guarded(put, token=False), methods=["PUT"]),
    Route("/api/hub-uploads/{org}/{name}/{oid}/verify", guarded(verify), methods=["POST"]),
]


def card_problems(content: str) -> tuple[list[str], list[str]]:
    """A README's metadata as the linter judges it: (errors, warnings), each ``rule: message``."""
    from registry.card.analyze import analyze_text
    from registry.card.diagnostics import Severity
    from registry.record import Dialect

    found = analyze_text(content, path="README.md", dialect=Dialect.HUGGINGFACE).diagnostics
    return ([f"{d.rule}: {d.message}" for d in found if d.severity is Severity.ERROR],
            [f"{d.rule}: {d.message}" for d in found if d.severity is Severity.WARNING])


async def _receive(request: Request, up: Upload, fd: int, tmp: Path) -> tuple[int, str]:
    """The PUT body into ``fd``, hashed as it comes; never more than the signed size."""
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as out:

        def take(chunk: bytes) -> None:  # off the event loop: hashing a large file is CPU work
            digest.update(chunk)
            out.write(chunk)

        async for chunk in request.stream():
            size += len(chunk)
            if size > up.size:
                raise ServeError(None, f"more than the {up.size} bytes announced", 413)
            await run_in_threadpool(take, chunk)
    return size, digest.hexdigest()
