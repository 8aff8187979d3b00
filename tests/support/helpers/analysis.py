"""A digest of what the card analysis makes of every corpus and bundled card: records, top-1, diagnostics.

``ANALYZER_VERSION`` must change exactly when this does; ``tests/golden/analysis.json`` holds the pair.
Regenerate with ``python tests/support/helpers/analysis.py`` after bumping the version.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `helpers` and the project importable
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[4])]

from helpers.paths import CARDS, CORPUS, GOLDEN, corpus_files

GOLDEN_FILE = GOLDEN / "analysis.json"


def analysis_digest() -> tuple[str, int]:
    """(sha256 of the analysis of every card, how many cards); paths are relative, so any checkout agrees."""
    from registry.card.analyze import analyze_file

    h = hashlib.sha256()
    files = [(CORPUS, p) for p in corpus_files()] + [(CARDS, p) for p in sorted(CARDS.rglob("*.md"))]
    for base, path in files:
        result = analyze_file(path)
        rec = result.record
        entry = {
            "card": path.relative_to(base).as_posix(),
            "dialect": result.dialect.value if result.dialect else None,
            "record": rec.model_dump(mode="json", exclude={"card_path"}) if rec else None,
            "top1": rec.top1() if rec else None,
            "diagnostics": [{k: v for k, v in d.as_dict().items() if k != "path"} for d in result.diagnostics],
        }
        h.update(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest(), len(files)


if __name__ == "__main__":
    from registry.card.version import ANALYZER_VERSION

    digest, n = analysis_digest()
    GOLDEN_FILE.write_text(json.dumps({"analyzer_version": ANALYZER_VERSION, "cards": n, "digest": digest},
                                      indent=2) + "\n")
    print(f"wrote {GOLDEN_FILE}: version {ANALYZER_VERSION}, {n} cards")
