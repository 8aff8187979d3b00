"""The CLI's hints: what to run next, added to a library error's facts, from one table.

Library errors say what is wrong (expected, actual, where); only the CLI knows its own commands and options,
so the "see `hub list`" and "run `hub lint`" parts live here, as huggingface_hub's ``cli/_errors.py`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from registry.errors import (
    CheckpointError,
    DamagedFileError,
    DeviceUnavailableError,
    HubError,
    InvalidCardError,
    NoLoaderError,
    RegistryError,
    UnknownModelError,
    UnsafeURLError,
)


def _unknown(e: HubError) -> str | None:
    assert isinstance(e, UnknownModelError)
    if e.suggestions:
        return None
    return "see `hub search --hf`" if e.name.startswith(("hf:", "hf-hub:")) else "see `hub list` or `hub search`"


def _invalid(e: HubError) -> str | None:
    assert isinstance(e, InvalidCardError)
    return f"run `hub lint {e.path}` for every problem"


def _unsafe(e: HubError) -> str | None:
    assert isinstance(e, UnsafeURLError)
    return "pass --allow-http to accept it" if e.plain_http else None


def _registry(e: HubError) -> str | None:
    return "if the file is damaged, move it away and run `hub index --rebuild`"


def _device(e: HubError) -> str | None:
    return "choose one with --device, or another --backend"


def _no_loader(e: HubError) -> str | None:
    assert isinstance(e, NoLoaderError)
    return f"`hub info {e.name}` shows what the card declares"


def _damaged(e: HubError) -> str | None:
    assert isinstance(e, DamagedFileError)
    return f"run `hub verify {e.name} --repair` (or `hub pull {e.name}`) to fetch it again"


def _checkpoint(e: HubError) -> str | None:
    assert isinstance(e, CheckpointError)
    if e.missing or e.unexpected or e.mismatched:
        return "`hub info NAME` shows the model the card names and the files it declares"
    return "`hub verify NAME` checks the file against its card"


#: Most specific first: the first class an error is an instance of gives its hint.
HINTS: list[tuple[type[HubError], Callable[[HubError], str | None]]] = [
    (UnknownModelError, _unknown),
    (InvalidCardError, _invalid),
    (UnsafeURLError, _unsafe),
    (RegistryError, _registry),
    (DeviceUnavailableError, _device),
    (NoLoaderError, _no_loader),
    (DamagedFileError, _damaged),
    (CheckpointError, _checkpoint),
]


def hint_for(e: HubError) -> str | None:
    """The next step for a user at the command line, or None when the message says all there is."""
    for cls, make in HINTS:
        if isinstance(e, cls):
            return make(e)
    return None


_LONG = re.compile(r"\S{241,}")


def shorten(text: str) -> str:
    """Any single word over 240 characters (a pasted blob, a runaway path) cut in the middle, so a message
    stays readable whatever the user passed in."""
    return _LONG.sub(lambda m: f"{m[0][:160]}…({len(m[0]) - 220} more)…{m[0][-60:]}", text)


def message(e: HubError) -> str:
    """The error's own text and, where the table has one, the CLI's hint after it."""
    hint = hint_for(e)
    return shorten(f"{e}; {hint}" if hint else str(e))


def os_message(e: OSError) -> str:
    """An operating-system error the library let through, as a line: what failed, on which path, and why."""
    where = f" {e.filename!r}" if e.filename is not None else ""
    also = f" -> {e.filename2!r}" if getattr(e, "filename2", None) is not None else ""
    return shorten(f"{e.strerror or type(e).__name__}{where}{also}")
