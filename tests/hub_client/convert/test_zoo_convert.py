"""hub convert for MindCV's zoo: a checkpoint MindCV writes becomes a transformers repo that transformers alone loads
with MindCV's logits, and comes back as a .ckpt MindCV's own network loads strictly, tensor for tensor; a family
whose numerics no config field can say is refused, naming what differs; a repo transformers wrote itself converts
to MindSpore with notes on the numerics its config says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
mindcv = pytest.importorskip("mindcv")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers.weights import no_init_draws, serve_zoo, trained_mindcv  # noqa: E402

from hub_client.convert import open_source, to_hf, to_mindspore  # noqa: E402
from registry.errors import ConversionError  # noqa: E402

#: Architectures and the input size of the test (a multiple of 32, where EfficientNet's padding agrees).
ROUND_TRIP = {"mobilenet_v2_075": 64, "regnet_y_200mf": 64, "efficientnet_b0": 64, "poolformer_s12": 64,
              "mobilenet_v1_025": 64, "vit_b_32_224": 224, "swin_tiny": 224, "swinv2_tiny_window8": 256,
              "BiT_resnet50": 64}
SLOW = {"vit_b_32_224", "swin_tiny", "swinv2_tiny_window8", "BiT_resnet50"}


def _written(arch: str, folder: Path, seed: int = 3):
    """MindCV's network with trained-looking weights, saved by MindSpore under MindCV's own file name form."""
    net = trained_mindcv(arch, seed=seed)
    net.set_train(False)
    path = folder / f"{arch}-0123abcd.ckpt"
    ms.save_checkpoint(net, str(path))
    return net, path


@pytest.mark.parametrize("arch", [pytest.param(a, marks=[pytest.mark.slow] if a in SLOW else []) for a in ROUND_TRIP])
def test_a_zoo_checkpoint_round_trips_through_a_transformers_repo(arch, tmp_path):
    net, path = _written(arch, tmp_path)
    src = open_source(path)
    assert src.spec.name == arch
    done = to_hf(src, tmp_path / "repo")
    assert any("epsilon" in n for n in done.notes) == arch.startswith(("BiT", "swinv2"))
    cfg = json.loads((tmp_path / "repo" / "config.json").read_text())
    assert cfg["mindcv_architecture"] == arch and len(cfg["id2label"]) == 1000
    model = transformers.AutoModelForImageClassification.from_pretrained(tmp_path / "repo").eval()  # no code of ours
    size = ROUND_TRIP[arch]
    x = np.random.default_rng(4).standard_normal((2, 3, size, size)).astype(np.float32)
    want = net(ms.Tensor(x)).asnumpy()
    with torch.no_grad():
        got = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() and (got.argmax(1) == want.argmax(1)).all()

    back = to_mindspore(open_source(tmp_path / "repo"), tmp_path / "back.ckpt")
    assert back.notes == []  # the repo says MindCV's own numerics
    with no_init_draws():  # the strict load below replaces every value
        again = mindcv.create_model(arch, pretrained=False)
    assert ms.load_param_into_net(again, ms.load_checkpoint(str(back.out)), strict_load=True) == ([], [])
    first, second = ms.load_checkpoint(str(path)), ms.load_checkpoint(str(back.out))
    assert set(first) == set(second)
    assert all(np.array_equal(first[k].asnumpy(), second[k].asnumpy()) for k in first)
    again.set_train(False)
    np.testing.assert_array_equal(again(ms.Tensor(x)).asnumpy(), want)


def test_a_zoo_card_converts_by_its_registry_name(nginx, net, cards, tmp_path):
    """Pulled and verified first, then written for transformers with the card's metrics in its README."""
    reference, _ = _written("mobilenet_v2_035_96", tmp_path)
    name = serve_zoo(nginx, cards, tmp_path, "mobilenet_v2_035_96", reference)
    src = open_source(name, settings=net)
    assert src.spec.name == "mobilenet_v2_035_96" and src.record is not None
    to_hf(src, tmp_path / "repo")
    assert "model-index" in (tmp_path / "repo" / "README.md").read_text()
    model = transformers.AutoModelForImageClassification.from_pretrained(tmp_path / "repo").eval()
    x = np.random.default_rng(5).standard_normal((1, 3, 96, 96)).astype(np.float32)
    want = reference(ms.Tensor(x)).asnumpy()
    with torch.no_grad():
        got = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("arch, why", [("resnet18", "pools ResNet's stem"), ("pvt_v2_b0", "patch embeddings"),
                                       ("mobilevit_xx_small", "bare convolution")])
def test_a_family_whose_numerics_no_config_says_is_refused(arch, why, tmp_path):
    _, path = _written(arch, tmp_path)
    with pytest.raises(ConversionError, match=why) as e:
        to_hf(open_source(path), tmp_path / "repo")
    assert "load_model" in str(e.value) and not (tmp_path / "repo").exists()


def test_efficientnet_at_a_size_where_the_paddings_differ_is_refused(tmp_path):
    _, path = _written("efficientnet_b0", tmp_path)
    with pytest.raises(ConversionError, match="multiple of 32"):
        to_hf(open_source(path), tmp_path / "repo", image_size=225)
    assert not (tmp_path / "repo").exists()


def test_a_repo_transformers_wrote_converts_with_notes_on_its_numerics(tmp_path):
    """transformers' own MobileNetV2 (TensorFlow's padding and BatchNorm epsilon, its defaults) is MindCV's
    mobilenet_v2_035 by structure: the tensors fill MindCV's network strictly, and the notes say what differs."""
    torch.manual_seed(0)
    config = transformers.MobileNetV2Config(depth_multiplier=0.35, num_labels=10)
    transformers.MobileNetV2ForImageClassification(config).save_pretrained(tmp_path / "repo")
    src = open_source(tmp_path / "repo")
    assert src.spec.name.startswith("mobilenet_v2_035") and src.spec.num_classes == 10
    done = to_mindspore(src, tmp_path / "out.ckpt")
    assert any("tf_padding=True" in n for n in done.notes) and any("layer_norm_eps=0.001" in n for n in done.notes)
    net = mindcv.create_model(src.spec.name, pretrained=False, num_classes=10)
    assert ms.load_param_into_net(net, ms.load_checkpoint(str(done.out)), strict_load=True) == ([], [])


def test_cli_converts_a_zoo_checkpoint_and_refuses_in_words(tmp_path):
    _written("regnet_x_200mf", tmp_path)
    _written("resnet18", tmp_path)
    hub = Path(sys.executable).with_name("hub")
    run = subprocess.run([str(hub), "convert", str(tmp_path / "regnet_x_200mf-0123abcd.ckpt"), "--to", "hf",
                          str(tmp_path / "repo"), "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["architecture"] == "regnet_x_200mf"
    bad = subprocess.run([str(hub), "convert", str(tmp_path / "resnet18-0123abcd.ckpt"), "--to", "hf",
                          str(tmp_path / "r2")], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "pad_mode='same'" in bad.stderr and "Traceback" not in bad.stderr
