"""Network failures told apart: a host that cannot be reached at all is not worth retrying, a flaky one is."""

from __future__ import annotations

import socket


def unreachable(error: BaseException) -> str | None:
    """Why a host cannot be reached at all, in words, when that is the error: its name does not resolve, or
    nothing listens where it points. None for the errors worth retrying (time-outs, resets, cuts)."""
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return "its name does not resolve (no network, or a wrong host)"
        if isinstance(e, ConnectionRefusedError):
            return "nothing accepts connections there (connection refused)"
        linked = [e.__cause__, e.__context__, getattr(e, "reason", None), *getattr(e, "args", ())]
        stack.extend(x for x in linked if isinstance(x, BaseException))
    return None
