"""Every exception the project raises, under one base class, in four sections: card, store, fetch, load.

Each class also inherits the built-in that matches its meaning, so callers that
already catch ``ValueError`` or ``OSError`` keep working, and the CLI can turn
any ``HubError`` into a message and an exit code in one place. Messages state
facts (what was expected, what was found, where); the CLI adds what to run next
(``hub_client/cli/_errors.py``). Attributes are structured so that programs need
not parse messages.
"""

from __future__ import annotations

import errno
from pathlib import Path

from .about import install_hint


class HubError(Exception):
    """Base class of every error raised by ``registry`` and ``hub_client``."""

    #: Exit code the CLI uses for this error class.
    exit_code: int = 1


class UsageError(HubError, ValueError):
    """The caller asked for something that cannot be done as asked (bad option, bad path)."""

    exit_code = 2


# --- card: reading and checking one card -----------------------------------------------------------------


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


# --- store: the registry and names in it -----------------------------------------------------------------


class UnknownModelError(HubError, LookupError):
    """No card in the registry answers to the name; ``suggestions`` holds the nearest names."""

    def __init__(self, name: str, suggestions: list[str] | None = None, *, where: str = "in the registry") -> None:
        self.name = name
        self.suggestions = list(suggestions or [])
        self.where = where
        hint = f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"no model named {name!r} {where}{hint}")


class InvalidCardError(HubError, ValueError):
    """The name matches a card that has errors and no usable data."""

    def __init__(self, name: str, path: str, errors: list[str], diagnostics: list[dict[str, object]] | None = None
                 ) -> None:
        self.name = name
        self.path = path
        self.errors = errors
        self.diagnostics = list(diagnostics or [])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"the card for {name!r} ({path}) cannot be used: {'; '.join(errors[:3])}{more}")


class RegistryError(HubError, RuntimeError):
    """The registry database cannot be opened, migrated or written."""


class ReadOnlyError(HubError, PermissionError):
    """A command must write where the user may only read (a shared, read-only hub home): nothing was changed."""

    def __init__(self, path: str | Path, action: str) -> None:
        self.path = str(path)
        self.action = action
        super().__init__(f"{path} is read-only, and {action} writes there: run it with a writable HUB_HOME (or "
                         "HUB_REGISTRY); the commands that only read work as they are")

    def __str__(self) -> str:
        return str(self.args[0])


# --- fetch: URLs, transfers, the cache -------------------------------------------------------------------


class UnsafeURLError(HubError, ValueError):
    """A URL (or a redirect) the download policy refuses: not https, host not allowed, or a bad file name."""

    def __init__(self, url: str, reason: str, *, plain_http: bool = False) -> None:
        self.url = url
        self.reason = reason
        #: Refused only for being plain http (a flag of the caller's can accept it).
        self.plain_http = plain_http
        super().__init__(f"refusing {url}: {reason}")


class RepoAccessError(HubError, PermissionError):
    """A hub refused a repo: ``reason`` is ``token`` (private, gated or missing: no valid token was sent),
    ``gated`` (the account behind the token has not accepted the repo's conditions) or ``policy`` (a mirror's
    policy keeps it out; ``detail`` is the mirror's own message, which names the rule)."""

    def __init__(self, repo: str, endpoint: str, reason: str, detail: str = "") -> None:
        self.repo = repo
        self.endpoint = endpoint
        self.reason = reason
        self.detail = detail
        if reason == "policy":
            text = f"the mirror {endpoint} refuses {repo}: {detail or 'its policy keeps it out'}"
        elif reason == "gated":
            text = (f"{repo} on {endpoint} is gated: its files need the token of an account that has accepted its "
                    "conditions on the repo's page")
        else:
            text = (f"{endpoint} refused {repo} without valid credentials: it is private or gated (or does not "
                    "exist); a token with access is needed, from HF_TOKEN or huggingface_hub's login")
        super().__init__(text)


class ArchiveError(HubError, ValueError):
    """An archive that is refused (unreadable, truncated, a member that could leave its folder or exhaust the
    disk, or, for a bundle, contents that do not match its manifest, cards or signatures); nothing was changed.
    ``kind`` says which archive: ``catalogue archive`` or ``bundle``."""

    def __init__(self, source: str, problem: str, *, kind: str = "catalogue archive") -> None:
        self.source = source
        self.problem = problem
        self.kind = kind
        super().__init__(f"the {kind} {source} is refused: {problem}; nothing was changed")


