"""License names normalised to SPDX ids.

Cards write ``Apache2.0``, ``apache-2.0`` (Hugging Face's lower-case ids) or
``MIT``; the registry stores one spelling so filters and policy checks work.
"""

from __future__ import annotations

import re

#: SPDX ids that model cards use, plus Hugging Face's non-SPDX license ids (kept as HF spells them).
_SPDX = [
    "Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSL-1.0", "ISC",
    "GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later",
    "LGPL-2.1", "LGPL-3.0", "AGPL-3.0", "MPL-2.0", "EPL-1.0", "EPL-2.0", "ECL-2.0", "EUPL-1.1",
    "AFL-3.0", "Artistic-2.0", "OSL-3.0", "PostgreSQL", "OFL-1.1", "NCSA", "Unlicense", "Zlib", "WTFPL",
    "CC0-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0",
    "CC-BY-NC-2.0", "CC-BY-NC-3.0", "CC-BY-NC-4.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0", "CDLA-Sharing-1.0", "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0", "LPPL-1.3c", "MS-PL", "ODbL-1.0", "ODC-By-1.0", "PDDL-1.0",
]
_HF_ONLY = [
    "openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "lgpl-lr", "gpl", "lgpl", "gfdl", "bsd", "cc", "c-uda", "etalab-2.0",
    "apple-ascl", "deepfloyd-if-license", "llama2", "llama3", "llama3.1", "llama3.2", "gemma", "other",
    "unknown",
]

_BY_KEY: dict[str, str] = {}
for _id in _SPDX + _HF_ONLY:
    _BY_KEY[re.sub(r"[^a-z0-9+.]", "", _id.lower())] = _id


def _key(text: str) -> str:
    t = text.strip().lower()
    t = re.sub(r"\blicen[sc]e\b", "", t)
    t = t.replace("version", "").replace("v.", "")
    return re.sub(r"[^a-z0-9+.]", "", t)


def normalize(text: str) -> str | None:
    """The SPDX (or Hugging Face) id for a license as written, or None when it is not recognised."""
    k = _key(text)
    if k in _BY_KEY:
        return _BY_KEY[k]
    # "apache2" / "Apache License 2" -> Apache-2.0
    m = re.fullmatch(r"([a-z-]+?)(\d)(?:\.0)?", k)
    if m and f"{m.group(1)}{m.group(2)}.0" in _BY_KEY:
        return _BY_KEY[f"{m.group(1)}{m.group(2)}.0"]
    return None


def is_canonical(text: str) -> bool:
    """True when the text is already written as its id (case-insensitive, as Hugging Face accepts)."""
    n = normalize(text)
    return n is not None and n.lower() == text.strip().lower()
