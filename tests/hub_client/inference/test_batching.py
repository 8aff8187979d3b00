"""Batches prepared ahead on threads: in order, bounded, and an image's error surfaces at its batch."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hub_client.inference.batching import prefetched
from hub_client.inference.data import Sample


def samples(n: int) -> list[Sample]:
    return [Sample(f"s{i}", i % 10, None) for i in range(n)]  # type: ignore[arg-type]


def test_batches_come_in_order_with_at_most_ahead_prepared():
    lock = threading.Lock()
    prepared: list[int] = []
    consumed = 0
    most = 0

    def prepare(s: Sample) -> np.ndarray:
        nonlocal most
        time.sleep(0.002)
        i = int(s.name[1:])
        with lock:
            prepared.append(i)
            most = max(most, len(prepared) // 4 - consumed)  # whole batches prepared but not yet taken
        return np.full((1, 2, 2), i, np.float32)

    got = []
    for batch, targets in prefetched(samples(37), 4, prepare, workers=3, ahead=3):
        got.extend(int(v) for v in batch[:, 0, 0, 0])
        assert list(targets) == [i % 10 for i in got[-len(targets):]]
        consumed += 1
        time.sleep(0.01)  # a slow model: the threads must not run away with memory
    assert got == list(range(37))
    assert most <= 3


def test_an_unreadable_image_fails_at_its_batch():
    def prepare(s: Sample) -> np.ndarray:
        if s.name == "s9":
            raise ValueError("cannot decode s9")
        return np.zeros((1, 2, 2), np.float32)

    seen = 0
    with pytest.raises(ValueError, match="s9"):
        for _batch, targets in prefetched(samples(20), 4, prepare, workers=2):
            seen += len(targets)
    assert seen == 8  # the two batches before it were delivered
