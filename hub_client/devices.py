"""Which devices each backend can use here, and selecting one with an error that lists the alternatives."""

from __future__ import annotations

import logging

from registry.errors import DeviceUnavailableError, UsageError

MINDSPORE_DEVICES = ("CPU", "GPU", "Ascend")


def normalize_mindspore(device: str) -> str:
    by_lower = {d.lower(): d for d in MINDSPORE_DEVICES} | {"cuda": "GPU", "npu": "Ascend"}
    found = by_lower.get(device.strip().lower().split(":")[0])
    if not found:
        raise UsageError(f"unknown device {device!r}: MindSpore runs on {', '.join(MINDSPORE_DEVICES)}")
    return found


def mindspore_available() -> list[str]:
    """The MindSpore device targets whose plugin loads here (CPU always)."""
    from mindspore import hal

    quiet = _Quiet()
    with quiet:
        return [d for d in MINDSPORE_DEVICES if d == "CPU" or _safe_available(hal, d)]


def _safe_available(hal: object, device: str) -> bool:
    try:
        return bool(hal.is_available(device))  # type: ignore[attr-defined]
    except (RuntimeError, ValueError):
        return False


def use_mindspore(device: str) -> str:
    """Select ``device`` (``CPU``/``GPU``/``Ascend``, ``GPU:1``) for MindSpore, or say what is available."""
    import mindspore as ms

    target = normalize_mindspore(device)
    device_id = int(device.split(":", 1)[1]) if ":" in device else None
    if target != "CPU":
        available = mindspore_available()
        if target not in available:
            raise DeviceUnavailableError(device, available, "MindSpore")
    current = ms.get_context("device_target")
    if current != target or device_id is not None:
        try:
            ms.set_device(target, device_id) if device_id is not None else ms.set_device(target)
        except (RuntimeError, ValueError) as e:
            raise DeviceUnavailableError(device, mindspore_available(), f"MindSpore ({e})") from None
    return target


class _Quiet:
    """Silence MindSpore's 'plugin not found' warnings while probing devices that are not there."""

    def __enter__(self) -> None:
        self.loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                        if "mindspore" in n.lower()]
        self.levels = [lg.level for lg in self.loggers]
        for lg in self.loggers:
            lg.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self.loggers, self.levels, strict=True):
            lg.setLevel(level)
