"""The Python API: what the CLI does, as functions that return values and raise ``HubError``s."""

from __future__ import annotations

import logging
from pathlib import Path

from registry.record import ModelRecord
from registry.store import Registry

from .fetcher import ProgressFactory, pull_record

log = logging.getLogger("hub")


def resolve(name: str) -> ModelRecord:
    """The card ``name`` resolves to; why it won among several goes to the log."""
    with Registry() as reg:
        res = reg.resolve(name)
    if res.reason:
        log.info(res.reason)
    record: ModelRecord = res.record
    return record


def pull(name: str, *, fmt: str | None = None, revision: str | None = None, to: str | Path | None = None,
         allow_http: bool | None = None, progress: ProgressFactory | None = None) -> list[Path]:
    """Resolve ``name`` through the registry, download every asset, verify it, cache it; return the paths.

    ``fmt`` keeps one asset format (``ckpt``; ``safetensors`` or ``bin`` for Hugging Face repos); ``to`` copies
    the verified files into a folder; a cached asset costs no network call.
    """
    return pull_record(resolve(name), fmt=fmt, revision=revision, to=Path(to) if to is not None else None,
                       allow_http=allow_http, progress=progress)
