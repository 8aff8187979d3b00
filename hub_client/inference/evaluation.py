"""``hub eval``: measure top-1/top-5 on a dataset and compare with what the card claims.

The verdict allows for sampling noise: by default a claim counts as reproduced when the measured top-1 is
within two standard errors (binomial, ``sqrt(p(1-p)/n)``) of it, and at least 0.1 points; ``tolerance``
overrides that. A card's accuracy may be written as a fraction (Hugging Face, 0.9973) or a percentage
(MindSpore Hub, 81.28): both are read as percentages, by the rule ``hub list --min-top1`` uses too
(``registry.record.top1_percent``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hub_client.models.preprocess import open_image
from registry.errors import UsageError

from . import data
from .batching import prefetched
from .prediction import info_of, logits


@dataclass
class EvalResult:
    model: str
    dataset: str
    images: int
    top1: float
    top5: float
    k: int
    claim_top1: float | None
    claim_source: str | None
    tolerance: float | None
    verdict: str
    backend: str
    device: str
    seconds: float
    matched_by: str
    #: The precision the engine ran at (``fp32``, or ``bf16`` after its check).
    precision: str = "fp32"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_tolerance(top1: float, n: int) -> float:
    p = min(max(top1 / 100, 0.0), 1.0)
    return max(2 * math.sqrt(p * (1 - p) / n) * 100, 0.1)


def load_samples(dataset: str | Path, labels: tuple[str, ...]) -> tuple[list[data.Sample], str, str]:
    if str(dataset) == data.DIGITS:
        if len(labels) != 10:
            raise UsageError(f"sklearn-digits has 10 classes; this model has {len(labels)}")
        return data.digits_heldout(), "sklearn-digits held-out (every 4th scan)", "label id"
    samples, how = data.image_folder(Path(dataset), labels)
    return samples, str(dataset), how


#: Called after each batch with (images done, images in all, running top-1 in percent).
Progress = Callable[[int, int, float], None]


def evaluate(model: Any, dataset: str | Path, *, batch_size: int = 32, limit: int | None = None,
             tolerance: float | None = None, progress: Progress | None = None,
             workers: int | None = None) -> EvalResult:
    """Top-1/top-5 of ``model`` on ``dataset``, and the verdict against the top-1 its card claims.

    Args:
        model: a network from ``load_model`` (it carries the labels, preprocessing and the card's claim).
        dataset: ``sklearn-digits`` (the held-out scans), or an ImageFolder tree ``root/<class>/<image>``.
        batch_size: images per forward pass.
        limit: evaluate this many images, spread over the dataset.
        tolerance: points of top-1 within which the claim counts as reproduced (default two standard errors).
        progress: told after each batch how far it is and the running top-1 (the CLI's bar).
        workers: threads that decode and preprocess images ahead of the model (default: the cores, at most 4).

    Returns:
        An :class:`EvalResult`; ``verdict`` is ``reproduced``, ``below claim``, ``above claim`` or
        ``no claim on the card``.

    Raises:
        UsageError: the model was not made by ``load_model``, the dataset does not fit its classes, or a bad
            ``limit``.
    """
    info = info_of(model)
    samples, label, how = load_samples(dataset, info.labels)
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        step = max(len(samples) // limit, 1)  # spread over every class, not the first folders only
        samples = samples[::step][:limit]
    k = min(5, len(info.labels))
    hit1 = hit5 = done = 0
    start = time.perf_counter()

    def prepare(s: data.Sample) -> Any:
        return info.preprocess.image(s.image if not isinstance(s.image, Path) else open_image(s.image))

    for batch, targets in prefetched(samples, batch_size, prepare, workers=workers):
        scores = logits(model, batch)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        hit1 += int((top[:, 0] == targets).sum())
        hit5 += int((top == targets[:, None]).any(axis=1).sum())
        done += len(targets)
        if progress is not None:
            progress(done, len(samples), hit1 / done * 100)
    n = len(samples)
    top1, top5 = hit1 / n * 100, hit5 / n * 100
    claim = info.top1_claim
    tol = tolerance if tolerance is not None else (default_tolerance(claim[0], n) if claim else None)
    if claim is None or tol is None:
        verdict = "no claim on the card"
    elif abs(top1 - claim[0]) <= tol:
        verdict = "reproduced"
    elif top1 < claim[0]:
        verdict = "below claim"
    else:
        verdict = "above claim"
    return EvalResult(model=info.name, dataset=label, images=n, top1=top1, top5=top5, k=k,
                      claim_top1=claim[0] if claim else None, claim_source=claim[1] if claim else None,
                      tolerance=tol, verdict=verdict, backend=info.backend, device=info.device,
                      precision=info.spec.precision,
                      seconds=time.perf_counter() - start, matched_by=how)
