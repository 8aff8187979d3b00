"""sqlite-utils, imported without the numpy and pandas it would load for conversions the registry never needs.

``sqlite_utils.db`` imports numpy and pandas whenever they are installed, only to convert their scalar types on
insert. The registry stores text, integers and floats. With the loader extras installed, numpy alone added
measurable time to every ``hub`` command's start-up (``python -m bench.startup``), so it is hidden during that one
import.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _import_light() -> ModuleType:
    hidden = [m for m in ("numpy", "pandas") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes `import m` raise ImportError
    try:
        import sqlite_utils
    finally:
        for m in hidden:
            if sys.modules.get(m) is None:
                del sys.modules[m]
    return sqlite_utils


sqlite_utils = _import_light()
