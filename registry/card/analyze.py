"""One card in, its diagnostics and its record out: what lint and the registry share.

A YAML syntax error does not end the analysis: the offending line is repaired
(its value quoted, or the line set aside) and parsing resumes, so an author sees
every problem of a card in one run, not one per commit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import CardError, CardTooLargeError, YamlLimitError, YamlSyntaxError
from registry.record import Dialect, ModelRecord

from . import hfcard, mshub
from .cardfile import CardFile, Placement, parse, read
from .diagnostics import Collector, Diagnostic, Severity
from .links import LINK_KEYS, unbracket
from .yamlnodes import YamlDoc, load

#: Syntax errors repaired per card before giving up on the block.
MAX_REPAIRS = 10
_METADATA_LINE = re.compile(r"^[A-Za-z_][\w-]*:(\s|$)")
_KEY_VALUE = re.compile(r"^(\s*(?:-\s+)?[^\s#:'\"][^:#]*?:[ \t]+)(\S.*?)\s*$")
_GLUED_KEY = re.compile(r"""^(?:"[^"]*"|'[^']*')\s*([A-Za-z_][\w.-]*:)""")  # language: "fr"tags:


@dataclass(frozen=True, slots=True)
class Link:
    key: str
    url: str
    line: int
    col: int


@dataclass
class CardResult:
    path: str
    dialect: Dialect | None = None
    record: ModelRecord | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    #: The card's own name for itself (model-name, else the title), even when it has no usable record.
    name_hint: str | None = None

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    @property
    def status(self) -> str:
        """The card's lint status as the registry keeps it: ``errors``, ``warnings`` or ``ok``."""
        return "errors" if self.errors else "warnings" if self.warnings else "ok"


def analyze_file(path: str | Path, *, dialect: Dialect | None = None) -> CardResult:
    """Read a card file and report every problem in it, with the record when the card is usable.

    Nothing about the card raises: an unreadable, oversized or malformed file is a diagnostic, so a linter
    sees all its problems in one run.

    Args:
        path: the card file (MindSpore Hub: ``# title`` then front matter; Hugging Face: front matter first).
        dialect: read it as this dialect instead of deciding from its keys.

    Returns:
        A :class:`CardResult`: the dialect, the ``ModelRecord`` (None when errors leave no usable data), the
        diagnostics sorted by position, and the links ``hub lint --online`` checks.
    """
    p = str(path)
    out = Collector(p)
    try:
        cf = read(path)
    except CardTooLargeError as e:
        out.add("file-unreadable", f"{e}: is this really a card?", 1)
        return CardResult(p, diagnostics=out.items)
    except OSError as e:
        out.add("file-unreadable", f"cannot read the file: {e.strerror or e}", 1)
        return CardResult(p, diagnostics=out.items)
    return _analyze(cf, out, dialect)


def analyze_text(text: str, *, path: str = "<card>", dialect: Dialect | None = None) -> CardResult:
    """:func:`analyze_file` for card text already in memory; ``path`` is what diagnostics name."""
    out = Collector(path)
    try:
        cf = parse(text, path=path)
    except CardTooLargeError as e:
        out.add("file-unreadable", str(e), 1)
        return CardResult(path, diagnostics=out.items)
    return _analyze(cf, out, dialect)


def load_card(path: str | Path) -> ModelRecord:
    """The record of one card file, for a program that needs its data rather than its diagnostics.

    Args:
        path: the card file.

    Returns:
        The card's ``ModelRecord`` (warnings do not stop it).

    Raises:
        CardError: the card has no usable record; the message lists each error with its line and column.
    """
    result = analyze_file(path)
    if result.record is None:
        errs = [f"{d.line}:{d.col} {d.rule}: {d.message}" for d in result.diagnostics if d.severity is Severity.ERROR]
        raise CardError("card has no usable data: " + "; ".join(errs or ["no front matter"]), path=path)
    return result.record


