"""YAML with source positions, duplicate keys and the text each scalar was written as.

Why not ``yaml.safe_load``: lint needs a line and column for every value, PyYAML
silently keeps the last of two duplicate keys, and it reads ``mindspore-version:
1.10`` as the float 1.1. We compose the node graph with libyaml (fast, and it
keeps marks) and build the Python values ourselves, recording what we need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from registry.errors import YamlLimitError, YamlSyntaxError

try:  # libyaml is in PyYAML's wheels; the pure-Python loader is the fallback (much slower).
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader

_RESOLVED: dict[str, str] = {}


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Memoises plain-scalar tag resolution: cards repeat the same keys and values, and
    PyYAML's resolver (Python even under libyaml) was a fifth of the parse time."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) > 8192:
                    _RESOLVED.clear()
                _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

#: A path into the document: mapping keys and sequence indexes, from the root.
Path = tuple[str | int, ...]

#: Building more value nodes than this means aliases are multiplying (a "billion laughs" card).
MAX_NODES = 100_000
#: Real cards nest 6 levels (model-index); this leaves room and still stops pathological input.
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column in the card file."""

    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Duplicate:
    path: Path
    first: Pos
    second: Pos


@dataclass
class YamlDoc:
    """A parsed YAML document and what lint needs to know about where each value came from."""

    data: Any
    #: Position of each value (for mapping entries: of the value; see ``key_pos`` for the key).
    pos: dict[Path, Pos] = field(default_factory=dict)
    key_pos: dict[Path, Pos] = field(default_factory=dict)
    #: Source text of each scalar, as written (``"1.10"`` for ``1.10``).
    raw: dict[Path, str] = field(default_factory=dict)
    #: Resolved tag of each unquoted scalar (``float``, ``int``, ``bool``, ``timestamp``, ``null``, ``str``).
    plain_tag: dict[Path, str] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)
    #: Mapping entries whose key is itself a list or mapping (left out of ``data``).
    complex_keys: list[tuple[Path, Pos]] = field(default_factory=list)

    def where(self, path: Path) -> Pos:
        """Best position for a path: the value, else the key, else the nearest ancestor."""
        p = path
        while p:
            if p in self.pos:
                return self.pos[p]
            if p in self.key_pos:
                return self.key_pos[p]
            p = p[:-1]
        return self.pos.get((), Pos(1, 1))


class _Builder:
    def __init__(self, loader: Any, line_offset: int) -> None:
        self.loader = loader
        self.offset = line_offset
        self.count = 0
        self.doc = YamlDoc(data=None)

    def pos(self, node: yaml.Node) -> Pos:
        mark = node.start_mark
        return Pos(mark.line + 1 + self.offset, mark.column + 1)

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            p = self.pos(node)
            what = f"more than {MAX_NODES} values" if self.count > MAX_NODES else f"nesting over {MAX_DEPTH}"
            raise YamlLimitError(what, line=p.line, col=p.col)
        self.doc.pos[path] = self.pos(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        return None  # pragma: no cover - PyYAML has no other node kinds

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        self.doc.raw[path] = node.value
        if not node.style:  # plain (None in PyYAML, "" in libyaml): the resolver chose the type
            self.doc.plain_tag[path] = node.tag.rsplit(":", 1)[-1]
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            # e.g. ``2025-13-45`` matches the timestamp pattern but is no date: keep the text.
            return node.value

    def mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            kpos = self.pos(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                # A list or mapping used as a key: typically an unfilled template ({{card_data}}).
                self.doc.complex_keys.append((path, kpos))
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                self.doc.duplicates.append(Duplicate(child, seen[key], kpos))
            seen[key] = kpos
            self.doc.key_pos[child] = kpos
            out[key] = self.build(value_node, child, depth + 1)
        return out


#: Errors about a construct that was opened and never closed: PyYAML notices only where it gives up (often
#: many lines later), but the place to fix is where the bracket or quote was opened, its ``context_mark``.
_UNCLOSED = {"while parsing a flow sequence": "'['", "while parsing a flow mapping": "'{'",
             "while scanning a quoted scalar": "quote"}


def _syntax_error(e: yaml.MarkedYAMLError, line_offset: int) -> YamlSyntaxError:
    opened = _UNCLOSED.get(e.context or "")
    if opened and e.context_mark is not None:
        start, end = e.context_mark, e.problem_mark
        where = f" (YAML gave up at line {end.line + 1 + line_offset})" if end and end.line != start.line else ""
        return YamlSyntaxError(f"the {opened} opened here is never closed: {e.problem}{where}",
                               line=start.line + 1 + line_offset, col=start.column + 1)
    mark = e.problem_mark or e.context_mark
    line = (mark.line + 1 + line_offset) if mark else 1 + line_offset
    col = (mark.column + 1) if mark else 1
    problem = " ".join(p for p in (e.context, e.problem) if p) or str(e)
    return YamlSyntaxError(problem, line=line, col=col)


def load(text: str, *, line_offset: int = 0) -> YamlDoc:
    """Parse one YAML document; ``line_offset`` is added to every line (the block's place in the file).

    Raises ``YamlSyntaxError`` with the position of the problem, or ``YamlLimitError``.
    """
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            raise _syntax_error(e, line_offset) from None
        except yaml.YAMLError as e:
            raise YamlSyntaxError(str(e), line=1 + line_offset, col=1) from None
        except RecursionError:
            raise YamlLimitError("nesting too deep to parse", line=1 + line_offset) from None
        builder = _Builder(loader, line_offset)
        if node is not None:
            try:
                builder.doc.data = builder.build(node, (), 0)
            except RecursionError:
                raise YamlLimitError("nesting too deep to build", line=1 + line_offset) from None
        return builder.doc
    finally:
        loader.dispose()
