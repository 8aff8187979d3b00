"""bfloat16, which numpy lacks without ml_dtypes: widened to float32 exactly, in one place for every reader."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def widen_bfloat16(data: bytes) -> NDArray[Any]:
    """Raw little-endian bfloat16 values as float32: each is the high half of the float32 with the same value."""
    widened: NDArray[Any] = (np.frombuffer(data, np.uint16).astype(np.uint32) << 16).view(np.float32)
    return widened
