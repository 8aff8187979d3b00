"""``hub lint``: cards found under paths, analyzed, and an exit status.

Separate from ``registry.card`` (one card) and ``report.py`` (output formats) so a
CI integration can call ``lint_paths`` and format the results its own way.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from pathlib import Path

from registry.card.analyze import CardResult, analyze_file
from registry.card.cardfile import walk
from registry.card.diagnostics import Severity
from registry.errors import UsageError
from registry.record import Dialect


def iter_card_files(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> Iterator[Path]:
    """Files named, and the card files under directories named (``cardfile.walk``), in a stable order.

    A file named explicitly is linted whatever its suffix; ``exclude`` globs are read by :func:`_excluded`.
    """
    patterns = list(exclude)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p / rel for rel, _ in walk(p)):
                if not any(_excluded(f, f.relative_to(p), pat) for pat in patterns):
                    yield f
        elif p.is_file():
            yield p
        else:
            raise UsageError(f"{raw}: no such file or directory; give card files or directories that hold them")


def _excluded(path: Path, rel: Path, pattern: str) -> bool:
    """A glob as people write them: the whole path (``*/drafts/*``), the file name (``README.md``), a folder
    name anywhere below the root (``huggingface``), or a relative path (``mindspore/1.10``, trailing ``/`` or not)."""
    pat = pattern.rstrip("/")
    rel_text = rel.as_posix()
    return (fnmatch.fnmatch(str(path), pat) or fnmatch.fnmatch(path.name, pat) or fnmatch.fnmatch(rel_text, pat)
            or any(fnmatch.fnmatch(part, pat) for part in rel.parts[:-1])
            or rel_text.startswith(pat + "/"))


def lint_paths(
    paths: Iterable[str | Path], *, dialect: Dialect | None = None, exclude: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> list[CardResult]:
    """Analyze every card under ``paths``; diagnostics of rules in ``ignore`` are dropped."""
    skip = set(ignore)
    results = []
    for f in iter_card_files(paths, exclude):
        r = analyze_file(f, dialect=dialect)
        if skip:
            r.diagnostics = [d for d in r.diagnostics if d.rule not in skip]
        results.append(r)
    return results


def exit_status(results: Iterable[CardResult], *, strict: bool = False) -> int:
    """0 when no errors (and, with ``strict``, no warnings); 1 otherwise."""
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return int(any(d.severity in failing for r in results for d in r.diagnostics))
