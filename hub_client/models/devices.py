"""Device strings, read in one place for every backend: ``cpu``, ``cuda[:N]`` (or ``gpu[:N]``), ``ascend[:N]``
(or ``npu[:N]``), in any case. Each backend maps the parsed device onto its own names and says what it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from registry.errors import UsageError

DeviceKind = Literal["cpu", "cuda", "ascend"]
_KINDS: dict[str, DeviceKind] = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda", "ascend": "ascend", "npu": "ascend"}


@dataclass(frozen=True)
class Device:
    """A device as the user named it: its kind, its index when one was given, and the text itself."""

    kind: DeviceKind
    index: int | None
    text: str


def parse_device(text: str) -> Device:
    """``"GPU:1"`` → ``Device("cuda", 1)``; an unknown name or a bad index is a ``UsageError``."""
    base, sep, index = text.strip().lower().partition(":")
    kind = _KINDS.get(base)
    if kind is None:
        raise UsageError(f"unknown device {text!r}: use cpu, cuda[:N] (or gpu[:N]) or ascend[:N] (or npu[:N])")
    if sep and not index.isdigit():
        raise UsageError(f"unknown device {text!r}: the part after ':' must be a device number")
    return Device(kind, int(index) if sep else None, text)
