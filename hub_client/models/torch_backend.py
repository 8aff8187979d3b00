"""The PyTorch backend (see ``backend.Backend``): transformers' ConvNeXt built from a spec, weights from a .ckpt,
safetensors or weights-only .bin.

A MindSpore Hub checkpoint runs here without MindSpore: :mod:`hub_client.weights.ckpt` reads the protobuf
records, :mod:`hub_client.weights.naming` renames MindCV → transformers. The numerics follow the weights:
MindCV's tanh GELU is transformers' ``gelu_pytorch_tanh``; MindSpore's ``pad_mode='same'`` on the stem and
downsample convolutions is a forward pre-hook that pads as MindSpore does (the remainder on the bottom/right).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from hub_client.weights import ckpt
from hub_client.weights.naming import hf_to_mindcv, mindcv_to_hf
from registry.errors import CheckpointError, DeviceUnavailableError, NoLoaderError

from . import zoo_torch
from .auto_spec import AutoSpec
from .devices import Device
from .spec import ConvNeXtSpec
from .zoo import ZooSpec

#: A BatchNorm's step counter: PyTorch keeps it, MindSpore has none, and inference never reads it.
_COUNTER = ".num_batches_tracked"


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return found


def select_device(device: Device) -> str:
    """``cpu`` or ``cuda[:N]`` as a torch device name; an absent one (or Ascend) lists those that are here."""
    if device.kind == "ascend":
        raise DeviceUnavailableError(device.text, available_devices(),
                                     "PyTorch (use backend='mindspore' for Ascend)")
    if device.kind == "cuda":
        index = device.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise DeviceUnavailableError(device.text, available_devices(), "PyTorch")
        return f"cuda:{device.index}" if device.index is not None else "cuda"
    return "cpu"


def build(spec: ConvNeXtSpec | ZooSpec | AutoSpec, *, init_weights: bool = True, seed: int | None = None,
          shapes: dict[str, tuple[int, ...]] | None = None) -> nn.Module:
    """transformers' network for ``spec``: ConvNeXt(V2) with MindSpore's padding when it asks, MindCV's zoo by its
    family's map, a repo's own architecture by its config.

    ``init_weights=False`` (weights follow) skips the random draws the load overwrites, as transformers' own
    ``from_pretrained`` does (``no_init_weights``), and ``init_head`` draws a classifier where a fresh one is asked
    for; ``seed`` makes the draws repeatable. ``shapes`` is the interface's.

    Raises:
        NoLoaderError: a network of MindCV's zoo, whose PyTorch name map is not written yet.
    """
    if isinstance(spec, ZooSpec) and not zoo_torch.supports(spec.name):
        raise NoLoaderError(spec.name, f"MindCV's {spec.family} has no PyTorch network here yet: load it with "
                            "backend='mindspore'", [], [spec.name])
    if seed is not None:
        torch.manual_seed(seed)
    with contextlib.nullcontext() if init_weights else _no_init():
        return _build(spec)


def _no_init() -> contextlib.AbstractContextManager[Any]:
    """transformers' switch for building a network without drawing its weights (none on an older release)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:
        return contextlib.nullcontext()
    found: contextlib.AbstractContextManager[Any] = no_init_weights()
    return found


def _build(spec: ConvNeXtSpec | ZooSpec | AutoSpec) -> nn.Module:
    import transformers

    if isinstance(spec, ZooSpec):
        zoo_net: nn.Module = zoo_torch.build(spec.name, spec.num_classes, spec.in_channels)
        return zoo_net
    if isinstance(spec, AutoSpec):
        return _build_auto(spec)
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
        body.embeddings.patch_embeddings.register_forward_pre_hook(zoo_torch.same_pad)
        for stage in body.encoder.stages:
            down = stage.downsampling_layer
            if len(down) == 2:  # LayerNorm, Conv2d (an nn.ModuleList; empty when the stage keeps its size)
                down[1].register_forward_pre_hook(zoo_torch.same_pad)
    model.eval()
    built: nn.Module = model
    return built


def _build_auto(spec: AutoSpec) -> nn.Module:
    """transformers' own network for the repo's ``config.json``, from the config alone (no remote code), with
    ``spec``'s classes (a fresh head when they differ from the file's)."""
    import transformers

    with quiet_tracing():
        config = transformers.AutoConfig.from_pretrained(str(spec.folder), trust_remote_code=False)
        if config.num_labels != spec.num_classes:
            config.num_labels = spec.num_classes
            config.id2label = {i: f"LABEL_{i}" for i in range(spec.num_classes)}
            config.label2id = {v: k for k, v in config.id2label.items()}
        model: nn.Module = transformers.AutoModelForImageClassification.from_config(  # type: ignore[no-untyped-call]
            config, trust_remote_code=False)
    model.eval()
    return model


def _is_convnext(model: nn.Module) -> bool:
    return getattr(getattr(model, "config", None), "model_type", "") in ("convnext", "convnextv2")


