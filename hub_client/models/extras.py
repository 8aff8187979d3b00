"""What running a model needs beyond a plain install, checked before anything imports it.

``pip install hub-registry`` lints, indexes and pulls; loading and running a network also needs numpy and
Pillow and one framework, which come with the ``torch`` or ``mindspore`` extra. Without this check a plain
install would end in ``ModuleNotFoundError: numpy`` deep inside the loader.
"""

from __future__ import annotations

import importlib.util

from registry.errors import BackendUnavailableError

_RUNTIME = {"numpy": "numpy", "PIL": "Pillow"}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def require_runtime(*, framework: bool = True) -> None:
    """Raise ``BackendUnavailableError`` naming both extras when numpy, Pillow or (with ``framework``) every
    framework is missing; return quietly when a model can be run."""
    missing = [label for module, label in _RUNTIME.items() if not _installed(module)]
    has_framework = (_installed("torch") and _installed("transformers")) or _installed("mindspore")
    if not missing and (has_framework or not framework):
        return
    parts = []
    if missing:
        parts.append(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    if framework and not has_framework:
        parts.append("neither PyTorch nor MindSpore is installed")
    raise BackendUnavailableError("any", ("torch", "mindspore"), "; ".join(parts))
