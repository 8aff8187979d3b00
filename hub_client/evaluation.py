"""``hub eval``: measure top-1/top-5 on a dataset and compare with what the card claims.

The verdict allows for sampling noise: by default a claim counts as reproduced when the measured top-1 is
within two standard errors (binomial, ``sqrt(p(1-p)/n)``) of it, and at least 0.1 points; ``tolerance``
overrides that. A card's accuracy may be written as a fraction (Hugging Face, 0.9973) or a percentage
(MindSpore Hub, 81.28): both are read as percentages.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from registry.errors import UsageError

from . import datasets
from .inference import info_of, logits
from .preprocess import open_image

_TOP1_NAMES = ("top1acc", "top1", "top1accuracy", "accuracy", "acc", "top1acc1")


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def claimed_top1(claims: dict[str, float]) -> tuple[float, str] | None:
    """The card's top-1 claim in percent, and the metric name it came from."""
    norm = {"".join(c for c in k.lower() if c.isalnum()): (k, v) for k, v in claims.items()}
    for key in _TOP1_NAMES:
        if key in norm:
            name, value = norm[key]
            return (value * 100 if value <= 1 else value), name
    return None


def default_tolerance(top1: float, n: int) -> float:
    p = min(max(top1 / 100, 0.0), 1.0)
    return max(2 * math.sqrt(p * (1 - p) / n) * 100, 0.1)


def load_samples(dataset: str | Path, labels: tuple[str, ...]) -> tuple[list[datasets.Sample], str, str]:
    if str(dataset) == datasets.DIGITS:
        if len(labels) != 10:
            raise UsageError(f"sklearn-digits has 10 classes; this model has {len(labels)}")
        return datasets.digits_heldout(), "sklearn-digits held-out (every 4th scan)", "label id"
    samples, how = datasets.image_folder(Path(dataset), labels)
    return samples, str(dataset), how


def evaluate(model: Any, dataset: str | Path, *, batch_size: int = 32, limit: int | None = None,
             tolerance: float | None = None) -> EvalResult:
    """Top-1/top-5 of ``model`` (from :func:`load_model`) on ``dataset`` and the verdict against its card."""
    info = info_of(model)
    samples, label, how = load_samples(dataset, info.labels)
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        step = max(len(samples) // limit, 1)  # spread over every class, not the first folders only
        samples = samples[::step][:limit]
    k = min(5, len(info.labels))
    hit1 = hit5 = 0
    start = time.perf_counter()
    for chunk in datasets.batches(samples, batch_size):
        batch = np.stack([info.preprocess.image(s.image if not isinstance(s.image, Path) else open_image(s.image))
                          for s in chunk])
        scores = logits(model, batch)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        targets = np.array([s.target for s in chunk])
        hit1 += int((top[:, 0] == targets).sum())
        hit5 += int((top == targets[:, None]).any(axis=1).sum())
    n = len(samples)
    top1, top5 = hit1 / n * 100, hit5 / n * 100
    claim = claimed_top1(info.claims)
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
                      seconds=time.perf_counter() - start, matched_by=how)
