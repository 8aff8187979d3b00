"""hub convert: MindCV checkpoints to Hugging Face repos that transformers loads with no code of ours, HF repos
to checkpoints MindCV's own network loads strictly, both with the same logits; and what cannot be converted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
mindcv_models = pytest.importorskip("mindcv.models.convnext")

from helpers.weights import make_ckpt, serve  # noqa: E402

from hub_client.convert import open_source, to_hf, to_mindspore  # noqa: E402
from hub_client.weights import ckpt  # noqa: E402
from registry.errors import CheckpointError, ConversionError, UsageError  # noqa: E402


def mindcv_net(variant: str, params_file: Path, *, exact_gelu: bool = False, num_classes: int = 1000):
    """MindCV's own network for ``variant``, with ``params_file`` loaded strictly (a missing or extra key raises)."""
    net = getattr(mindcv_models, variant)(pretrained=False, num_classes=num_classes)
    if exact_gelu:
        for _, cell in net.cells_and_names():
            if hasattr(cell, "act"):
                cell.act = ms.nn.GELU(approximate=False)
    not_loaded, unused = ms.load_param_into_net(net, ms.load_checkpoint(str(params_file)), strict_load=True)
    assert (not_loaded, unused) == ([], [])
    net.set_train(False)
    return net


def batch(size: int = 224, n: int = 2, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


def hf_logits(folder: Path, x: np.ndarray) -> np.ndarray:
    model = transformers.AutoModelForImageClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).logits.numpy()


@pytest.mark.parametrize("variant", ["convnext_tiny", "convnextv2_atto"])
def test_mindcv_checkpoint_to_hf_gives_mindcvs_logits_in_transformers(tmp_path, variant):
    make_ckpt(tmp_path / "w.ckpt", variant, seed=3)
    done = to_hf(open_source(tmp_path / "w.ckpt"), tmp_path / "repo")
    assert sorted(p.name for p in done.files) == ["README.md", "config.json", "model.safetensors",
                                                  "preprocessor_config.json"]
    cfg = json.loads((tmp_path / "repo" / "config.json").read_text())
    assert cfg["hidden_act"] == "gelu_pytorch_tanh" and cfg["layer_norm_eps"] == 1e-6
    assert cfg["id2label"]["0"].startswith("tench")  # ImageNet-1k names for a 1000-class head
    x = batch()
    want = mindcv_net(variant, tmp_path / "w.ckpt")(ms.Tensor(x)).asnumpy()
    got = hf_logits(tmp_path / "repo", x)
    assert np.abs(got - want).max() <= 1e-4, np.abs(got - want).max()
    assert np.abs(want).max() > 0.5  # the logits are not all near zero, so the comparison means something
    processor = transformers.AutoImageProcessor.from_pretrained(tmp_path / "repo")
    assert (processor.size["shortest_edge"], processor.crop_pct) == (224, 0.875)  # MindCV's resize 256, crop 224


def test_hf_repo_to_mindspore_loads_strictly_in_mindcv_with_the_same_logits(tmp_path):
    torch.manual_seed(0)
    cfg = transformers.ConvNextV2Config(depths=[2, 2, 6, 2], hidden_sizes=[40, 80, 160, 320], num_labels=7)
    model = transformers.ConvNextV2ForImageClassification(cfg).eval()
    with torch.no_grad():  # off the init (GRN zeros), so every parameter counts
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(tmp_path / "repo")
    done = to_mindspore(open_source(tmp_path / "repo"), tmp_path / "out.ckpt")
    assert any("approximate=False" in n for n in done.notes) and any("1e-12" in n for n in done.notes)
    x = batch(64)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).logits.numpy()
    net = mindcv_net("convnextv2_atto", tmp_path / "out.ckpt", exact_gelu=True, num_classes=7)
    got = net(ms.Tensor(x)).asnumpy()
    assert np.abs(got - want).max() <= 1e-4, np.abs(got - want).max()
    assert list(ckpt.shapes(tmp_path / "out.ckpt"))[:3] == ["feature.0.0.weight", "feature.0.0.bias",
                                                            "feature.0.1.gamma"]  # MindCV's own order


def test_round_trip_keeps_every_tensor_bit_for_bit(tmp_path):
    values = make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", seed=5,
                       extra={"moments.feature.0.0.weight": np.zeros((40, 3, 4, 4), np.float32)})
    first = to_hf(open_source(tmp_path / "w.ckpt"), tmp_path / "repo")
    assert any("training-state" in n for n in first.notes)
    to_mindspore(open_source(tmp_path / "repo"), tmp_path / "back.ckpt")
    # what the umask allows (022 under pytest here), as a plain open() would give: not tempfile's 0600/0700
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "repo").iterdir()} == {oct(0o644)}
    assert oct((tmp_path / "repo").stat().st_mode & 0o777) == oct(0o755)
    assert oct((tmp_path / "back.ckpt").stat().st_mode & 0o777) == oct(0o644)
    back = ckpt.read(tmp_path / "back.ckpt")
    values.pop("moments.feature.0.0.weight")
    assert sorted(back) == sorted(values)
    assert all(np.array_equal(back[k], values[k]) for k in values)


