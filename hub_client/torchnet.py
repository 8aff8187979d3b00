"""The PyTorch backend: transformers' ConvNeXt built from a spec, weights from a .ckpt or safetensors.

A MindSpore Hub checkpoint runs here without MindSpore: :mod:`hub_client.ckpt` reads the protobuf records,
:mod:`hub_client.naming` renames MindCV → transformers. The numerics follow the weights: MindCV's tanh GELU
is transformers' ``gelu_pytorch_tanh``; MindSpore's ``pad_mode='same'`` on the stem and downsample
convolutions is a forward pre-hook that pads as MindSpore does (the remainder on the bottom/right).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from registry.errors import CheckpointError, DeviceUnavailableError, UsageError

from . import ckpt, weights
from .architecture import ConvNeXtSpec
from .naming import hf_to_mindcv, mindcv_to_hf


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return found


def device_for(device: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:1`` (``CPU`` and ``GPU`` are accepted too); an absent one lists the others."""
    name = device.strip().lower()
    if name == "gpu" or name.startswith("gpu:"):
        name = "cuda" + name[3:]
    if name in ("ascend", "npu"):
        raise DeviceUnavailableError(device, available_devices(), "PyTorch (use backend='mindspore' for Ascend)")
    if not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise UsageError(f"unknown device {device!r}: PyTorch runs on cpu or cuda[:N]")
    if name.startswith("cuda"):
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise DeviceUnavailableError(device, available_devices(), "PyTorch")
    return torch.device(name)


def _same_pad_hook(module: nn.Conv2d, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    x = args[0]
    k, s = module.kernel_size, module.stride
    pads = []
    for dim, kk, ss in ((x.shape[-1], k[1], s[1]), (x.shape[-2], k[0], s[0])):
        total = max((math.ceil(dim / ss) - 1) * ss + kk - dim, 0)
        pads += [total // 2, total - total // 2]
    return (F.pad(x, pads),) if any(pads) else args


def build(spec: ConvNeXtSpec) -> nn.Module:
    import transformers

    common: dict[str, Any] = dict(
        depths=list(spec.depths), hidden_sizes=list(spec.dims), num_labels=spec.num_classes,
        num_channels=spec.in_channels, patch_size=spec.patch_size, layer_norm_eps=spec.head_eps,
        hidden_act="gelu" if spec.gelu == "erf" else "gelu_pytorch_tanh", drop_path_rate=0.0)
    if spec.labels:
        common["id2label"] = dict(enumerate(spec.labels))
        common["label2id"] = {v: k for k, v in enumerate(spec.labels)}
    model: Any
    body: Any
    if spec.version == 2:
        model = transformers.ConvNextV2ForImageClassification(transformers.ConvNextV2Config(**common))
        body = model.convnextv2
    else:
        model = transformers.ConvNextForImageClassification(
            transformers.ConvNextConfig(layer_scale_init_value=1e-6, **common))
        body = model.convnext
    if spec.pad_mode == "same":
        body.embeddings.patch_embeddings.register_forward_pre_hook(_same_pad_hook)
        for stage in body.encoder.stages:
            down = stage.downsampling_layer
            if len(down) == 2:  # LayerNorm, Conv2d (an nn.ModuleList; empty when the stage keeps its size)
                down[1].register_forward_pre_hook(_same_pad_hook)
    model.eval()
    built: nn.Module = model
    return built


def load_weights(model: nn.Module, path: Path, spec: ConvNeXtSpec, *, reinit_head: bool = False) -> list[str]:
    """Strictly, as the MindSpore backend does; returns the training-state keys set aside."""
    state, ignored = weights.split_training_state(weights.read_state(path, ckpt.read))
    expected = {hf_to_mindcv(k): tuple(v.shape) for k, v in model.state_dict().items()}
    if None in expected:
        raise CheckpointError(path, "the network has parameters with no MindCV name (a transformers change?)")
    skip = ("classifier.",) if reinit_head else ()
    weights.check_fit(path, state, {k: v for k, v in expected.items() if k is not None}, skip_prefixes=skip)
    tensors = {}
    for name, value in state.items():
        if skip and name.startswith(skip):
            continue
        target = mindcv_to_hf(name, spec.version)
        arr = np.asarray(value)
        tensors[target] = torch.from_numpy(np.array(arr, dtype=np.float32, copy=True))
    result = model.load_state_dict({str(k): v for k, v in tensors.items()}, strict=not reinit_head)
    missing = [k for k in result.missing_keys if not (reinit_head and k.startswith("classifier."))]
    if missing or result.unexpected_keys:
        raise CheckpointError(path, "PyTorch did not take every tensor", missing=missing,
                              unexpected=list(result.unexpected_keys))
    return ignored


def build_and_load(spec: ConvNeXtSpec, path: Path | None, *, device: str, num_classes: int | None = None,
                   seed: int | None = None) -> tuple[nn.Module, list[str], bool, str]:
    import warnings

    dev = device_for(device)
    if seed is not None:
        torch.manual_seed(seed)
    reinit = num_classes is not None and num_classes != spec.num_classes
    target = spec.with_classes(num_classes) if reinit and num_classes is not None else spec
    model = build(target)
    ignored: list[str] = []
    if path is not None:
        ignored = load_weights(model, path, spec, reinit_head=reinit)
        if reinit:
            warnings.warn(f"{path.name} has a {spec.num_classes}-class head; the network was built with "
                          f"num_classes={num_classes} and its classifier re-initialised: fine-tune it before use",
                          stacklevel=3)
    return model.to(dev).eval(), ignored, reinit, str(dev)


def logits(model: nn.Module, batch: NDArray[Any]) -> NDArray[Any]:
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        out = model(pixel_values=torch.from_numpy(batch).to(dev, dtype)).logits
    result: NDArray[Any] = out.float().cpu().numpy()
    return result
