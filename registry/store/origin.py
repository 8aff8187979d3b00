"""Where a card fetched from a hub came from: a small JSON file beside it, read when the card is indexed.

A Hugging Face repo's ``README.md`` does not say which repo or commit it belongs to, and a repo without one
has no card at all. The fetcher writes ``hub-origin.json`` next to the card it stores; the registry applies it
to the record, so the commit pins downloads and the card works offline afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.atomic import write_text
from registry.record import ModelRecord

if TYPE_CHECKING:
    from registry.card.analyze import CardResult

FILE_NAME = "hub-origin.json"


@dataclass(frozen=True)
class Origin:
    """A fetched card's provenance: the repo, the commit, the refs that named it, and what the hub said."""

    uid: str
    revision: str
    endpoint: str
    refs: list[str] = field(default_factory=list)
    fetched_at: str = ""
    last_modified: str | None = None
    #: The architecture from the repo's ``config.json`` (``model_type``), when there is one.
    architecture: str | None = None
    #: True when the repo had no README.md and the card was written from its config and file list.
    generated: bool = False

    def write(self, folder: Path) -> Path:
        return write_text(folder / FILE_NAME, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Origin | None:
        """The origin beside a card, or None when there is none (or it is not readable as one)."""
        try:
            data: dict[str, Any] = json.loads((folder / FILE_NAME).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def apply(self, record: ModelRecord) -> ModelRecord:
        """The record as the hub knows it: repo id, commit, refs, the architecture of its config.json, and the
        commit's date when the card gives none."""
        update: dict[str, Any] = {"uid": self.uid, "revision": self.revision, "refs": list(self.refs)}
        if record.uid and record.name == record.uid.split("/")[-1]:  # named after its folder, not the repo
            update["name"] = self.uid.split("/")[-1]
        if self.architecture:  # config.json says what the network is; a card's words only hint at it
            update["architecture"] = self.architecture
        if self.last_modified and record.updated is None:
            try:
                update["updated"] = dt.date.fromisoformat(self.last_modified[:10])
            except ValueError:
                pass
        return record.model_copy(update=update)


def with_origin(result: CardResult, fetched: bool) -> CardResult:
    """A fetched card's analysis with the repo, commit and refs its origin file records (others unchanged)."""
    if fetched and result.record is not None and result.record.card_path:
        origin = Origin.read(Path(result.record.card_path).parent)
        if origin is not None:
            result.record = origin.apply(result.record)
    return result
