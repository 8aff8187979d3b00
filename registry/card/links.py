"""Links in card front matter: which keys hold them, and the URL inside a markdown autolink.

MindSpore Hub cards write ``asset-link: <https://...>``; the schema, lint's link checks and the record all
need the same URL out of it.
"""

from __future__ import annotations

from typing import Any

#: Front-matter keys whose values are links (checked by ``hub lint --online``).
LINK_KEYS = frozenset({"asset-link", "repo-link", "featured-image", "license_link", "thumbnail"})


def unbracket(text: str) -> str:
    """``<https://x>`` → ``https://x``, surrounding blanks dropped; other text as it is, stripped."""
    return text.strip().removeprefix("<").removesuffix(">").strip()


def unbracket_value(value: Any) -> Any:
    """:func:`unbracket` for a YAML value of any type (a schema then reports a non-string's type)."""
    return unbracket(value) if isinstance(value, str) else value
