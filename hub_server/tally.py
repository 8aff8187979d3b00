"""What a mirror counts as it works (hits, misses, upstream transfers, evictions, refusals): plain numbers kept
by the part that does the work, read by ``/metrics`` when it is scraped (``metrics.py``), so the serving code
knows nothing of Prometheus."""

from __future__ import annotations

import threading
from collections import Counter


class Tally:
    """Named counters, safe across the server's threads; ``names`` are reported from zero, others once counted."""

    def __init__(self, *names: str) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter(dict.fromkeys(names, 0))

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


#: What a source of files counts (the Hugging Face side, the MindSpore Hub assets).
TRANSFERS = ("hits", "misses", "upstream_transfers", "upstream_bytes")
#: What a storage with a size cap counts.
EVICTIONS = ("evictions", "evicted_bytes")
