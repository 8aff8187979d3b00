"""ConvNeXt v1 and v2 as an OpenVINO graph, built straight from a checkpoint's arrays (MindCV names).

Why a graph of its own: converting transformers' network with ``openvino.convert_model`` means importing PyTorch
and transformers, building the network and tracing it, which is most of a cold first ``hub predict`` on the
``auto`` backend. The graph is a few dozen OpenVINO operations, and the weights are numpy arrays already (read by
:mod:`hub_client.weights`), so no framework is imported at all. The tests hold it to transformers' logits (and so
MindCV's) for v1 and v2, both paddings and both GELUs.

The numerics are the spec's, as the PyTorch network runs them: LayerNorm with the variance inside the square root
(eps 1e-6; the head's ``head_eps``), the GELU of the weights' origin, and the stem and downsample convolutions
padded as MindSpore's ``same`` pads (the remainder on the bottom and right) or not at all (``valid``). The image
size is fixed, because those paddings depend on it; the batch is dynamic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as op

from .spec import ConvNeXtSpec

#: Bumped when the graph changes, so engines built by an earlier one are not reused (part of the engine key).
BUILDER = "ov_convnext/1"
_EPS = 1e-6


class _Graph:
    """The weights, and the operations that read them by MindCV name."""

    def __init__(self, spec: ConvNeXtSpec, state: dict[str, Any]) -> None:
        self.spec = spec
        self.state = state

    def const(self, name: str, shape: tuple[int, ...] | None = None) -> Any:
        value = np.asarray(self.state[name], dtype=np.float32)
        return op.constant(np.ascontiguousarray(value.reshape(shape) if shape else value))

    def per_channel(self, name: str) -> Any:
        """A (C,) parameter shaped to broadcast over NCHW."""
        return self.const(name, (1, -1, 1, 1))

    def layer_norm(self, x: Any, prefix: str, eps: float = _EPS, shape: tuple[int, ...] = (1, -1, 1, 1)) -> Any:
        """LayerNorm over the channels (axis 1: of NCHW, or of the pooled (N, C)), ``gamma``/``beta`` as MindCV
        names them, shaped to broadcast over ``x``."""
        normed = op.mvn(x, op.constant(np.array([1], np.int64)), True, eps, "inside_sqrt")
        return op.add(op.multiply(normed, self.const(prefix + "gamma", shape)), self.const(prefix + "beta", shape))

    def conv(self, x: Any, prefix: str, stride: int, size: int) -> tuple[Any, int]:
        """A strided convolution with the spec's padding at input ``size``: (output, its size)."""
        weight = self.const(prefix + "weight")
        k = int(np.shape(self.state[prefix + "weight"])[2])
        if self.spec.pad_mode == "same":
            out = -(-size // stride)
            total = max((out - 1) * stride + k - size, 0)
            begin, end = [total // 2] * 2, [total - total // 2] * 2
        else:
            out, begin, end = (size - k) // stride + 1, [0, 0], [0, 0]
        y = op.convolution(x, weight, [stride, stride], begin, end, [1, 1])
        return op.add(y, self.per_channel(prefix + "bias")), out

    def block(self, x: Any, prefix: str, dim: int) -> Any:
        """dwconv 7x7 → LayerNorm → 1x1 up to 4C → GELU → (GRN) → 1x1 down to C → (layer scale) → residual."""
        dw = op.group_convolution(x, self.const(prefix + "dwconv.weight", (dim, 1, 1, 7, 7)), [1, 1], [3, 3],
                                  [3, 3], [1, 1])
        y = self.layer_norm(op.add(dw, self.per_channel(prefix + "dwconv.bias")), prefix + "norm.")
        y = self.pointwise(y, prefix + "pwconv1.")
        y = op.gelu(y, "tanh" if self.spec.gelu == "tanh" else "erf")
        if self.spec.version == 2:
            y = self.grn(y, prefix + "grn.")
        y = self.pointwise(y, prefix + "pwconv2.")
        if self.spec.version == 1:
            y = op.multiply(y, self.per_channel(prefix + "gamma_"))
        return op.add(x, y)

    def pointwise(self, x: Any, prefix: str) -> Any:
        """A Dense over the channels, as a 1x1 convolution on NCHW (no transposes)."""
        y = op.convolution(x, self.const(prefix + "weight", (*np.shape(self.state[prefix + "weight"]), 1, 1)),
                           [1, 1], [0, 0], [0, 0], [1, 1])
        return op.add(y, self.per_channel(prefix + "bias"))

    def grn(self, x: Any, prefix: str) -> Any:
        """Global Response Normalization: the L2 norm over the image, over its mean across channels."""
        spatial = op.reduce_sum(op.multiply(x, x), op.constant(np.array([2, 3], np.int64)), True)
        gx = op.sqrt(spatial)
        nx = op.divide(gx, op.add(op.reduce_mean(gx, op.constant(np.array([1], np.int64)), True),
                                  op.constant(np.float32(_EPS))))
        scaled = op.multiply(self.per_channel(prefix + "gamma"), op.multiply(x, nx))
        return op.add(op.add(scaled, self.per_channel(prefix + "beta")), x)

    def head(self, x: Any) -> Any:
        """Global average pool → LayerNorm (``head_eps``) → classifier."""
        pooled = op.reduce_mean(x, op.constant(np.array([2, 3], np.int64)), False)
        normed = self.layer_norm(pooled, "norm.", self.spec.head_eps, (1, -1))
        return op.add(op.matmul(normed, self.const("classifier.weight"), False, True), self.const("classifier.bias"))


def build(spec: ConvNeXtSpec, state: dict[str, Any], size: int) -> ov.Model:
    """The network of ``spec`` with ``state`` (MindCV name → array, every name of ``spec.mindcv_shapes`` and no
    other: the caller checks) for ``size`` x ``size`` images and any batch; its output is the logits."""
    g = _Graph(spec, state)
    pixels = op.parameter([-1, spec.in_channels, size, size], np.float32, name="pixel_values")
    x, side = g.conv(pixels, "feature.0.0.", spec.patch_size, size)
    x = g.layer_norm(x, "feature.0.1.")
    for i, depth in enumerate(spec.depths):
        if i:
            x = g.layer_norm(x, f"feature.{2 * i}.0.")
            x, side = g.conv(x, f"feature.{2 * i}.1.", 2, side)
        for b in range(depth):
            x = g.block(x, f"feature.{2 * i + 1}.{b}.", spec.dims[i])
    logits = g.head(x)
    logits.get_output_tensor(0).set_names({"logits"})
    return ov.Model([logits], [pixels], spec.name)
