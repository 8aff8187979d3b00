"""ConvNeXt v1 and v2 in MindSpore, with MindCV's parameter names and shapes.

Written from the papers and MindCV's published parameter layout (the tests check every name and shape), so MindCV's
``.ckpt`` files load with no renaming, and transformers' weights after :mod:`hub_client.weights.naming`.
Importing this module imports MindSpore: only the loader does, never the CLI at start-up.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import TruncatedNormal, Zero, initializer

from .spec import ConvNeXtSpec

_EPS = 1e-6


class LayerNorm2d(nn.LayerNorm):  # type: ignore[misc]  # MindSpore ships no types
    """LayerNorm over the channels of an NCHW tensor; ``gamma``/``beta`` as MindCV names them."""

    def __init__(self, dim: int, eps: float = _EPS) -> None:
        super().__init__((dim,), epsilon=eps)

    def construct(self, x: Tensor) -> Tensor:
        x = ops.transpose(x, (0, 2, 3, 1))
        x = super().construct(x)
        return ops.transpose(x, (0, 3, 1, 2))


class GRN(nn.Cell):  # type: ignore[misc]  # MindSpore ships no types
    """Global Response Normalization (ConvNeXt v2) on NHWC tensors; (1, 1, 1, C) parameters like MindCV's."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = Parameter(Tensor(np.zeros((1, 1, 1, dim), np.float32)), name="gamma")
        self.beta = Parameter(Tensor(np.zeros((1, 1, 1, dim), np.float32)), name="beta")

    def construct(self, x: Tensor) -> Tensor:
        gx = ops.sqrt(ops.sum(x * x, (1, 2), keepdim=True))
        nx = gx / (ops.mean(gx, -1, True) + _EPS)
        return self.gamma * (x * nx) + self.beta + x


class Block(nn.Cell):  # type: ignore[misc]  # MindSpore ships no types
    """dwconv 7x7 → LayerNorm → Dense 4C → GELU → (GRN) → Dense C → (layer scale) → residual."""

    def __init__(self, dim: int, *, v2: bool, approximate: bool) -> None:
        super().__init__()
        self.v2 = v2
        self.dwconv = nn.Conv2d(dim, dim, 7, pad_mode="pad", padding=3, group=dim, has_bias=True)
        self.norm = nn.LayerNorm((dim,), epsilon=_EPS)
        self.pwconv1 = nn.Dense(dim, 4 * dim)
        self.act = nn.GELU(approximate=approximate)
        self.grn = GRN(4 * dim) if v2 else None
        self.pwconv2 = nn.Dense(4 * dim, dim)
        if not v2:
            self.gamma_ = Parameter(Tensor(np.full((dim,), 1e-6, np.float32)), name="gamma_")

    def construct(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.dwconv(x)
        x = ops.transpose(x, (0, 2, 3, 1))
        x = self.norm(x)
        x = self.pwconv1(x)
        x = self.act(x)
        if self.v2:
            x = self.grn(x)  # type: ignore[misc]  # set whenever v2
        x = self.pwconv2(x)
        if not self.v2:
            x = self.gamma_ * x
        x = ops.transpose(x, (0, 3, 1, 2))
        return shortcut + x


class ConvNeXt(nn.Cell):  # type: ignore[misc]  # MindSpore ships no types
    """``feature`` = [stem, stage 0, down 1, stage 1, down 2, stage 2, down 3, stage 3], then ``norm``, ``classifier``.

    ``spec.pad_mode`` applies to the stem and downsample convolutions: ``same`` (MindSpore's default, what
    MindCV trained with) pads inputs whose size is not a multiple of the stride; ``valid`` drops the remainder,
    as PyTorch does, which Hugging Face weights expect.
    """

    def __init__(self, spec: ConvNeXtSpec) -> None:
        super().__init__()
        self.spec = spec
        dims, v2, approx = spec.dims, spec.version == 2, spec.gelu == "tanh"
        parts: list[nn.Cell] = [nn.SequentialCell([
            nn.Conv2d(spec.in_channels, dims[0], spec.patch_size, stride=spec.patch_size, pad_mode=spec.pad_mode,
                      has_bias=True),
            LayerNorm2d(dims[0]),
        ])]
        for i, depth in enumerate(spec.depths):
            if i > 0:
                parts.append(nn.SequentialCell([
                    LayerNorm2d(dims[i - 1]),
                    nn.Conv2d(dims[i - 1], dims[i], 2, stride=2, pad_mode=spec.pad_mode, has_bias=True),
                ]))
            parts.append(nn.SequentialCell([Block(dims[i], v2=v2, approximate=approx) for _ in range(depth)]))
        self.feature = nn.SequentialCell(parts)
        self.norm = nn.LayerNorm((dims[-1],), epsilon=spec.head_eps)
        self.classifier = nn.Dense(dims[-1], spec.num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.feature(x)
        return self.norm(ops.mean(x, (2, 3)))

    def construct(self, x: Tensor) -> Tensor:
        return self.classifier(self.forward_features(x))


def build(spec: ConvNeXtSpec, *, init_weights: bool = True, seed: int | None = None) -> ConvNeXt:
    """A network for ``spec``; ``init_weights`` draws MindCV's training init (truncated normal, σ 0.02)."""
    net = ConvNeXt(spec)
    if init_weights:
        init_classifier(net, seed=seed, all_layers=True)
    net.set_train(False)
    return net


def init_classifier(net: ConvNeXt, *, seed: int | None = None, all_layers: bool = False) -> None:
    """Re-draw the head (or every conv/dense layer) as MindCV initialises them, for fine-tuning."""
    if seed is not None:
        ms.set_seed(seed)
    cells = [c for _, c in net.cells_and_names() if isinstance(c, (nn.Dense, nn.Conv2d))] if all_layers else [
        net.classifier]
    for cell in cells:
        cell.weight.set_data(initializer(TruncatedNormal(sigma=0.02), cell.weight.shape, cell.weight.dtype))
        if isinstance(cell, nn.Dense) and cell.bias is not None:
            cell.bias.set_data(initializer(Zero(), cell.bias.shape, cell.bias.dtype))


def param_shapes(net: nn.Cell) -> dict[str, tuple[int, ...]]:
    return {p.name: tuple(p.shape) for p in net.get_parameters()}
