"""What every route of the mirror shares: the served mirror (on the app's state), the guard that checks the
request's size and token and turns errors into the Hub's answers, and a repo's revision resolved.

The handlers are module-level functions of the request alone (``routes.py``, ``web.py``, ``writes.py``); what
they serve is on ``request.app.state.served``, put there once by ``create_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.errors import UsageError

from .answers import bearer_in
from .fetches import Fetches
from .mirror import Mirror, Resolved
from .rules import Refused
from .storage import ServeError, check_repo

if TYPE_CHECKING:
    from .assets import AssetStore
    from .s3 import BucketAssets
    from .uploads import Uploads

#: The longest request line and header set accepted; anything longer is refused before routing.
MAX_TARGET = 4096

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Served:
    """What one app serves: the mirror, its MindSpore Hub assets, team uploads, and who may read and write."""

    mirror: Mirror
    assets: AssetStore | BucketAssets | None
    uploads: Uploads | None
    readers: list[bytes]
    writers: list[bytes]
    #: Tree entries per page of a listing.
    page_size: int
    #: How often each file was fetched through the mirror (the catalogue page's downloads).
    fetches: Fetches


def served(request: Request) -> Served:
    return request.app.state.served  # type: ignore[no-any-return]


def error(status: int, code: str | None, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as the Hub answers it: JSON, ``X-Error-Code`` (which huggingface_hub maps to its exceptions) and
    ``X-Error-Message``."""
    # A header carries printable ASCII only: what came from the request is escaped, and kept short.
    shown = "".join(c if 32 <= ord(c) < 127 else c.encode("unicode_escape").decode("ascii") for c in message)[:300]
    sent = {**(headers or {}), "X-Error-Message": shown}
    if code:
        sent["X-Error-Code"] = code
    return JSONResponse({"error": shown}, status_code=status, headers=sent)


def guarded(handler: Handler, *, token: bool = True) -> Handler:
    """``handler`` behind the checks every route has: the request's size, the team token (unless ``token`` is
    False: a signed upload URL is its own credential), and errors turned into answers."""

    async def run(request: Request) -> Response:
        if len(request.url.path) + len(request.url.query) > MAX_TARGET:
            return error(414, None, "request target too long")
        s = served(request)
        given = request.headers.get("authorization", "").encode()
        request.state.writer = bearer_in(given, s.writers)
        request.state.authed = request.state.writer or bearer_in(given, s.readers)
        if token and s.readers and not request.state.authed:
            return error(401, None, "a valid team token is needed: Authorization: Bearer <token>")
        try:
            return await handler(request)
        except Refused as e:
            count_refusal(request, e)
            return error(e.status, e.code, str(e))
        except ServeError as e:
            return error(e.status, e.code, str(e), {"Content-Range": "bytes */*"} if e.status == 416 else None)
        except UsageError as e:
            return error(400, None, str(e))

    return run


def count_refusal(request: Request, e: Refused) -> None:
    """One more refusal of ``e``'s rule on ``/metrics``."""
    rules = served(request).mirror.rules
    if rules is not None:
        rules.tally.add(f"refused:{e.rule}")


async def resolved(request: Request, rev: str | None) -> Resolved:
    """The request's repo (``{org}/{name}``) at ``rev``: from memory when fresh, else asked in a thread."""
    mirror = served(request).mirror
    p = request.path_params
    repo = check_repo(p["org"], p["name"])
    hot = mirror.cached(repo, rev, authed=request.state.authed)
    if hot is not None:
        return hot
    return await run_in_threadpool(mirror.resolve, repo, rev, authed=request.state.authed)
