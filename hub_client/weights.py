"""Weight files read into name → numpy array maps, in MindCV naming, without executing anything.

safetensors is read with its numpy reader (no framework needed); a PyTorch ``.bin`` only through
``torch.load(weights_only=True)``, which refuses anything but tensors, so a pickled payload never runs;
a MindSpore ``.ckpt`` through MindSpore's protobuf reader. Training state that MindSpore's checkpoint
callback saves beside the network (optimizer moments, step counters) is set aside, not treated as a key
the network lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.errors import BackendUnavailableError, CheckpointError

from .naming import rename_hf

#: Names MindSpore's training loop saves beside the weights; never part of the network.
_TRAINING_STATE = re.compile(
    r"^(moments|adam_m|adam_v|accum|ema|global_step|learning_rate|beta1_power|beta2_power|scale_sense|"
    r"current_iterator_step|last_overflow_iterator_step|epoch_num|step_num|optimizer)(\.|$)")


def is_training_state(name: str) -> bool:
    return bool(_TRAINING_STATE.match(name))


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
    import json
    import struct

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
                arr = (np.frombuffer(data, np.uint16).astype(np.uint32) << 16).view(np.float32)
            elif meta["dtype"] in _ST_DTYPES:
                arr = np.frombuffer(data, _ST_DTYPES[meta["dtype"]])
            else:
                raise CheckpointError(path, f"{name}: dtype {meta['dtype']} is not one this reader knows")
            out[name] = arr.reshape(meta["shape"])
    return out


def read_torch_bin(path: Path) -> dict[str, NDArray[Any]]:
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError("torch", "torch", f"{path.name} is a PyTorch pickle; reading it safely "
                                      "needs torch.load(weights_only=True). Prefer the repo's safetensors") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, ...: all mean "not plain tensors"
        raise CheckpointError(path, f"refused by weights-only loading ({type(e).__name__}: {e})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds a {type(state).__name__}, not a state dict")
    return {k: v.detach().float().numpy() if v.dtype == torch.bfloat16 else v.detach().numpy()
            for k, v in state.items() if hasattr(v, "detach")}


def read_mindspore_ckpt(path: Path) -> dict[str, Any]:
    """name → ``mindspore.Parameter``; MindSpore's own reader (protobuf, with its CRC check when present)."""
    import mindspore as ms

    try:
        return dict(ms.load_checkpoint(str(path)))
    except (ValueError, RuntimeError, TypeError, OSError) as e:
        raise CheckpointError(path, f"not a readable MindSpore checkpoint ({e})") from None


def read_state(path: Path, read_ckpt: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Any supported weights file as MindCV name → tensor; ``read_ckpt`` is the backend's .ckpt reader."""
    if path.name.endswith(".ckpt"):
        state = read_ckpt(path)
    elif path.name.endswith(".safetensors"):
        state = read_safetensors(path)
    elif path.name.endswith((".bin", ".pth", ".pt")):
        state = read_torch_bin(path)
    else:
        raise CheckpointError(path, f"unknown weights format {path.suffix!r}; expected .ckpt, .safetensors or .bin")
    return to_mindcv_names(state, path)


def to_mindcv_names(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """transformers names → MindCV names; a file already in MindCV naming passes through."""
    if any(k.startswith("feature.") for k in state):
        return state
    mapping, unknown = rename_hf(state)
    if unknown:
        raise CheckpointError(path, "tensors with no place in a ConvNeXt", unexpected=unknown)
    return {mapping[k]: v for k, v in state.items()}


def split_training_state(state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    kept = {k: v for k, v in state.items() if not is_training_state(k)}
    return kept, [k for k in state if k not in kept]


def check_fit(path: Path, state: dict[str, Any], expected: dict[str, tuple[int, ...]],
              skip_prefixes: tuple[str, ...] = ()) -> None:
    """Strict: every network parameter present with its shape, and no tensor left over."""
    def skipped(name: str) -> bool:
        return name.startswith(skip_prefixes) if skip_prefixes else False

    missing = [n for n in expected if n not in state and not skipped(n)]
    unexpected = [n for n in state if n not in expected and not skipped(n)]
    mismatched = [(n, tuple(state[n].shape), expected[n]) for n in expected
                  if n in state and not skipped(n) and tuple(state[n].shape) != expected[n]]
    if missing or unexpected or mismatched:
        raise CheckpointError(path, missing=missing, unexpected=unexpected, mismatched=mismatched)


def pick_weights(paths: list[Path]) -> Path | None:
    """The one weights file among a pull's files, preferring safetensors, then ckpt, then pickles."""
    for suffix in (".safetensors", ".ckpt", ".bin", ".pth", ".pt"):
        found = [p for p in paths if p.name.endswith(suffix)]
        if found:
            return sorted(found)[0]
    return None
