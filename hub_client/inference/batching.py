"""Batches decoded and preprocessed ahead of the model, on threads, so ``evaluate`` and ``predict`` never wait
on images.

Pillow's JPEG decoding and resizing, and numpy's arithmetic, release the GIL, so a few threads keep a batch ready
while the engine computes the current one. At most ``ahead`` batches exist at once (the one computing included):
memory stays bounded whatever the dataset's size, and an error in an image surfaces at its batch, in order.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from .data import Sample, batches

Prepare = Callable[[Sample], NDArray[Any]]
T = TypeVar("T")
R = TypeVar("R")


def _stack(chunk: list[Sample], prepare: Prepare) -> tuple[NDArray[Any], NDArray[Any]]:
    return np.stack([prepare(s) for s in chunk]), np.array([s.target for s in chunk])


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


def prefetched(samples: Sequence[Sample], size: int, prepare: Prepare, *, workers: int | None = None,
               ahead: int = 3) -> Iterator[tuple[NDArray[Any], NDArray[Any]]]:
    """(batch, targets) in order, each prepared on a worker thread up to ``ahead`` batches in advance."""
    return ahead_of(batches(samples, size), lambda chunk: _stack(chunk, prepare), workers=workers, ahead=ahead)


def ahead_of(chunks: Iterable[T], prepare: Callable[[T], R], *, workers: int | None = None,
             ahead: int = 3) -> Iterator[R]:
    """``prepare(chunk)`` of each chunk, in order, computed on worker threads up to ``ahead`` chunks in advance;
    an error surfaces at its chunk."""
    with ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="hub-batch") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(prepare, chunk))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
