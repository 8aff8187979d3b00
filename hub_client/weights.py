"""Weight files read into name → numpy array maps, in MindCV naming, without executing anything.

safetensors is read with its numpy reader (no framework needed); a PyTorch ``.bin`` only through
``torch.load(weights_only=True)``, which refuses anything but tensors, so a pickled payload never runs;
a MindSpore ``.ckpt`` through MindSpore's protobuf reader. Training state that MindSpore's checkpoint
callback saves beside the network (optimizer moments, step counters) is set aside, not treated as a key
the network lacks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from registry.errors import BackendUnavailableError, CheckpointError

from .naming import rename_hf

#: Names MindSpore's training loop saves beside the weights; never part of the network.
_TRAINING_STATE = re.compile(
    r"^(moments|adam_m|adam_v|accum|ema|global_step|learning_rate|beta1_power|beta2_power|scale_sense|"
    r"current_iterator_step|last_overflow_iterator_step|epoch_num|step_num|optimizer)(\.|$)")

WEIGHT_SUFFIXES = (".ckpt", ".safetensors", ".bin", ".pth", ".pt")


def is_training_state(name: str) -> bool:
    return bool(_TRAINING_STATE.match(name))


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(path, f"not a readable safetensors file ({e})") from None


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