def test_converted_repo_loads_in_plain_transformers_through_the_hf_server(tmp_path, hf_env):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", seed=7)
    to_hf(open_source(tmp_path / "w.ckpt"), tmp_path / "repo", name="tests-org/converted")
    hf_env.add("tests-org/converted", {p.name: p.read_bytes() for p in (tmp_path / "repo").iterdir()})
    x = batch(224, n=1)
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np, torch\nfrom transformers import AutoModelForImageClassification\n"
              "m = AutoModelForImageClassification.from_pretrained('tests-org/converted').eval()\n"
              "with torch.no_grad():\n    y = m(torch.from_numpy(np.load(sys.argv[1]))).logits.numpy()\n"
              "np.save(sys.argv[2], y)\n")
    env = {**os.environ, "HF_ENDPOINT": hf_env.url, "HF_HUB_DISABLE_XET": "1"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], env=env,
                   check=True, capture_output=True, timeout=300)
    want = mindcv_net("convnextv2_atto", tmp_path / "w.ckpt")(ms.Tensor(x)).asnumpy()
    got = np.load(tmp_path / "y.npy")
    assert np.abs(got - want).max() <= 1e-4


def test_a_registry_name_converts_with_its_cards_evaluation_as_model_index(tmp_path, nginx, cards, net):
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto")
    to_hf(open_source(name), tmp_path / "repo")
    from registry import load_card
    from registry.card.analyze import analyze_file

    readme = tmp_path / "repo" / "README.md"
    record = load_card(readme)
    assert record.top1() is not None and record.top1()[0] == 81.28  # the card's top1acc81.28 | top5acc95.61
    assert 95.61 in record.numeric_metrics().values()
    assert "imagenet-1k" in record.datasets and record.license == "Apache-2.0"
    result = analyze_file(readme)
    assert [d.rule for d in result.diagnostics] == []  # hub lint --strict passes it


@pytest.mark.parametrize(("size", "where"), [(225, "the stem"), (240, "the downsample before stage 3"),
                                             (100, "the downsample before stage 1")])
def test_same_padding_where_it_pads_is_refused_naming_the_layer(tmp_path, size, where):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    with pytest.raises(ConversionError, match=f"pads {where}") as e:
        to_hf(open_source(tmp_path / "w.ckpt"), tmp_path / "repo", image_size=size)
    assert "multiple of 32" in str(e.value)
    assert not (tmp_path / "repo").exists()


def test_hf_numerics_never_pad_so_any_size_converts(tmp_path):
    cfg = transformers.ConvNextConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 24, 32], num_labels=3)
    transformers.ConvNextForImageClassification(cfg).save_pretrained(tmp_path / "repo")
    done = to_hf(open_source(tmp_path / "repo"), tmp_path / "again", image_size=225)
    assert json.loads((done.out / "config.json").read_text())["hidden_act"] == "gelu"


def test_another_architecture_is_refused_with_its_tensors_named(tmp_path):
    ms.save_checkpoint([{"name": "backbone.conv1.weight", "data": ms.Tensor(np.zeros((8, 3, 3, 3), np.float32))}],
                       str(tmp_path / "resnet.ckpt"))
    with pytest.raises(ConversionError, match=r"not a ConvNeXt.*backbone\.conv1\.weight"):
        open_source(tmp_path / "resnet.ckpt")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(ConversionError, match="'bert' is not a ConvNeXt"):
        open_source(tmp_path / "bert")


def test_a_checkpoint_that_does_not_fit_its_own_shapes_is_refused(tmp_path):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto", drop="feature.3.1.grn.beta")
    with pytest.raises(CheckpointError, match="feature.3.1.grn.beta"):
        open_source(tmp_path / "w.ckpt")


def test_a_failed_write_leaves_nothing_and_an_existing_target_is_kept(tmp_path, monkeypatch):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    src = open_source(tmp_path / "w.ckpt")
    import safetensors.numpy

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="No space") as e:
        to_hf(src, tmp_path / "repo")
    assert str(e.value).startswith(f"cannot write {tmp_path / 'repo'}: ") and "hub-stage" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.ckpt"]  # no folder, no staging leftovers
    monkeypatch.undo()
    (tmp_path / "out.ckpt").write_bytes(b"keep me")
    with pytest.raises(UsageError, match="already exists"):
        to_mindspore(src, tmp_path / "out.ckpt")
    assert (tmp_path / "out.ckpt").read_bytes() == b"keep me"
    to_mindspore(src, tmp_path / "out.ckpt", overwrite=True)
    assert sorted(ckpt.read(tmp_path / "out.ckpt")) == sorted(src.state)


def test_cli_convert_reports_json_and_the_numerics(tmp_path):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    hub = Path(sys.executable).with_name("hub")
    run = subprocess.run([str(hub), "convert", str(tmp_path / "w.ckpt"), "--to", "hf", str(tmp_path / "repo"),
                          "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["architecture"] == "convnextv2_atto" and report["numerics"]["gelu"] == "tanh"
    again = subprocess.run([str(hub), "convert", str(tmp_path / "w.ckpt"), "--to", "hf", str(tmp_path / "repo")],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = subprocess.run([str(hub), "convert", str(tmp_path / "w.ckpt"), "--to", "hf", str(tmp_path / "r2"),
                          "--image-size", "225"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "pads the stem" in bad.stderr and "Traceback" not in bad.stderr
