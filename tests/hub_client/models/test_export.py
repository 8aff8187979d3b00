"""hub export: ONNX run by onnxruntime and OpenVINO IR run by OpenVINO give the PyTorch (and MindSpore) logits
within 1e-4 in fp32, with the preprocessing and labels beside them; a bad format or a taken folder is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers.weights import serve, serve_zoo, trained_mindcv  # noqa: E402

import hub_client  # noqa: E402
from hub_client.models.export import export  # noqa: E402
from registry.errors import UsageError  # noqa: E402


@pytest.fixture
def served(nginx, net, cards, tmp_path):
    return serve(nginx, cards, tmp_path, "convnextv2_atto", seed=41)[0]


def mindspore_logits(name: str, x: np.ndarray) -> np.ndarray:
    return hub_client.load_model(name, backend="mindspore")(ms.Tensor(x)).asnumpy()


def test_onnx_export_runs_in_onnxruntime_with_the_same_logits(served, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    done = export(served, "onnx", tmp_path / "onnx")
    assert sorted(p.name for p in done.files) == ["model.onnx", "preprocessing.json"] and done.max_abs <= 1e-4
    assert {oct(p.stat().st_mode & 0o777) for p in done.files} == {oct(0o644)}  # the umask's, for others to read
    assert oct((tmp_path / "onnx").stat().st_mode & 0o777) == oct(0o755)
    pre = json.loads((tmp_path / "onnx" / "preprocessing.json").read_text())
    assert (pre["resize_shorter_side"], pre["center_crop"], pre["numerics"]["gelu"]) == (256, 224, "tanh")
    assert len(pre["labels"]) == 1000
    x = np.random.default_rng(7).standard_normal((3, 3, 224, 224)).astype(np.float32)  # another batch size
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"pixel_values": x})[0]
    assert np.abs(got - mindspore_logits(served, x)).max() <= 1e-4


def test_openvino_export_runs_in_openvino_with_the_same_logits(served, tmp_path):
    ov = pytest.importorskip("openvino")
    done = export(served, "openvino", tmp_path / "ir")
    assert sorted(p.name for p in done.files) == ["model.bin", "model.xml", "preprocessing.json"]
    compiled = ov.Core().compile_model(str(tmp_path / "ir" / "model.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    x = np.random.default_rng(8).standard_normal((2, 3, 224, 224)).astype(np.float32)
    assert np.abs(compiled(x)[0] - mindspore_logits(served, x)).max() <= 1e-4


def test_bad_format_and_a_taken_folder_are_refused(served, tmp_path):
    with pytest.raises(UsageError, match="unknown export format"):
        export(served, "tflite", tmp_path / "x")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists"):
        export(served, "onnx", tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_cli_export_json(served, tmp_path):
    pytest.importorskip("onnxruntime")
    hub = Path(sys.executable).with_name("hub")
    run = subprocess.run([str(hub), "export", served, str(tmp_path / "out"), "--format", "onnx", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["max_abs_vs_torch"] <= 1e-4


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_a_network_of_mindcv_s_zoo_exports_with_mindcv_s_logits(fmt, nginx, net, cards, tmp_path):
    """ResNet's same-padded stem pool, traced at the export's size, runs in the runtime as MindSpore computes it."""
    pytest.importorskip("mindcv")
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "openvino")
    reference = trained_mindcv("resnet18", seed=13)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, "resnet18", reference)
    done = export(name, fmt, tmp_path / "out")
    pre = json.loads((tmp_path / "out" / "preprocessing.json").read_text())
    assert pre["numerics"] == {"mindcv_architecture": "resnet18", "family": "resnet"} and pre["center_crop"] == 224
    x = np.random.default_rng(9).standard_normal((2, 3, 224, 224)).astype(np.float32)
    if fmt == "onnx":
        import onnxruntime as ort

        got = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                                   providers=["CPUExecutionProvider"]).run(None, {"pixel_values": x})[0]
    else:
        import openvino as ov

        got = ov.Core().compile_model(str(tmp_path / "out" / "model.xml"), "CPU",
                                      {"INFERENCE_PRECISION_HINT": "f32"})(x)[0]
    want = reference(ms.Tensor(x)).asnumpy()
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() and (got.argmax(1) == want.argmax(1)).all()
    assert done.max_abs <= 1e-4 * np.abs(want).max()  # the export's own check, against PyTorch, on its probe
