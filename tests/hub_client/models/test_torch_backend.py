"""The PyTorch backend: MindSpore checkpoints read without MindSpore, and logits equal to MindSpore's."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from helpers import ROOT

ms = pytest.importorskip("mindspore")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from helpers.weights import serve  # noqa: E402

from hub_client import load_model  # noqa: E402
from hub_client.models import backend  # noqa: E402
from hub_client.models import ms_convnext as msnet  # noqa: E402
from hub_client.models import torch_backend as torchnet  # noqa: E402
from hub_client.models.backend import pick_backend  # noqa: E402
from hub_client.models.spec import spec_for_variant  # noqa: E402
from hub_client.weights import ckpt  # noqa: E402
from registry.errors import CheckpointError, DeviceUnavailableError  # noqa: E402


def save(path, values, **kw):
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(v)} for n, v in values.items()], str(path), **kw)


VALUES = {"w": np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7, "i": np.array([1, -2, 3], np.int64),
          "h": np.array([[0.5, -1.25]], np.float16), "u": np.array([7, 8], np.uint8), "b": np.array([True, False]),
          "d": np.array([1e-300], np.float64), "scalar": np.array(2.5, np.float32)}


@pytest.mark.parametrize("crc", [False, True])
def test_reader_equals_what_mindspore_wrote(tmp_path, crc):
    save(tmp_path / "a.ckpt", VALUES, crc_check=crc)
    if crc:
        assert (tmp_path / "a.ckpt").read_bytes()[-17:-10] == b"crc_num"
    got = ckpt.read(tmp_path / "a.ckpt")
    assert got.keys() == VALUES.keys()
    for k, v in VALUES.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape and np.array_equal(got[k], v), k


def test_bfloat16_is_widened_exactly(tmp_path):
    t = ms.Tensor(np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)).astype(ms.bfloat16)
    ms.save_checkpoint([{"name": "bf", "data": t}], str(tmp_path / "bf.ckpt"))
    np.testing.assert_array_equal(ckpt.read(tmp_path / "bf.ckpt")["bf"], t.astype(ms.float32).asnumpy())


def test_split_tensors_are_joined(tmp_path, monkeypatch):
    """MindSpore splits tensors over SLICE_SIZE KiB into records; with the limit lowered it does so here."""
    import mindspore.train.serialization as ser

    monkeypatch.setattr(ser, "SLICE_SIZE", 1)  # KiB
    big = {"big": np.random.default_rng(0).standard_normal((64, 50)).astype(np.float32), "small": VALUES["i"]}
    save(tmp_path / "s.ckpt", big)
    tags = [tag for tag, *_ in ckpt.records(tmp_path / "s.ckpt")]
    assert tags.count("big") > 1  # really split
    got = ckpt.read(tmp_path / "s.ckpt")
    np.testing.assert_array_equal(got["big"], big["big"])
    np.testing.assert_array_equal(ms.load_checkpoint(str(tmp_path / "s.ckpt"))["big"].asnumpy(), big["big"])


def test_truncated_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    save(tmp_path / "a.ckpt", VALUES, crc_check=True)
    data = (tmp_path / "a.ckpt").read_bytes()
    body = data[:-17]
    cases = {
        "truncated.ckpt": (body[: len(body) // 2], "truncated"),
        "flipped.ckpt": (body[:-3] + bytes([body[-3] ^ 0x01]) + body[-2:] + data[-17:], "CRC-32 mismatch"),
        "text.ckpt": (b"this is not a checkpoint at all", "not a MindSpore checkpoint"),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=words):
            ckpt.read(tmp_path / name)


def test_reader_imports_no_mindspore(tmp_path):
    save(tmp_path / "a.ckpt", VALUES)
    code = ("import json, sys; from hub_client.weights import ckpt; d = ckpt.read(sys.argv[1]); "
            "print(json.dumps([sorted(d), 'mindspore' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.ckpt")], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert json.loads(out) == [sorted(VALUES), False]


def _pair(spec, seed):
    """The same random weights in a MindSpore net and a torch net built from ``spec``."""
    mnet = msnet.build(spec, seed=seed)
    rng = np.random.default_rng(seed)
    for p in mnet.get_parameters():  # LayerNorm, GRN and layer scale off their init too
        p.set_data(ms.Tensor(p.asnumpy() + (rng.standard_normal(p.shape) * 0.05).astype(np.float32)))
    path = f"/tmp/hub-parity-{seed}-{spec.version}-{spec.gelu}.ckpt"
    ms.save_checkpoint(mnet, path)
    tnet = torchnet.build(spec)
    from pathlib import Path

    backend.load_weights(torchnet, tnet, Path(path))
    Path(path).unlink()
    return mnet, tnet


@pytest.mark.parametrize("variant", ["convnext_tiny", "convnextv2_atto"])
@pytest.mark.parametrize("origin", ["mindcv", "huggingface"])
def test_mindspore_and_torch_logits_agree(variant, origin):
    base = spec_for_variant(variant, origin=origin)
    spec = replace(base, depths=(1, 1, 2, 1)) if variant == "convnext_tiny" else base  # keep it quick
    mnet, tnet = _pair(spec, seed=11)
    rng = np.random.default_rng(12)
    for size in (64, 70, 97):
        x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
        a = mnet(ms.Tensor(x)).asnumpy()
        b = torchnet.logits(tnet, x)
        assert np.abs(a - b).max() <= 1e-4, (size, np.abs(a - b).max())


def test_gelu_mismatch_is_visible():
    """The parity above is not vacuous: tanh-GELU weights run with the erf GELU move the logits."""
    spec = replace(spec_for_variant("convnextv2_atto"), depths=(1, 1, 1, 1))
    mnet, tnet = _pair(spec, seed=13)
    erf = torchnet.build(replace(spec, gelu="erf"))
    erf.load_state_dict(tnet.state_dict())
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    want = mnet(ms.Tensor(x)).asnumpy()
    assert np.abs(torchnet.logits(tnet, x) - want).max() <= 1e-4
    assert np.abs(torchnet.logits(erf, x) - want).max() > 1e-4


@pytest.fixture
def served(nginx, net, cards, tmp_path):
    return serve(nginx, cards, tmp_path, "convnextv2_atto", seed=21)[0]


def test_load_model_torch_from_a_pulled_ckpt_matches_mindspore(served):
    tmodel = load_model(served, backend="torch", device="cpu", precision="fp32")
    mmodel = load_model(served, backend="mindspore")
    assert type(tmodel).__name__ == "ConvNextV2ForImageClassification"
    assert tmodel.hub_info.backend == "torch" and tmodel.hub_info.device == "cpu"
    assert not tmodel.training
    x = np.random.default_rng(22).standard_normal((2, 3, 96, 96)).astype(np.float32)
    assert np.abs(torchnet.logits(tmodel, x) - mmodel(ms.Tensor(x)).asnumpy()).max() <= 1e-4


def test_auto_backend_and_devices(served):
    import importlib.util

    cpu = "openvino" if importlib.util.find_spec("openvino") else "torch"
    assert pick_backend("auto", "cpu") == cpu
    assert pick_backend("auto", "Ascend") == "mindspore"
    assert load_model(served).hub_info.backend == cpu
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError) as e:
            load_model(served, device="cuda")
        assert e.value.available == ["cpu"]


def test_predict_cli_torch_backend_agrees_with_mindspore(served, tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from hub_client.cli.app import app

    rng = np.random.default_rng(5)
    img = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(img)
    docs = {}
    for name in ("torch", "mindspore"):
        res = CliRunner().invoke(app, ["predict", served, str(img), "--json", "--backend", name, "--precision",
                                       "fp32"], catch_exceptions=False)  # exact: auto may keep bf16 where faster
        assert res.exit_code == 0, res.output
        docs[name] = json.loads(res.output)["results"][0]["predictions"]
    assert [p["index"] for p in docs["torch"]] == [p["index"] for p in docs["mindspore"]]
    np.testing.assert_allclose([p["probability"] for p in docs["torch"]],
                               [p["probability"] for p in docs["mindspore"]], atol=1e-5)


def _bytes_read() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.parametrize("crc", [False, True])
def test_shapes_come_from_the_headers_without_reading_the_tensors(tmp_path, monkeypatch, crc):
    import mindspore.train.serialization as ser

    monkeypatch.setattr(ser, "SLICE_SIZE", 4096)  # KiB: "big" (16 MiB) is split into records too
    rng = np.random.default_rng(1)
    values = {**VALUES, "big": rng.standard_normal((1024, 4096)).astype(np.float32),
              "wide": rng.standard_normal((2, 3, 512, 512)).astype(np.float32)}
    save(tmp_path / "m.ckpt", values, crc_check=crc)
    assert [t for t, *_ in ckpt.records(tmp_path / "m.ckpt")].count("big") > 1
    before = _bytes_read()
    got = ckpt.shapes(tmp_path / "m.ckpt")
    read = _bytes_read() - before
    assert got == {k: v.shape for k, v in values.items()}
    assert read < 256 << 10, f"{read} bytes read for the shapes of a {(tmp_path / 'm.ckpt').stat().st_size}-byte file"


def test_shapes_of_the_reference_model_match_both_readers():
    from hub_client.weights.safetensors_file import read_safetensors, safetensors_shapes

    model = ROOT / "models" / "convnextv2_digits"
    [ck] = model.glob("*.ckpt")
    assert ckpt.shapes(ck) == {k: v.shape for k, v in ckpt.read(ck).items()}
    st = model / "hf" / "model.safetensors"
    assert safetensors_shapes(st) == {k: v.shape for k, v in read_safetensors(st).items()}


def test_shapes_of_a_damaged_file_are_a_clear_error(tmp_path):
    from hub_client.weights.safetensors_file import safetensors_shapes

    save(tmp_path / "a.ckpt", VALUES)
    data = (tmp_path / "a.ckpt").read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[: len(data) - 5])
    (tmp_path / "text.ckpt").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated"):
        ckpt.shapes(tmp_path / "cut.ckpt")
    with pytest.raises(CheckpointError, match="not a MindSpore checkpoint"):
        ckpt.shapes(tmp_path / "text.ckpt")
    (tmp_path / "x.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00[1, 2, 3]       ")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        safetensors_shapes(tmp_path / "x.safetensors")