def own_names(spec: ConvNeXtSpec | ZooSpec | AutoSpec, state: dict[str, Any], path: Path) -> dict[str, Any]:
    """The file's tensors by this backend's names: a ConvNeXt keeps MindCV's (``parameter_shapes`` maps them);
    MindCV's zoo takes transformers' names by its family's map; step counters are left out.

    Raises:
        CheckpointError: a tensor of a zoo checkpoint that no rule of its family's map takes.
    """
    if isinstance(spec, ZooSpec):
        renamed, unknown = zoo_torch.to_torch(spec.name, state)
        if unknown:
            raise CheckpointError(path, f"tensors with no place in transformers' network for {spec.name}",
                                  unexpected=unknown)
        return renamed
    return {k: v for k, v in state.items() if not k.endswith(_COUNTER)}


def into(model: nn.Module, spec: ConvNeXtSpec | ZooSpec | AutoSpec, state: dict[str, Any],
         path: Path) -> dict[str, Any]:
    """The Hub's names (a transformers repo's, or MindCV's renamed by its family's map) by the network's in-memory
    names (transformers 5 renames some networks' parameters on load: ``hf_names``)."""
    if isinstance(spec, ConvNeXtSpec):
        return state
    from .hf_names import to_model

    return to_model(model, state, path)


def parameter_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    if not _is_convnext(model):  # transformers' own names, as its repos hold them
        return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith(_COUNTER)}
    shapes = {hf_to_mindcv(k): tuple(v.shape) for k, v in model.state_dict().items()}
    if None in shapes:
        raise CheckpointError("<network>", "the network has parameters with no MindCV name (a transformers change?)")
    return {k: v for k, v in shapes.items() if k is not None}


def read_ckpt(path: Path) -> dict[str, Any]:
    return ckpt.read(path)


def assign(model: nn.Module, state: dict[str, Any], path: Path, *, fresh_head: bool) -> None:
    if _is_convnext(model):
        version = 2 if getattr(model.config, "model_type", "") == "convnextv2" else 1
        tensors = {str(mindcv_to_hf(name, version)): torch.from_numpy(np.array(value, dtype=np.float32, copy=True))
                   for name, value in state.items()}
    else:  # buffers keep their own type (a BatchNorm's step counter is an integer)
        tensors = {name: torch.from_numpy(np.array(value, copy=True)) for name, value in state.items()}
    result = model.load_state_dict(tensors, strict=False)
    missing = [k for k in result.missing_keys if not (fresh_head and k not in tensors) and not k.endswith(_COUNTER)]
    if missing or result.unexpected_keys:
        raise CheckpointError(path, "PyTorch did not take every tensor", missing=missing,
                              unexpected=list(result.unexpected_keys))


def init_head(model: nn.Module, seed: int | None, head: str) -> None:
    """A fresh classifier, drawn as transformers draws one (its ``_init_weights``; the build drew nothing): the
    module ``head`` names where the network has it, else transformers' ``classifier`` (MindCV's ``head.`` of a
    ViT is transformers' ``classifier``)."""
    if seed is not None:
        torch.manual_seed(seed)
    try:
        fresh = model.get_submodule(head.rstrip("."))
    except AttributeError:
        fresh = model.get_submodule("classifier")
    draw = getattr(model, "_init_weights")  # noqa: B009  (transformers PreTrainedModel's, unknown to nn.Module)
    for module in fresh.modules():
        draw(module)


def finish(model: nn.Module, device: str) -> nn.Module:
    moved: nn.Module = model.to(torch.device(device)).eval()
    return moved


class _Logits(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(pixel_values=pixel_values).logits
        return out


@contextlib.contextmanager
def quiet_tracing() -> Iterator[None]:
    """While a converter traces the network: torch's tracer notes and transformers' config notes (printed once
    per process) are not the user's business."""
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(before)


def logits_module(model: nn.Module) -> nn.Module:
    """``model`` with the logits tensor as its one output (not transformers' output object), as exporters and
    converters trace it."""
    return _Logits(model).eval()


def _to_params(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    param = next(module.parameters())
    cast = {k: v.to(param.dtype, memory_format=torch.channels_last) if torch.is_tensor(v) and v.is_floating_point()
            and v.dim() == 4 else v for k, v in kwargs.items()}
    return tuple(a.to(param.dtype, memory_format=torch.channels_last) if torch.is_tensor(a) and a.dim() == 4
                 else a for a in args), cast


def _logits_float(module: nn.Module, args: Any, kwargs: Any, output: Any) -> Any:
    if getattr(output, "logits", None) is not None:
        output.logits = output.logits.float()
    return output


#: The reduced precisions a PyTorch network runs in.
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def to_reduced(model: nn.Module, precision: str) -> nn.Module:
    """``model`` with ``precision`` (bf16 or fp16) weights in channels_last (the layout oneDNN and cuDNN run
    fastest); float32 inputs are cast on the way in and the logits back to float32 on the way out, so a caller
    sees no difference but speed."""
    model = model.to(dtype=DTYPES[precision]).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    model.register_forward_pre_hook(_to_params, with_kwargs=True)
    model.register_forward_hook(_logits_float, with_kwargs=True)
    return model


def logits(model: nn.Module, batch: NDArray[Any]) -> NDArray[Any]:
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        out = model(pixel_values=torch.from_numpy(batch).to(dev, dtype)).logits
    result: NDArray[Any] = out.float().cpu().numpy()
    return result
