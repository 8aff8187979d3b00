"""Weights into the MindSpore ConvNeXt: read, rename, check strictly, then load; the head re-drawn on request."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mindspore as ms
import numpy as np

from registry.errors import CheckpointError

from . import msnet, weights
from .architecture import ConvNeXtSpec


def _as_parameter(name: str, value: Any) -> ms.Parameter:
    if isinstance(value, ms.Parameter):
        return value
    arr = np.asarray(value)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return ms.Parameter(ms.Tensor(arr), name=name)


def load_weights(net: msnet.ConvNeXt, path: Path, *, reinit_head: bool = False) -> list[str]:
    """Load ``path`` into ``net`` strictly; return the training-state keys that were set aside.

    With ``reinit_head`` the file's classifier is dropped and the network keeps the fresh one it was built with.
    """
    state, ignored = weights.split_training_state(weights.read_state(path, weights.read_mindspore_ckpt))
    skip = ("classifier.",) if reinit_head else ()
    weights.check_fit(path, state, msnet.param_shapes(net), skip_prefixes=skip)
    params = {k: _as_parameter(k, v) for k, v in state.items() if not (skip and k.startswith(skip))}
    not_loaded, _ = ms.load_param_into_net(net, params, strict_load=True)
    not_loaded = [n for n in not_loaded if not (skip and n.startswith(skip))]
    if not_loaded:
        raise CheckpointError(path, "MindSpore did not load every parameter", missing=list(not_loaded))
    return ignored


def build_and_load(spec: ConvNeXtSpec, path: Path | None, *, num_classes: int | None = None,
                   seed: int | None = None) -> tuple[msnet.ConvNeXt, list[str], bool]:
    """The network of ``spec`` with the weights of ``path``; ``num_classes`` ≠ the file's re-draws the head."""
    reinit = num_classes is not None and num_classes != spec.num_classes
    target = spec.with_classes(num_classes) if reinit and num_classes is not None else spec
    net = msnet.build(target, init_weights=path is None, seed=seed)
    ignored: list[str] = []
    if path is not None:
        ignored = load_weights(net, path, reinit_head=reinit)
        if reinit:
            msnet.init_classifier(net, seed=seed)
            warnings.warn(f"{path.name} has a {spec.num_classes}-class head; the network was built with "
                          f"num_classes={num_classes} and its classifier re-initialised: fine-tune it before use",
                          stacklevel=3)
    net.set_train(False)
    return net, ignored, reinit
