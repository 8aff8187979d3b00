"""Constants and the places of a checkout; what the environment says is read by ``registry.settings`` only."""

from __future__ import annotations

from pathlib import Path

#: The source kind (and label) of the project's own cards in the registry.
BUNDLED = "bundled"
#: The source kind (and label) of cards fetched from a hub by name.
REMOTE = "remote"
#: The source kind (and label) of the MindSpore Hub catalogue that ``hub update`` fetches.
CATALOG = "catalog"
#: Upstream's card repository as an archive: mindspore-ai/hub, whose mshub_res/assets holds every card.
DEFAULT_CATALOG_URL = "https://github.com/mindspore-ai/hub/archive/refs/heads/master.tar.gz"
#: Hosts assets may come from unless HUB_ALLOWED_HOSTS says otherwise.
DEFAULT_ALLOWED_HOSTS = ("download-mindspore.osinfra.cn", "download.mindspore.cn", "huggingface.co", "hf-mirror.com")


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout (not from an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "cards").is_dir() and (root / "registry").is_dir():
        return root
    return None


def bundled_registry() -> Path | None:
    """The committed ``registry.db`` of a checkout: the bundled cards, indexed. A new user registry starts as a
    copy of it, so the first command pays no card parsing; None outside a checkout."""
    root = checkout_root()
    found = root / "registry.db" if root else None
    return found if found is not None and found.is_file() else None


def bundled_cards() -> Path:
    """The project's own cards: inside the installed package, or ``cards/`` of the checkout."""
    packaged = Path(__file__).resolve().parent / "cards"
    if packaged.is_dir():
        return packaged
    root = checkout_root()
    return root / "cards" if root else packaged
