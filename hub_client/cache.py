"""Where pulled assets live under ``HUB_HOME``, readable per model.

``HUB_HOME/models/<dialect>/<uid>/<file>`` is the path a person (or ``hub info``)
looks at; the fetcher fills it. Every component is sanitised: a card cannot
steer a path outside the cache with ``..`` or an absolute name.
"""

from __future__ import annotations

import re
from pathlib import Path

from registry import config
from registry.errors import UsageError
from registry.record import AssetRecord, ModelRecord

_UNSAFE = re.compile(r"[^A-Za-z0-9._+@=-]")


def safe_component(text: str) -> str:
    """One path component: no separators, no '..', nothing hidden, nothing empty."""
    cleaned = _UNSAFE.sub("_", text.strip()).lstrip(".")
    if not cleaned or cleaned in (".", ".."):
        raise UsageError(f"{text!r} cannot be used as a file name in the cache")
    return cleaned[:200]


def model_dir(record: ModelRecord) -> Path:
    uid = record.uid or record.name
    parts = [safe_component(p) for p in uid.split("/") if p.strip()]
    return config.hub_home() / "models" / safe_component(record.dialect.value) / Path(*parts)


def asset_path(record: ModelRecord, asset: AssetRecord) -> Path:
    return model_dir(record) / safe_component(asset.filename)


def is_cached(record: ModelRecord, asset: AssetRecord) -> bool:
    return asset_path(record, asset).is_file()
