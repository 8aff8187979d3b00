"""Top-k predictions from a loaded network: preprocessing, a forward pass per batch, softmax, labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.errors import UsageError

from .preprocess import open_image


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
    if info_of(model).backend == "torch":
        from .torchnet import logits as torch_logits

        return torch_logits(model, batch)
    import mindspore as ms

    result: NDArray[Any] = np.asarray(model(ms.Tensor(batch)).asnumpy(), dtype=np.float32)
    return result


def softmax(x: NDArray[Any]) -> NDArray[Any]:
    z = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: NDArray[Any] = e / e.sum(axis=1, keepdims=True)
    return probs


def predict(model: Any, images: Sequence[str | Path], *, topk: int = 5, batch_size: int = 8) -> list[Prediction]:
    """The ``topk`` labels of each image with their probabilities, best first."""
    if topk < 1:
        raise UsageError(f"--topk must be at least 1, got {topk}")
    info = info_of(model)
    k = min(topk, len(info.labels))
    out: list[Prediction] = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start:start + batch_size])
        batch = np.stack([info.preprocess.image(open_image(p)) for p in chunk])
        probs = softmax(logits(model, batch))
        for path, row in zip(chunk, probs, strict=True):
            order = np.argsort(-row, kind="stable")[:k]
            out.append(Prediction(str(path), [Label(int(i), info.labels[int(i)], float(row[i])) for i in order]))
    return out
