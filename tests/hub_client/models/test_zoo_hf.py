"""Hugging Face repos in transformers' format on MindSpore: a repo of a MindCV family with a map runs in MindCV's own
network, its tensors renamed by the family's map in reverse, when MindCV's network computes what the repo's config
says; otherwise the load says which numerics differ and names backend='torch'."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import unique
from helpers.publish import publish_hf_repo

ms = pytest.importorskip("mindspore")
mindcv = pytest.importorskip("mindcv")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers.weights import trained_mindcv  # noqa: E402

import hub_client  # noqa: E402
from hub_client.convert import open_source, to_hf  # noqa: E402
from hub_client.models import zoo_hf  # noqa: E402
from registry.errors import UsageError  # noqa: E402


def _folder_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "README.md"}


@pytest.mark.parametrize("arch, size", [("regnet_x_200mf", 64),
                                        pytest.param("BiT_resnet50", 64, marks=pytest.mark.slow),
                                        pytest.param("swin_tiny", 224, marks=pytest.mark.slow)])
def test_a_repo_hub_convert_wrote_runs_on_mindspore_with_mindcv_s_logits(arch, size, hf_env, cards, tmp_path):
    """MindCV's checkpoint → ``hub convert --to hf`` → the HF server → ``load_model(backend="mindspore")``: MindCV's
    own network with the very same tensors (BiT's head reshaped back to a 1x1 convolution; Swin's position index
    and window masks, which the repo does not hold, as MindCV computes them), so the same logits bit for bit."""
    reference = trained_mindcv(arch, seed=21)
    reference.set_train(False)
    ms.save_checkpoint(reference, str(tmp_path / f"{arch}-0123abcd.ckpt"))
    to_hf(open_source(tmp_path / f"{arch}-0123abcd.ckpt"), tmp_path / "repo")
    repo_id = publish_hf_repo(hf_env, cards, f"tests/{unique(arch)}", _folder_files(tmp_path / "repo"))
    net = hub_client.load_model(f"hf:{repo_id}", backend="mindspore")
    info = net.hub_info
    assert (info.backend, info.spec.name, info.spec.origin, len(info.labels)) == ("mindspore", arch, "huggingface",
                                                                                  1000)
    x = np.random.default_rng(22).standard_normal((2, 3, size, size)).astype(np.float32)
    np.testing.assert_array_equal(net(ms.Tensor(x)).asnumpy(), reference(ms.Tensor(x)).asnumpy())


def _transformers_regnet():
    """transformers' own RegNet X of regnet_x_200mf's structure, its weights off their initial values."""
    torch.manual_seed(0)
    config = transformers.RegNetConfig(depths=[1, 1, 4, 7], hidden_sizes=[24, 56, 152, 368], groups_width=8,
                                       layer_type="x", embedding_size=32, num_labels=5,
                                       id2label={i: f"class {i}" for i in range(5)})
    model = transformers.RegNetForImageClassification(config).eval()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(torch.rand_like(t) * 0.1 if "running_var" in name else torch.randn_like(t) * 0.05)
    return model


def test_a_repo_transformers_wrote_runs_on_mindspore_when_its_numerics_are_mindcv_s(hf_env, cards, tmp_path):
    """transformers' RegNet computes as MindCV's does: its repo, found by its structure, gives transformers' logits
    in MindCV's network on MindSpore, with the repo's own labels and a fine-tuning head on request."""
    model = _transformers_regnet()
    model.save_pretrained(tmp_path / "repo")
    repo_id = publish_hf_repo(hf_env, cards, f"tests/{unique('regnet')}", _folder_files(tmp_path / "repo"))
    net = hub_client.load_model(f"hf:{repo_id}", backend="mindspore")
    assert net.hub_info.spec.name == "regnet_x_200mf" and net.hub_info.labels[1] == "class 1"
    x = np.random.default_rng(23).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    got = net(ms.Tensor(x)).asnumpy()
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() and (got.argmax(1) == want.argmax(1)).all()
    with pytest.warns(UserWarning, match="re-initialised"):
        tuned = hub_client.load_model(f"hf:{repo_id}", backend="mindspore", num_classes=3, seed=0)
    assert tuned(ms.Tensor(x)).asnumpy().shape == (2, 3)


def test_a_repo_whose_numerics_mindcv_does_not_compute_says_so(hf_env, cards, tmp_path):
    """transformers' MobileNetV2 pads TensorFlow's way with TensorFlow's BatchNorm epsilon: MindCV's network would
    give other logits, so MindSpore is refused, naming both, before anything is built."""
    torch.manual_seed(0)
    transformers.MobileNetV2ForImageClassification(
        transformers.MobileNetV2Config(depth_multiplier=0.35, num_labels=4)).save_pretrained(tmp_path / "repo")
    repo_id = publish_hf_repo(hf_env, cards, f"tests/{unique('mnv2')}", _folder_files(tmp_path / "repo"))
    with pytest.raises(UsageError, match="tf_padding=True") as e:
        hub_client.load_model(f"hf:{repo_id}", backend="mindspore")
    assert "layer_norm_eps=0.001" in str(e.value) and "backend='torch'" in str(e.value)
    assert hub_client.load_model(f"hf:{repo_id}", backend="torch").hub_info.backend == "torch"


def test_transformers_resnet_is_never_taken_for_mindcv_s():
    """transformers' ResNet pads its stem pool on both sides, which no config field changes: even with every field
    MindCV's resnet18 has, the pool is named as the difference."""
    cfg = json.loads(transformers.ResNetConfig(depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512],
                                               layer_type="basic").to_json_string())
    assert zoo_hf.arch_for_config(cfg) == "resnet18"
    [gap] = zoo_hf.numerics_gaps("resnet18", cfg)
    assert "pools ResNet's stem" in gap


