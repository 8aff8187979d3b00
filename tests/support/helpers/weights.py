"""Real MindCV-layout checkpoints for the loader tests, written by MindSpore and served by nginx."""

from __future__ import annotations

from pathlib import Path

import mindspore as ms
import numpy as np

from hub_client.models import ms_convnext
from hub_client.models.spec import spec_for_variant

from .publish import index, publish, unique


def make_ckpt(path: Path, variant: str, *, seed: int = 0, extra: dict[str, np.ndarray] | None = None,
              drop: str | None = None, num_classes: int = 1000) -> dict[str, np.ndarray]:
    """A checkpoint in MindCV layout, written by mindspore.save_checkpoint, with non-trivial values everywhere."""
    net = ms_convnext.build(spec_for_variant(variant, num_classes=num_classes), init_weights=False)
    rng = np.random.default_rng(seed)
    values = {n: (rng.standard_normal(s) * 0.05).astype(np.float32) for n, s in ms_convnext.param_shapes(net).items()}
    for n in values:  # LayerNorm scales near 1, as trained networks have
        if n.endswith(".gamma") and ".grn." not in n:
            values[n] += 1.0
    if drop:
        values.pop(drop)
    values.update(extra or {})
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(v)} for n, v in values.items()], str(path))
    return values


def serve(nginx, cards, tmp_path, variant: str, **kw) -> tuple[str, dict[str, np.ndarray]]:
    """A MindCV-layout checkpoint of ``variant`` on nginx under a fresh card (prefix sha256); its name and values."""
    name = unique(variant)
    values = make_ckpt(tmp_path / "w.ckpt", variant, **kw)
    publish(nginx.root, cards, name, (tmp_path / "w.ckpt").read_bytes(), base=nginx.url, prefix=True)
    index(cards)
    return name, values
