"""What a bundle holds, as its first member (``manifest.json``) says: the models, and each file's sha256.

A bundle is a plain tar::

    manifest.json            this, first, so an import knows what to expect before the first byte of a blob
    cards/<n>.md             the card of the n-th model (a MindSpore Hub card; a repo's card is its README)
    blobs/<sha256>           every file once, named by its digest

Nothing else may be in it: a member by any other name (``..``, an absolute path, a link) refuses the bundle.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST = "manifest.json"
#: The largest manifest read.
MAX_MANIFEST = 16 << 20
#: The largest card read.
MAX_CARD = 4 << 20

_CARD = re.compile(r"^cards/(\d{1,6})\.md$")
_BLOB = re.compile(r"^blobs/([0-9a-f]{64})$")


class BundleFile(BaseModel):
    """One file of a model: its path in the model, digest, size, and (a Hugging Face file) its content address
    in the repo (the sha256 of an LFS file, the git blob id of a small one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=1000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    address: str | None = Field(default=None, pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")


class BundleModel(BaseModel):
    """One model: how it is named, where its card is in the bundle (``cards/<n>.md``; none for a Hugging Face
    repo, whose card is its README), the repo's commit and refs, and its files."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    uid: str = Field(min_length=1)
    dialect: Literal["mindspore-hub", "huggingface"]
    card: str | None = None
    revision: str | None = None
    refs: list[str] = Field(default_factory=list)
    endpoint: str | None = None
    files: list[BundleFile]


class BundleManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["hub-bundle/1"]
    created: str
    models: list[BundleModel]


def card_member(index: int) -> str:
    return f"cards/{index}.md"


def blob_member(sha256: str) -> str:
    return f"blobs/{sha256}"


def member_kind(name: str) -> tuple[Literal["card", "blob"], str] | None:
    """``("card", n)`` or ``("blob", sha256)`` for a name a bundle may hold; None for any other."""
    if m := _CARD.match(name):
        return "card", m.group(1)
    if m := _BLOB.match(name):
        return "blob", m.group(1)
    return None