def _analyze(cf: CardFile, out: Collector, dialect: Dialect | None) -> CardResult:
    result = CardResult(out.path, name_hint=cf.title)
    if cf.front_matter is None:
        first = next((ln for ln in cf.text.splitlines() if ln.strip()), "")
        hint = (f" (the first line {first.strip()[:40]!r} looks like metadata: put '---' lines around the block)"
                if _METADATA_LINE.match(first) else "")
        out.add("front-matter-missing", "no front matter: start the card with a '---' block of key: value "
                f"metadata (Hugging Face), or a '# title' line then that block (MindSpore Hub){hint}", 1)
        result.diagnostics = _sorted(out)
        return result
    if cf.fm_close_line is None:
        out.add("front-matter-unclosed", f"the front matter opened at line {cf.fm_open_line} is never closed: "
                "add a line '---' after the last key", cf.fm_open_line or 1)
    repaired_before = len(out.items)
    doc = _load_tolerant(cf, out)
    if doc is None:
        result.diagnostics = _sorted(out)
        return result
    for _, kpos in doc.complex_keys:
        out.add("wrong-type", "a list or mapping stands where a key name should be (an unfilled template "
                "placeholder such as {{card_data}}?): write plain 'key: value' lines", kpos.line, kpos.col)
    repaired = len(out.items) > repaired_before
    if not isinstance(doc.data, dict) and repaired:
        # What is left after setting broken lines aside says nothing the syntax errors did not.
        result.diagnostics = _sorted(out)
        return result
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a {type(doc.data).__name__}"
        hint = ("; the keys are followed by a full-width colon '：', which YAML does not read as a separator"
                if "\uff1a" in cf.front_matter else "")
        out.add("front-matter-not-mapping", f"the front matter is {kind}, not key: value pairs: "
                f"write one 'key: value' per line{hint}", (cf.fm_open_line or 0) + 1)
        result.diagnostics = _sorted(out)
        return result
    _check_tabs(cf, out)
    for dup in doc.duplicates:
        out.add("duplicate-key", f"key '{dup.path[-1]}' appears again (first at line {dup.first.line}); YAML keeps "
                "only this one: remove one of them", dup.second.line, dup.second.col)
    if isinstance(doc.data.get("model-name"), str) and doc.data["model-name"].strip():
        result.name_hint = doc.data["model-name"].strip()
    for p, raw in doc.raw.items():
        if p and p[-1] in LINK_KEYS:
            url = unbracket(raw)
            if url.startswith(("https://", "http://")):
                result.links.append(Link(str(p[-1]), url, doc.pos[p].line, doc.pos[p].col))
    chosen = dialect or _dialect(cf, doc)
    result.dialect = chosen
    _check_placement(cf, chosen, out)
    if chosen is Dialect.MINDSPORE_HUB:
        ms = mshub.check(doc, cf, out)
        if ms is not None:
            result.record = mshub.to_record(ms, cf)
    else:
        hf, evals = hfcard.check(doc, cf, out)
        if hf is not None:
            result.record = hfcard.to_record(hf, evals, cf)
    result.diagnostics = _sorted(out)
    return result


def _check_tabs(cf: CardFile, out: Collector) -> None:
    """libyaml tolerates tab indentation that PyYAML, and so huggingface_hub, rejects."""
    assert cf.front_matter is not None
    if "\t" not in cf.front_matter:
        return
    for i, line in enumerate(cf.front_matter.split("\n")):
        lead = line[: len(line) - len(line.lstrip())]
        if "\t" in lead and line.strip():
            out.add("yaml-syntax", "the line is indented with a tab: YAML allows only spaces (PyYAML and "
                    "huggingface_hub reject this card); indent with spaces", cf.yaml_line_offset + i + 1,
                    lead.index("\t") + 1)


def _sorted(out: Collector) -> list[Diagnostic]:
    return sorted(out.items, key=Diagnostic.sort_key)


def _dialect(cf: CardFile, doc: YamlDoc) -> Dialect:
    assert isinstance(doc.data, dict)
    if mshub.MS_ONLY_KEYS.intersection(doc.data):
        return Dialect.MINDSPORE_HUB
    return Dialect.HUGGINGFACE


def _check_placement(cf: CardFile, dialect: Dialect, out: Collector) -> None:
    line = cf.fm_open_line or 1
    if cf.placement is Placement.LATER:
        where = "to the top" if dialect is Dialect.HUGGINGFACE else "right after the '# title' line"
        out.add("front-matter-misplaced", f"the front matter starts at line {line}, after other text, where no hub "
                f"reads it: move the block {where}", line)
    elif cf.placement is Placement.AFTER_TITLE and dialect is Dialect.HUGGINGFACE:
        out.add("front-matter-misplaced", f"Hugging Face reads front matter only at the very top of the file, not "
                f"after the title on line {cf.title_line}: move the '---' block to line 1", line)