def _transformers_vit_config(**kw):
    return transformers.ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                  intermediate_size=3072, patch_size=32, image_size=224, **kw)


def test_mindcv_s_vit_is_told_the_exact_gelu_and_epsilon_of_transformers_vit():
    """transformers' ViT (Google's numerics: exact GELU, LayerNorm epsilon 1e-12) is MindCV's vit_b_32_224 by
    structure; both differences are ones MindSpore can be told, so nothing is left that refuses it."""
    cfg = _transformers_vit_config().to_dict()
    assert zoo_hf.arch_for_config(cfg) == "vit_b_32_224"
    assert zoo_hf.mindspore_changes("vit_b_32_224", cfg) == {"gelu": "none", "layer_norm_eps": 1e-12}
    assert len(zoo_hf.numerics_gaps("vit_b_32_224", cfg)) == 2
    assert zoo_hf.numerics_gaps("vit_b_32_224", cfg, changeable=True) == []
    mine = _transformers_vit_config(hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-7).to_dict()
    assert zoo_hf.mindspore_changes("vit_b_32_224", mine) == {}


@pytest.mark.slow
def test_transformers_own_vit_runs_on_mindspore_with_its_own_logits(hf_env, cards, tmp_path):
    """A ViT-B/32 as transformers writes it (exact GELU, epsilon 1e-12) in MindCV's network told both: transformers'
    logits within 1e-4 of the largest; MindCV's own numerics would move them past that."""
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(_transformers_vit_config(num_labels=10)).eval()
    with torch.no_grad():
        for t in model.parameters():
            t.add_(torch.randn_like(t) * 0.02)
    model.save_pretrained(tmp_path / "repo")
    repo_id = publish_hf_repo(hf_env, cards, f"tests/{unique('vit')}", _folder_files(tmp_path / "repo"))
    net = hub_client.load_model(f"hf:{repo_id}", backend="mindspore")
    assert dict(net.hub_info.spec.changes) == {"gelu": "none", "layer_norm_eps": 1e-12}
    x = np.random.default_rng(24).standard_normal((2, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        want = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    got = net(ms.Tensor(x)).asnumpy()
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-4 * scale and (got.argmax(1) == want.argmax(1)).all()
    for _, cell in net.cells_and_names():  # MindCV's own GELU back: the logits leave the bound
        if isinstance(cell, ms.nn.GELU):
            cell.approximate = "tanh"
    assert np.abs(net(ms.Tensor(x)).asnumpy() - want).max() > 1e-4 * scale