class DownloadError(HubError, OSError):
    """A transfer failed for good (after retries, on every mirror); ``attempts`` lists what was tried."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 attempts: list[str] | None = None, code: str | None = None, detail: str = "") -> None:
        self.url = url
        self.status = status
        #: The server's own name for the error, where it gives one (the Hugging Face Hub's ``X-Error-Code``).
        self.code = code
        #: The server's own words (``X-Error-Message``), where it gives them.
        self.detail = detail
        self.attempts = list(attempts or [])
        detail = "".join(f"\n  - {a}" for a in self.attempts)
        super().__init__(message + detail)


class IntegrityError(HubError, ValueError):
    """Downloaded bytes do not match the card's sha256; nothing was cached."""

    def __init__(self, *, url: str, expected: str, actual: str, what: str = "sha256") -> None:
        self.url = url
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{what} mismatch for {url}: expected {expected}, got {actual}; the file was deleted and nothing was "
            "cached. The server (or a mirror) sent other bytes than the card describes: try again, drop the mirror, "
            "or report the card")


class SignatureError(HubError, ValueError):
    """A model signature that does not hold, or one a trust rule asks for and the model lacks: made with another
    key or identity, not a signature at all, or a file that differs from what it signs. ``model`` is the model or
    folder, ``files`` the files at fault, ``rule`` the trust rule that asked for the signature, if one did."""

    def __init__(self, model: str, problem: str, *, files: tuple[str, ...] = (), rule: str | None = None) -> None:
        self.model = model
        self.problem = problem
        self.files = files
        self.rule = rule
        asked = f"; the trust rule {rule} asks for it, and nothing of the model was cached as verified" if rule else ""
        super().__init__(f"{model}: {problem}{asked}")


class DamagedFileError(HubError, ValueError):
    """A cached file changed on disk after it was verified (a bad disk, a stray write, an editor): its bytes no
    longer hash to the address it is stored under. ``name`` is the model it belongs to."""

    def __init__(self, path: str | Path, *, expected: str, actual: str, what: str, name: str,
                 problem: str = "") -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        self.name = name
        seen = f" ({problem})" if problem else ""
        super().__init__(f"the cached file {self.path} of {name} is damaged{seen}: its {what} is {actual}, not the "
                         f"{expected} it was verified as; it will be fetched again by the next pull")


class SizeLimitError(HubError, ValueError):
    """An asset larger than ``HUB_MAX_BYTES``, or a body longer than the server announced."""

    def __init__(self, url: str, size: int, limit: int, why: str) -> None:
        self.url = url
        self.size = size
        self.limit = limit
        super().__init__(f"{url}: {why} ({size} bytes, limit {limit}); raise HUB_MAX_BYTES if this is expected")


