"""Checkpoints of other MindCV releases than the pinned one, where they differ only by a known split: joined back
into the pinned release's layout, as data (one pattern per family), not code per model.

After MindCV 0.3.0, ShuffleNet v1's grouped 1x1 convolutions became one convolution per group
(``GroupConv.convs.<i>``): the pinned network's ``<conv>.weight`` of shape (out, in/g, 1, 1) is the per-group
weights, each (out/g, in/g, 1, 1), stacked along the output axis in group order.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

#: Per MindCV family (its model file): tensors split into numbered parts that the pinned release holds as one,
#: joined along axis 0 in index order.
SPLITS: dict[str, re.Pattern[str]] = {
    "shufflenetv1": re.compile(r"^(?P<base>.+)\.convs\.(?P<index>\d+)\.(?P<leaf>weight|bias)$"),
}


def as_array(value: Any) -> np.ndarray[Any, Any]:
    """A framework tensor or array as numpy (MindSpore's ``Parameter`` through ``asnumpy``)."""
    return np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value)


def to_pinned(family: str, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` in the pinned MindCV's layout: split tensors of ``family`` joined, everything else as it is.

    A file already in the pinned layout comes back unchanged (the same dict)."""
    pattern = SPLITS.get(family)
    if pattern is None or not any(pattern.match(k) for k in state):
        return state
    parts: dict[str, dict[int, Any]] = {}
    out: dict[str, Any] = {}
    for name, value in state.items():
        m = pattern.match(name)
        if m is None:
            out[name] = value
            continue
        joined = f"{m['base']}.{m['leaf']}"
        parts.setdefault(joined, {})[int(m["index"])] = value
        out.setdefault(joined, None)  # keep the file's order
    for joined, pieces in parts.items():
        if sorted(pieces) != list(range(len(pieces))):
            raise ValueError(f"{joined}: parts {sorted(pieces)} are not numbered 0..{len(pieces) - 1}")
        out[joined] = np.concatenate([as_array(pieces[i]) for i in range(len(pieces))], axis=0)
    return out
