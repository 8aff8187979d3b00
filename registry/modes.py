"""The permissions a file the user asked for gets: what the umask allows, as ``open()`` would give it.

Staging names come from ``tempfile`` (``mkstemp``: 0600, ``mkdtemp``: 0700), which is right while a file is
being written and wrong once it is the user's: a web server running as another user could not serve what
``hub publish`` put in its folder. So a staged file or folder is given the plain mode before it is renamed
into place.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

_lock = threading.Lock()


@functools.cache
def umask() -> int:
    """The process's umask (read once: reading it means setting it, so it is set straight back)."""
    with _lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def for_others(path: Path) -> None:
    """``path`` (a file, or a folder and everything in it) with the modes a plain ``open``/``mkdir`` gives:
    0644/0755 under the usual umask 022."""
    file_mode, dir_mode = 0o666 & ~umask(), 0o777 & ~umask()
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            os.chmod(root, dir_mode)
            for name in files:
                os.chmod(os.path.join(root, name), file_mode)
    else:
        os.chmod(path, file_mode)