class OfflineError(HubError, FileNotFoundError):
    """Offline mode (``HUB_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) and the asset is not in the cache."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} is not in the cache and offline mode forbids downloading it: unset HUB_OFFLINE "
                         "(and HF_HUB_OFFLINE), or pull it on a connected machine and copy HUB_HOME")


class NetworkDownError(HubError, ConnectionError):
    """No server could be reached at all: the network (or its name service) is down, so nothing can be judged.

    ``hosts`` maps each host tried to why it could not be reached.
    """

    def __init__(self, task: str, hosts: dict[str, str]) -> None:
        self.hosts = dict(hosts)
        shown = "; ".join(f"{h}: {why}" for h, why in list(self.hosts.items())[:3])
        more = f" (and {len(self.hosts) - 3} more)" if len(self.hosts) > 3 else ""
        super().__init__(f"{task}: not one of the {len(self.hosts)} host(s) could be reached ({shown}{more}), so the "
                         "network looks down; check the connection, proxy or DNS and run again")


class CacheWriteError(HubError, OSError):
    """The cache cannot be written (disk full, read-only, permissions); what was kept stays resumable."""

    def __init__(self, path: str, error: OSError) -> None:
        self.path = path
        self.errno_ = error.errno
        fix = ("free some space (or point HUB_HOME at a larger disk) and pull again: the download resumes where it "
               "stopped") if error.errno == errno.ENOSPC else "point HUB_HOME at a folder you can write, and pull again"
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            fix = f"it is read-only here; {fix}"
        super().__init__(error.errno or 0, f"cannot write {path}: {error.strerror or error}; {fix}")

    def __str__(self) -> str:
        return str(self.args[1])


class OutputWriteError(HubError, OSError):
    """A file the user asked for (converted, exported) could not be written; nothing is left under its name."""

    def __init__(self, path: str | Path, error: OSError) -> None:
        self.path = str(path)
        super().__init__(error.errno or 0, f"cannot write {path}: {error.strerror or error}; nothing was written "
                         "under that name: free some space, or choose a folder you can write")

    def __str__(self) -> str:
        return str(self.args[1])


# --- load: frameworks, devices, weight files -------------------------------------------------------------


class BackendUnavailableError(HubError, ImportError):
    """What running a model needs is not installed; the message names the extra that brings it.

    ``extras`` lists the alternatives (``("torch", "mindspore")`` when either would do).
    """

    def __init__(self, backend: str, extras: str | tuple[str, ...], detail: str = "") -> None:
        self.backend = backend
        self.extras = (extras,) if isinstance(extras, str) else tuple(extras)
        self.extra = self.extras[0]
        hints = " or ".join(install_hint(e) for e in self.extras)
        what = "no backend is installed" if backend == "any" else f"the {backend} backend is not installed"
        super().__init__(f"{what}{f' ({detail})' if detail else ''}: {hints}")


class DeviceUnavailableError(HubError, RuntimeError):
    """The device asked for does not exist here; ``available`` lists those that do."""

    exit_code = 2

    def __init__(self, device: str, available: list[str], backend: str) -> None:
        self.device = device
        self.available = list(available)
        self.backend = backend
        super().__init__(f"device {device!r} is not available to {backend} on this machine; available: "
                         f"{', '.join(self.available) or 'none'}")


class NoLoaderError(HubError, NotImplementedError):
    """The card's architecture has no network here; ``paths`` are the pulled files, still usable by hand."""

    def __init__(self, name: str, architecture: str | None, paths: list[Path] | None = None,
                 supported: list[str] | None = None) -> None:
        self.name = name
        self.architecture = architecture
        self.paths = [Path(p) for p in paths or []]
        self.supported = list(supported or [])
        files = "; the weights were pulled to " + ", ".join(str(p) for p in self.paths) if self.paths else ""
        super().__init__(f"no loader for {name!r} (architecture {architecture or 'unknown'}): supported are "
                         f"{', '.join(self.supported)}{files}")


class CheckpointError(HubError, ValueError):
    """A weights file that cannot be read, or whose tensors do not fit the network.

    ``missing`` are the network's parameters the file lacks, ``unexpected`` the file's tensors the network
    has no place for, ``mismatched`` the (name, file shape, network shape) triples that differ.
    """

    def __init__(self, path: str | Path, problem: str = "", *, missing: list[str] | None = None,
                 unexpected: list[str] | None = None,
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] | None = None) -> None:
        self.path = str(path)
        self.missing = list(missing or [])
        self.unexpected = list(unexpected or [])
        self.mismatched = list(mismatched or [])
        parts = [problem] if problem else []
        if self.missing:
            parts.append(f"{len(self.missing)} missing key(s): {_some(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected key(s): {_some(self.unexpected)}")
        if self.mismatched:
            parts.append(f"{len(self.mismatched)} shape mismatch(es): "
                         + _some([f"{n} file {tuple(a)} vs network {tuple(b)}" for n, a, b in self.mismatched]))
        fit = self.missing or self.unexpected or self.mismatched
        why = ("the file does not match the network the card describes (its model name, or a config that "
               "disagrees with the weights)" if fit else "the file cannot be read as weights")
        super().__init__(f"{self.path}: {'; '.join(parts)}; {why}")


def _some(items: list[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (and {len(items) - n} more)" if len(items) > n else "")


class ConversionError(HubError, ValueError):
    """A checkpoint the target ecosystem cannot hold as it is: another architecture, or numerics the target's
    network cannot express (it would load, and give other logits)."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"cannot convert {self.source}: {problem}")


class PublishError(HubError, RuntimeError):
    """An upload that did not complete; what was uploaded before it stays, and a retry finishes it."""

    def __init__(self, target: str, problem: str) -> None:
        self.target = target
        self.problem = problem
        super().__init__(f"publishing to {target} did not complete: {problem}")
