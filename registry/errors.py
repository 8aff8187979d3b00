"""Every exception the project raises, under one base class.

Each class also inherits the built-in that matches its meaning, so callers that
already catch ``ValueError`` or ``OSError`` keep working, and the CLI can turn
any ``HubError`` into a message and an exit code in one place. Attributes are
structured so that programs need not parse messages.
"""

from __future__ import annotations

from pathlib import Path


class HubError(Exception):
    """Base class of every error raised by ``registry`` and ``hub_client``."""

    #: Exit code the CLI uses for this error class.
    exit_code: int = 1


class UsageError(HubError, ValueError):
    """The caller asked for something that cannot be done as asked (bad option, bad path)."""

    exit_code = 2


class CardError(HubError, ValueError):
    """A card cannot be read at all (not its lint problems: those are diagnostics)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path else message)


class YamlSyntaxError(CardError):
    """YAML that does not parse; ``line`` and ``col`` are 1-based positions in the card file."""

    def __init__(self, problem: str, *, line: int, col: int, path: str | Path | None = None) -> None:
        self.problem = problem
        self.line = line
        self.col = col
        super().__init__(f"YAML syntax error at {line}:{col}: {problem}", path=path)


class YamlLimitError(CardError):
    """YAML that parses but would cost unbounded time or memory to build (alias bombs, deep nesting)."""

    def __init__(self, limit: str, *, line: int = 1, col: int = 1, path: str | Path | None = None) -> None:
        self.limit = limit
        self.line = line
        self.col = col
        super().__init__(
            f"YAML at {line}:{col} exceeds a safety limit ({limit}); "
            "cards do not need anchors that multiply or nesting this deep: write the values out",
            path=path,
        )


class CardTooLargeError(CardError):
    """The card file is larger than any real card; refused before parsing."""

    def __init__(self, size: int, limit: int, *, path: str | Path | None = None) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"card is {size} bytes, over the {limit}-byte limit for a card file", path=path)


class UnknownModelError(HubError, LookupError):
    """No card in the registry answers to the name; ``suggestions`` holds the nearest names."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        hint = (f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions
                else "; see `hub list` or `hub search`")
        super().__init__(f"no model named {name!r} in the registry{hint}")


class InvalidCardError(HubError, ValueError):
    """The name matches a card that has errors and no usable data."""

    def __init__(self, name: str, path: str, errors: list[str], diagnostics: list[dict[str, object]] | None = None
                 ) -> None:
        self.name = name
        self.path = path
        self.errors = errors
        self.diagnostics = list(diagnostics or [])
        super().__init__(f"the card for {name!r} ({path}) cannot be used: {'; '.join(errors[:3])}; "
                         f"run `hub lint {path}` for every problem")


class RegistryError(HubError, RuntimeError):
    """The registry database cannot be opened, migrated or written."""
