"""Any weights file read into a name → array map in MindCV naming, without executing anything.

safetensors is read with its numpy reader (no framework needed); a PyTorch ``.bin`` only through
``torch.load(weights_only=True)``, which refuses anything but tensors, so a pickled payload never runs; a
MindSpore ``.ckpt`` through the backend's reader (MindSpore's own, or ``ckpt.read`` without MindSpore).
Training state that MindSpore's checkpoint callback saves beside the network (optimizer moments, step
counters) is set aside, not treated as a key the network lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from registry.errors import BackendUnavailableError, CheckpointError
from registry.formats import LOADABLE, weight_format

from . import ckpt
from .naming import rename_hf
from .safetensors_file import read_safetensors, safetensors_shapes

#: Names MindSpore's training loop saves beside the weights; never part of the network.
_TRAINING_STATE = re.compile(
    r"^(moments|adam_m|adam_v|accum|ema|global_step|learning_rate|beta1_power|beta2_power|scale_sense|"
    r"current_iterator_step|last_overflow_iterator_step|epoch_num|step_num|optimizer)(\.|$)")


def is_training_state(name: str) -> bool:
    return bool(_TRAINING_STATE.match(name))


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


def read_state(path: Path, read_ckpt: Callable[[Path], dict[str, Any]] = ckpt.read, *,
               rename: bool = True) -> dict[str, Any]:
    """Any supported weights file as MindCV name → tensor; ``read_ckpt`` is the backend's .ckpt reader.
    ``rename`` maps a ConvNeXt's transformers names to MindCV's; other networks keep the names they have."""
    fmt = weight_format(path.name)
    if fmt == "ckpt":
        state = read_ckpt(path)
    elif fmt == "safetensors":
        state = read_safetensors(path)
    elif fmt == "bin":
        state = read_torch_bin(path)
    else:
        raise CheckpointError(path, f"unknown weights format {path.suffix!r}; expected .ckpt, .safetensors or .bin")
    return to_mindcv_names(state, path) if rename else state


def read_shapes(path: Path) -> dict[str, tuple[int, ...]] | None:
    """name → shape from a file's headers alone (no tensor byte is read); None for a format without headers."""
    fmt = weight_format(path.name)
    if fmt == "ckpt":
        return ckpt.shapes(path)
    if fmt == "safetensors":
        return safetensors_shapes(path)
    return None


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
    """The one weights file among a pull's files, in the order of ``registry.formats.LOADABLE``."""
    for fmt in LOADABLE:
        found = [p for p in paths if weight_format(p.name) == fmt]
        if found:
            return sorted(found)[0]
    return None
