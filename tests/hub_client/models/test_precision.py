"""The engine step of load_model: auto runs the fastest engine and numerics that keep the answers, after a check
on the model that is kept per weights file; fp32 is exact; a failed check falls back to fp32 and says so."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers.weights import serve  # noqa: E402

import hub_client  # noqa: E402
from hub_client.models import precision  # noqa: E402
from hub_client.models import torch_backend as torchnet  # noqa: E402
from registry.errors import UsageError  # noqa: E402
from registry.settings import Settings  # noqa: E402

HAS_OV = importlib.util.find_spec("openvino") is not None
BF16 = precision.native_bf16()


@pytest.fixture
def served(nginx, net, cards, tmp_path):
    return serve(nginx, cards, tmp_path, "convnextv2_atto", seed=31)[0]


def fp32_reference(name: str, x: np.ndarray) -> np.ndarray:
    return hub_client.load_model(name, backend="mindspore")(ms.Tensor(x)).asnumpy()


def test_compare_judges_only_decisive_images():
    ref = np.array([[10.0, 0.0, 0.0], [5.0, 4.99, 0.0]])
    got = np.array([[9.9, 0.1, 0.0], [4.98, 5.0, 0.0]])  # the second image flips, but fp32 was undecided there
    check = precision.compare(ref, got, "torch", "bf16")
    assert check.max_rel_error == pytest.approx(0.01) and check.decisive == 1 and check.top1_agreement == 1.0
    assert check.passed
    flipped = precision.compare(ref, np.array([[0.0, 10.0, 0.0], [5.0, 4.99, 0.0]]), "torch", "bf16")
    assert flipped.top1_agreement == 0.0 and not flipped.passed


def test_torch_runs_bf16_only_after_the_check_and_keeps_its_verdict(served, monkeypatch):
    x = np.random.default_rng(5).standard_normal((2, 3, 224, 224)).astype(np.float32)
    want = fp32_reference(served, x)
    exact = hub_client.load_model(served, backend="torch", precision="fp32")
    assert exact.hub_info.spec.precision == "fp32" and exact.hub_info.check is None
    assert np.abs(torchnet.logits(exact, x) - want).max() <= 1e-4
    named = hub_client.load_model(served, backend="torch")  # a framework named: exact unless a precision is asked
    assert named.hub_info.spec.precision == "fp32" and named.hub_info.check is None
    assert all(p.dtype == torch.float32 for p in named.parameters())  # fine-tuning gets fp32 weights
    auto = hub_client.load_model(served, backend="torch", precision="auto")
    if not BF16:  # no bf16 instructions: auto stays exact and checks nothing
        assert auto.hub_info.spec.precision == "fp32" and auto.hub_info.check is None
        return
    check = auto.hub_info.check
    assert check.passed and check.fp32_s > 0 and check.reduced_s > 0
    assert auto.hub_info.spec.precision == ("bf16" if check.faster else "fp32")  # kept only if also faster
    net = hub_client.load_model(served, backend="torch", precision="bf16")  # asked by name: kept once it passes
    info = net.hub_info
    assert (info.spec.engine, info.spec.precision) == ("torch", "bf16")
    with torch.no_grad():  # float32 in, float32 logits out, as before
        out = net(pixel_values=torch.from_numpy(x)).logits
    assert out.dtype == torch.float32
    assert np.abs(out.numpy() - want).max() <= info.check.tolerance * np.abs(want).max()
    kept = json.loads((Settings.from_env().home / "engines" / "checks.json").read_text())
    assert [v["precision"] for v in kept.values()] == ["bf16"]

    def no_second_check(*a, **k):
        raise AssertionError("the kept verdict should have been used")

    monkeypatch.setattr(precision, "compare", no_second_check)
    assert hub_client.load_model(served, backend="torch", precision="bf16").hub_info.spec.precision == "bf16"


def test_a_failed_check_runs_fp32_and_says_why(served, monkeypatch, caplog):
    monkeypatch.setattr(precision, "TOLERANCE", 1e-9)
    net = hub_client.load_model(served, backend="torch", precision="bf16")
    assert net.hub_info.spec.precision == "fp32" and not net.hub_info.check.passed
    assert "changes the answers" in caplog.text
    with pytest.raises(UsageError, match="precision"):
        hub_client.load_model(served, precision="double")


@pytest.mark.parametrize("classes", [0, -3, 10**9, 100_001, True, 2.5])
def test_num_classes_out_of_bounds_is_refused_before_anything_is_built(classes):
    with pytest.raises(UsageError, match="num_classes must be a whole number from 1 to 100,000"):
        hub_client.load_model("convnext_tiny", backend="torch", num_classes=classes)


@pytest.mark.skipif(not HAS_OV, reason="the openvino extra is not installed")
def test_auto_on_a_cpu_is_openvino_compiled_once_and_loaded_from_its_cache(served, monkeypatch):
    from hub_client.models import ov_convnext

    x = np.random.default_rng(6).standard_normal((3, 3, 224, 224)).astype(np.float32)
    want = fp32_reference(served, x)
    net = hub_client.load_model(served)
    info = net.hub_info
    assert (info.backend, info.spec.engine) == ("openvino", "openvino")
    if BF16:
        assert info.check.passed and info.spec.precision == ("bf16" if info.check.faster else "fp32")
    else:
        assert info.spec.precision == "fp32" and info.check is None
    got = net(x)
    limit = info.check.tolerance if info.spec.precision == "bf16" else 1e-5
    assert np.abs(got - want).max() <= limit * np.abs(want).max()
    one = net(x[:1])  # another batch size has its own request; the first one's answers stay as they were
    assert np.abs(one[0] - want[0]).max() <= limit * np.abs(want).max()
    assert np.array_equal(net(x), got) and {1, 3} <= set(net._requests)
    exact = hub_client.load_model(served, precision="fp32")
    assert np.abs(exact(x) - want).max() <= 1e-4

    def no_build(*a, **k):
        raise AssertionError("a cached engine is compiled from its IR, with no graph built again")

    monkeypatch.setattr(ov_convnext, "build", no_build)
    again = hub_client.load_model(served)
    assert again.hub_info.spec.precision == info.spec.precision
    assert np.array_equal(again(x), got)
    with pytest.raises(UsageError, match="fine-tune"):
        hub_client.load_model(served, backend="openvino", num_classes=3)
    with pytest.warns(UserWarning, match="re-initialised"):
        fresh = hub_client.load_model(served, num_classes=3, seed=0)
    assert fresh.hub_info.backend == "torch"  # a network to fine-tune: auto steps aside for PyTorch


def test_cli_verbose_says_which_engine_and_precision(served, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    Image.new("RGB", (64, 48), (120, 30, 200)).save(tmp_path / "x.png")
    hub = Path(sys.executable).with_name("hub")
    run = subprocess.run([str(hub), "predict", served, str(tmp_path / "x.png"), "-b", "torch", "--precision", "fp32",
                          "--verbose", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "engine: torch on cpu, fp32" in run.stderr
    assert json.loads(run.stdout)["precision"] == "fp32"


@pytest.mark.parametrize("backend", ["torch", pytest.param("openvino", marks=pytest.mark.skipif(
    not HAS_OV, reason="the openvino extra is not installed"))])
def test_fp16_asked_by_name_runs_after_its_check(served, backend):
    """fp16 (what an older CUDA GPU gets) runs on either engine once the check passes; float32 in and out."""
    x = np.random.default_rng(7).standard_normal((2, 3, 224, 224)).astype(np.float32)
    want = fp32_reference(served, x)
    net = hub_client.load_model(served, backend=backend, precision="fp16")
    info = net.hub_info
    assert info.check.precision == "fp16" and info.check.passed, info.check
    assert (info.spec.engine, info.spec.precision) == (backend, "fp16")
    got = torchnet.logits(net, x) if backend == "torch" else net(x)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() <= info.check.tolerance * np.abs(want).max()
    kept = json.loads((Settings.from_env().home / "engines" / "checks.json").read_text())
    assert [v["precision"] for v in kept.values()] == ["fp16"]


def test_auto_on_cuda_tries_bf16_where_the_gpu_has_it_else_fp16(monkeypatch):
    """The choice alone (no GPU here): Ampere and later have bf16; an older GPU gets fp16; fp32 asked is fp32."""
    from hub_client.models import accelerate

    for has_bf16, expected in ((True, "bf16"), (False, "fp16")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda has=has_bf16: has)
        assert accelerate.wanted("auto", "cuda:0") == expected
        assert accelerate.wanted("fp32", "cuda") == "fp32"
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    assert accelerate.wanted("auto", "cpu") == "fp32" and accelerate.wanted("fp16", "cpu") == "fp16"
