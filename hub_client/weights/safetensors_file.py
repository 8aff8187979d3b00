"""safetensors files read with no framework: the tensors through safetensors' numpy reader, or by the
published layout (u64 header length, JSON header, raw data) where numpy lacks a dtype; shapes from the header.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.errors import CheckpointError

from .dtypes import widen_bfloat16


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        state: dict[str, NDArray[Any]] = load_file(str(path))
        # with ml_dtypes imported (MindSpore, JAX do), numpy knows bfloat16 and safetensors returns it as is
        return {k: v.astype(np.float32) if v.dtype.name == "bfloat16" else v for k, v in state.items()}
    except TypeError:  # a dtype numpy lacks (bfloat16): read the file's own layout and widen it
        return _read_safetensors_widening(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(path, f"not a readable safetensors file ({e})") from None


_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def _safetensors_header(f: Any, path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header of a safetensors file (its published layout: u64 length, JSON) and where data starts."""
    raw_len = f.read(8)
    if len(raw_len) != 8:
        raise CheckpointError(path, "not a safetensors file (shorter than its header length)")
    (n,) = struct.unpack("<Q", raw_len)
    if n > 100 << 20:
        raise CheckpointError(path, f"not a safetensors file (a {n}-byte header)")
    try:
        header = json.loads(f.read(n))
    except ValueError as e:
        raise CheckpointError(path, f"not a safetensors file (header: {e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(path, "not a safetensors file (the header is not a JSON object)")
    return header, 8 + n


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """name → shape from the header alone; no tensor byte is read."""
    try:
        with open(path, "rb") as f:
            header, _ = _safetensors_header(f, path)
        return {k: tuple(int(d) for d in v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except OSError as e:
        raise CheckpointError(path, f"not readable ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(path, f"not a safetensors file (header entry: {e})") from None


def _read_safetensors_widening(path: Path) -> dict[str, NDArray[Any]]:
    """safetensors by its published layout (u64 header length, JSON header, raw data), bfloat16 → float32."""
    with open(path, "rb") as f:
        header, base = _safetensors_header(f, path)
        out: dict[str, NDArray[Any]] = {}
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            start, end = meta["data_offsets"]
            f.seek(base + start)
            data = f.read(end - start)
            if len(data) != end - start:
                raise CheckpointError(path, f"{name}: the file ends inside its data: truncated")
            if meta["dtype"] == "BF16":
                arr = widen_bfloat16(data)
            elif meta["dtype"] in _ST_DTYPES:
                arr = np.frombuffer(data, _ST_DTYPES[meta["dtype"]])
            else:
                raise CheckpointError(path, f"{name}: dtype {meta['dtype']} is not one this reader knows")
            out[name] = arr.reshape(meta["shape"])
    return out
