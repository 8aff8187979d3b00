"""OpenVINO's ConvNeXt, built from the checkpoint's arrays: transformers' logits (and, through them, MindCV's) for
v1 and v2, both paddings, both GELUs and image sizes that are not multiples of the strides; a checkpoint that does
not fit is refused before anything is built; and ``auto`` on a CPU imports neither PyTorch nor transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ov = pytest.importorskip("openvino")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from hub_client.models import accelerate, ov_backend, ov_convnext  # noqa: E402
from hub_client.models import torch_backend as torchnet  # noqa: E402
from hub_client.models.backend import build_and_load, get_backend  # noqa: E402
from hub_client.models.spec import mindcv_shapes, spec_for_variant  # noqa: E402
from hub_client.weights import ckpt  # noqa: E402
from registry.errors import CheckpointError  # noqa: E402


def trained_like(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, np.ndarray]:
    """Random weights with LayerNorm scales near 1 and shifts away from 0, as trained networks have them."""
    rng = np.random.default_rng(seed)
    values = {k: (rng.standard_normal(s) * 0.05).astype(np.float32) for k, s in shapes.items()}
    for k in values:
        if k.endswith(".gamma") and ".grn." not in k:
            values[k] += 1.0
        elif k.endswith(".beta"):
            values[k] *= 4
    return values


@pytest.mark.parametrize(("variant", "origin", "size"), [
    ("convnext_tiny", "mindcv", 100),  # v1, tanh GELU, MindSpore's same padding: 100 -> 25 -> 13 -> 7 -> 4
    ("convnextv2_atto", "mindcv", 224),
    ("convnextv2_atto", "huggingface", 101),  # erf GELU, no padding (the remainder dropped), head eps 1e-12
    ("convnext_tiny", "huggingface", 64),
])
def test_logits_are_transformers_own(variant, origin, size, tmp_path):
    spec = spec_for_variant(variant, origin=origin)
    values = trained_like(mindcv_shapes(spec), seed=size)
    path = tmp_path / "w.ckpt"
    ckpt.write(path, values)
    x = np.random.default_rng(1).standard_normal((3, spec.in_channels, size, size)).astype(np.float32)
    compiled = ov.Core().compile_model(ov_convnext.build(spec, accelerate.convnext_state(spec, path), size), "CPU",
                                       {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled(x)[0]
    net, *_ = build_and_load(get_backend("torch"), spec, path, device="cpu")
    want = torchnet.logits(net, x)
    assert got.shape == want.shape == (3, spec.num_classes)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    assert np.array_equal(got.argmax(1), want.argmax(1))
    kept = ov_backend.save(ov_convnext.build(spec, values, size), tmp_path / "engines" / "key" / "model.xml")
    model = ov.Core().read_model(str(kept))  # kept as IR: any batch, this image size
    assert model.input(0).get_partial_shape().to_string() == f"[?,{spec.in_channels},{size},{size}]"
    assert np.array_equal(ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0], got)


def test_a_checkpoint_that_does_not_fit_is_refused_before_anything_is_built(tmp_path):
    spec = spec_for_variant("convnextv2_atto")
    values = trained_like(mindcv_shapes(spec), seed=2)
    values.pop("feature.1.0.grn.gamma")
    values["feature.1.0.pwconv1.weight"] = values["feature.1.0.pwconv1.weight"][:8]
    values["feature.1.0.extra"] = np.zeros(3, np.float32)
    values["adam_m.feature.0.0.weight"] = np.zeros(3, np.float32)  # training state is set aside, not refused
    path = tmp_path / "w.ckpt"
    ckpt.write(path, values)
    engines = tmp_path / "engines"
    with pytest.raises(CheckpointError) as e:
        accelerate.load_openvino(spec, path, "fp32", 224, engines)
    text = str(e.value)
    assert "feature.1.0.grn.gamma" in text and "feature.1.0.extra" in text and "feature.1.0.pwconv1.weight" in text
    assert "adam_m" not in text
    assert not list(engines.rglob("model.xml"))


def test_auto_on_a_cpu_imports_neither_pytorch_nor_transformers(nginx, net, cards, tmp_path):
    from helpers.weights import serve

    name = serve(nginx, cards, tmp_path, "convnextv2_atto", seed=41)[0]
    probe = ("import json, sys, numpy as np, hub_client\n"
             f"net = hub_client.load_model({name!r})\n"
             "out = net(np.zeros((2, 3, 224, 224), np.float32))\n"
             "frameworks = sorted(m for m in ('torch', 'transformers', 'mindspore') if m in sys.modules)\n"
             "print(json.dumps({'engine': net.hub_info.spec.engine, 'shape': list(out.shape),\n"
             "                  'imported': frameworks}))")
    for _ in range(2):  # cold (the engine built from the checkpoint), then warm (its IR compiled)
        run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                             env=os.environ | {"GLOG_v": "3"}, cwd=Path(__file__).parent)
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout.splitlines()[-1])
        assert doc == {"engine": "openvino", "shape": [2, 1000], "imported": []}


def test_a_cold_engine_is_built_in_steps_the_cli_can_show_and_a_warm_one_in_none(nginx, net, cards, tmp_path):
    from contextlib import contextmanager

    from helpers.weights import serve

    import hub_client
    from hub_client.fetch.transfer import NoProgress

    name = serve(nginx, cards, tmp_path, "convnextv2_atto", seed=43)[0]
    seen: list[str] = []

    class Steps:
        def __call__(self, file: str) -> NoProgress:
            return NoProgress()

        @contextmanager
        def step(self, text: str):
            seen.append(text)
            yield

    hub_client.load_model(name, progress=Steps())
    assert seen[0] == "building the OpenVINO engine of convnextv2_atto (once)", seen
    seen.clear()
    assert hub_client.load_model(name, progress=Steps()).hub_info.backend == "openvino"
    assert seen == []  # the engine and the verdict are kept: nothing to wait for