def _load_tolerant(cf: CardFile, out: Collector) -> YamlDoc | None:
    """Parse the block; on a syntax error, report it, repair that line and try again."""
    assert cf.front_matter is not None
    lines = cf.front_matter.split("\n")
    offset = cf.yaml_line_offset
    reported: set[int] = set()
    for _ in range(MAX_REPAIRS + 1):
        try:
            return load("\n".join(lines), line_offset=offset)
        except YamlLimitError as e:
            out.add("yaml-limit", str(e).split(": ", 1)[-1] if e.path else str(e), e.line, e.col)
            return None
        except YamlSyntaxError as e:
            idx = e.line - offset - 1
            swallowed = _open_quote_above(lines, idx)
            if swallowed is not None:  # the real problem is a quote left open lines above where YAML gave up
                e = YamlSyntaxError(f"the quote opened here is not closed on its line, so YAML reads the lines "
                                    f"after it, up to line {e.line}, as part of this value",
                                    line=swallowed + offset + 1, col=lines[swallowed].find(":") + 3)
                idx = swallowed
            text = lines[idx] if 0 <= idx < len(lines) else ""
            if e.line not in reported:  # a repair can move the error along the same line: say it once
                reported.add(e.line)
                out.add("yaml-syntax", _syntax_message(e, text), e.line, e.col)
            if not _repair(lines, idx):
                return None
    return None


def _quote_closed(value: str) -> bool:
    """Whether a value that starts with a quote also closes it on the same line."""
    quote, rest = value[0], value[1:]
    if quote == '"':
        return re.search(r'(?<!\\)"', rest) is not None
    return re.search(r"'(?!')", rest.replace("''", "")) is not None


def _open_quote_above(lines: list[str], idx: int) -> int | None:
    """The line above ``idx`` whose value opens a quote it does not close, when a ``key: value`` line follows it
    before ``idx``: a quoted value may span lines, but one that swallows the next keys was left open by mistake."""
    for j in range(min(idx, len(lines)) - 1, -1, -1):
        m = _KEY_VALUE.match(lines[j])
        if not m or m.group(2)[0] not in "\"'":
            continue
        if _quote_closed(m.group(2)):
            return None  # the nearest quoted value above is closed: the error is elsewhere
        return j if any(_KEY_VALUE.match(ln) for ln in lines[j + 1:idx]) else None
    return None


def _syntax_message(e: YamlSyntaxError, line: str) -> str:
    m = _KEY_VALUE.match(line)
    if m and m.group(2).strip() == "-":
        key = m.group(1).strip().rstrip(":")
        return (f"'{line.strip()}': a lone '-' starts a YAML list, so this is not a value; "
                f"write a real value or quote it: {key}: \"-\"")
    if "\t" in line[: len(line) - len(line.lstrip())]:
        return f"{e.problem}: the line is indented with a tab; YAML allows only spaces"
    glued = _GLUED_KEY.match(m.group(2)) if m else None
    if glued:
        return (f"a new key starts right after the closing quote: put '{glued.group(1)}' on a line of its own "
                f"({e.problem})")
    if "opened here is" in e.problem:
        return f"{e.problem}: close it on this line, or quote the whole value"
    return f"{e.problem}: check quoting and indentation on this line"


def _repair(lines: list[str], idx: int) -> bool:
    """Quote the value on the failing line, else comment it out; False when nothing can be repaired."""
    if not 0 <= idx < len(lines):
        # Errors reported at the end of the block (an unclosed quote or bracket): drop the last content line.
        for k in range(len(lines) - 1, -1, -1):
            if lines[k].strip() and not lines[k].lstrip().startswith("#"):
                lines[k] = "# " + lines[k]
                return True
        return False
    line = lines[idx]
    m = _KEY_VALUE.match(line)
    if m and not line.lstrip().startswith("#"):
        value = m.group(2)
        if not value.startswith(('"', "'")):
            lines[idx] = m.group(1) + json.dumps(value)
            return True
        if not _quote_closed(value):  # close the quote it opened
            lines[idx] = m.group(1) + json.dumps(value[1:])
            return True
    if line.strip() and not line.lstrip().startswith("#"):
        lines[idx] = "# " + line
        return True
    # The error points at a blank or comment line: set aside the nearest content line above it.
    for k in range(idx - 1, -1, -1):
        if lines[k].strip() and not lines[k].lstrip().startswith("#"):
            lines[k] = "# " + lines[k]
            return True
    return False
