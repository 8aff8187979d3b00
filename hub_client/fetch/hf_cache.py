"""The Hugging Face cache as ``hub cache`` sees it: huggingface_hub's own scan of it, our checks on its files.

The HF cache is shared with transformers and every other huggingface_hub user, so it is read with
``scan_cache_dir`` and changed with its delete strategy, never by guessing its layout; only what a ``hub``
command asked for is removed. Revisions with no branch or tag pointing at them are kept: a pinned
``hf:org/name@<commit>`` pull leaves exactly such a revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext as _nothing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from registry.errors import DamagedFileError

from .cache import Cache, Entry
from .hf import verify_hf_file


@dataclass(frozen=True)
class HfCache:
    """The HF cache at ``folder`` (``settings.hf_cache``); ``marks`` is our cache, where verified files are noted."""

    folder: Path
    marks: Cache

    def _scan(self) -> Any | None:
        """huggingface_hub's ``HFCacheInfo`` for the cache in use, or None when there is no cache yet."""
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        folder = self.folder
        if not folder.is_dir():
            return None
        try:
            return scan_cache_dir(folder)
        except CacheNotFound:
            return None

    def entries(self) -> Iterator[Entry]:
        """Every file of every model revision in the HF cache, as ``hf:org/name@<commit>``."""
        info = self._scan()
        for repo in sorted(info.repos, key=lambda r: r.repo_id) if info else []:
            if repo.repo_type != "model":
                continue
            for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
                for f in sorted(rev.files, key=lambda f: str(f.file_path)):
                    name = Path(f.file_path).relative_to(rev.snapshot_path).as_posix()
                    yield Entry(f"hf:{repo.repo_id}@{rev.commit_hash[:12]}", Path(f.file_path), Path(f.blob_path),
                                f.size_on_disk, name)

    def verify_entry(self, entry: Entry) -> bool:
        """Hash a file of the HF cache against its content address (the ETag), leaving it in place."""
        if not entry.ok:
            return False
        try:
            verify_hf_file(entry.path, cache=self.marks, force=True, delete=False)
        except DamagedFileError:
            return False
        return True

    def remove_repo(self, repo_id: str) -> tuple[int, int]:
        """Delete every revision of a model repo from the HF cache; return the files it had and the bytes freed."""
        info = self._scan()
        repo = next((r for r in info.repos if r.repo_id == repo_id and r.repo_type == "model"), None) if info else None
        if info is None or repo is None:
            return 0, 0
        strategy = info.delete_revisions(*(rev.commit_hash for rev in repo.revisions))
        freed = int(strategy.expected_freed_size)
        strategy.execute()
        return repo.nb_files, freed

    def prune(self) -> tuple[list[Path], int]:
        """Delete partial downloads that no process is writing: huggingface_hub's ``*.incomplete`` and ours
        (``.hub-<etag>.part`` and what is kept beside it). Their lock, ``.locks/<repo folder>/<etag>.lock``, must be
        free."""
        folder = self.folder
        gone: list[Path] = []
        freed = 0
        found = [*folder.glob("*/blobs/*.incomplete"), *folder.glob("*/blobs/.hub-*.part*")] if folder.is_dir() else []
        for part in sorted(found):
            etag = part.name.removesuffix(".incomplete").removeprefix(".hub-").split(".", 1)[0]
            lock = folder / ".locks" / part.parent.parent.name / f"{etag}.lock"
            try:
                with FileLock(lock, timeout=0) if lock.exists() else _nothing():
                    if part.exists():
                        freed += part.stat().st_size
                        part.unlink()
                        gone.append(part)
            except Timeout:  # a download in progress
                continue
        return gone, freed
