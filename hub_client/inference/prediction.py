"""Top-k predictions from a loaded network: preprocessing, a forward pass per batch, softmax, labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hub_client.models.backend import get_backend
from hub_client.models.preprocess import open_image
from registry.errors import UsageError

from .batching import ahead_of


@dataclass(frozen=True)
class Label:
    index: int
    label: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    image: str
    top: list[Label]

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.image, "predictions": [vars(t) for t in self.top]}


def info_of(model: Any) -> Any:
    info = getattr(model, "hub_info", None)
    if info is None:
        raise UsageError("this network was not made by hub_client.load_model: it carries no labels or "
                         "preprocessing; load it with load_model(name)")
    return info


def logits(model: Any, batch: NDArray[Any]) -> NDArray[Any]:
    """Raw scores (N, classes) for a preprocessed (N, C, H, W) batch, whatever the backend."""
    return get_backend(info_of(model).backend).logits(model, batch)


def softmax(x: NDArray[Any]) -> NDArray[Any]:
    z = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: NDArray[Any] = e / e.sum(axis=1, keepdims=True)
    return probs


def predict(model: Any, images: Sequence[str | Path], *, topk: int = 5, batch_size: int = 8,
            workers: int | None = None) -> list[Prediction]:
    """The ``topk`` labels of each image with their probabilities, best first. Images are decoded and
    preprocessed on threads, batches ahead of the network, as ``evaluate`` does.

    Args:
        model: a network from ``load_model`` (it carries its labels and preprocessing).
        images: image files (JPEG, PNG, BMP, TIFF, WebP...).
        topk: how many labels per image (at most the number of classes).
        batch_size: images per forward pass.
        workers: threads that decode and preprocess ahead of the network (default: the cores, at most 4).

    Returns:
        One :class:`Prediction` per image, in order.

    Raises:
        UsageError: ``topk`` below 1, an image that cannot be read, or a network not made by ``load_model``.
    """
    if topk < 1:
        raise UsageError(f"--topk must be at least 1, got {topk}")
    info = info_of(model)
    k = min(topk, len(info.labels))
    out: list[Prediction] = []
    chunks = [list(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]

    def prepare(chunk: list[str | Path]) -> NDArray[Any]:
        return np.stack([info.preprocess.image(open_image(p)) for p in chunk])

    for chunk, batch in zip(chunks, ahead_of(chunks, prepare, workers=workers), strict=True):
        probs = softmax(logits(model, batch))
        for path, row in zip(chunk, probs, strict=True):
            order = np.argsort(-row, kind="stable")[:k]
            out.append(Prediction(str(path), [Label(int(i), info.labels[int(i)], float(row[i])) for i in order]))
    return out
