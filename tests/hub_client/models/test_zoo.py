"""MindCV's zoo on MindSpore: the table against MindCV's registry, the catalogue's cards named to their
architectures, and, for every classifier family of the 2.3/2.5 catalogue, a checkpoint MindCV writes, pulled
from nginx under a card in the catalogue's form, loading strictly and giving MindCV's own logits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

ms = pytest.importorskip("mindspore")
mindcv = pytest.importorskip("mindcv")

from helpers.weights import no_init_draws, serve_zoo, serve_zoo_file, trained_mindcv  # noqa: E402

import hub_client  # noqa: E402
from hub_client.models import zoo  # noqa: E402
from hub_client.models.support import record_backends  # noqa: E402
from hub_client.models.zoo_torch import CONFIGS  # noqa: E402
from registry.card.analyze import load_card  # noqa: E402
from registry.errors import CheckpointError, NoLoaderError, UsageError  # noqa: E402

#: One architecture per classifier family of the 2.3/2.5 catalogue (the smallest MindCV has of it), and the
#: input size it runs at in the test: a small one its structure takes (MindSpore's CPU convolutions are slow: an
#: Inception v4 forward pass at 299 takes 17 s here, at 107 2.5 s; VGG's classifier needs 224).
FAMILIES = {
    "resnet18": 64, "seresnet18": 64, "resnext50_32x4d": 64, "skresnet18": 64, "res2net50": 64, "resnetv2_50": 64,
    "BiT_resnet50": 64, "densenet121": 64, "efficientnet_b0": 64, "ghostnet_050": 64, "googlenet": 64,
    "mixnet_s": 64, "mnasnet_050": 64, "mobilenet_v1_025": 64, "mobilenet_v2_035_96": 96,
    "mobilenet_v3_small_075": 64, "regnet_x_200mf": 64, "repvgg_a0": 64,
    "shufflenet_v1_g3_05": 64, "shufflenet_v2_x0_5": 64, "squeezenet1_0": 64, "convit_tiny": 224,
    "crossvit_9": 240, "coat_lite_tiny": 224, "edgenext_xx_small": 256, "mobilevit_xx_small": 256,
    "pit_ti": 224, "poolformer_s12": 64, "pvt_v2_b0": 224, "swin_tiny": 224,
    "visformer_tiny": 224, "xcit_tiny_12_p16_224": 224, "vit_b_32_224": 224, "hrnet_w32": 64,
    "inception_v3": 107, "nasnet_a_4x1056": 224, "vgg11": 224, "swinv2_tiny_window8": 256, "inception_v4": 107,
}
#: Large or slow to build on a CPU: still run in CI, marked slow.
SLOW = {"vit_b_32_224", "hrnet_w32", "inception_v3", "inception_v4", "nasnet_a_4x1056", "vgg11",
        "swinv2_tiny_window8", "BiT_resnet50", "res2net50", "resnext50_32x4d", "resnetv2_50", "crossvit_9",
        "xcit_tiny_12_p16_224", "swin_tiny", "coat_lite_tiny", "convit_tiny"}
CATALOGUE = ROOT.parent / "shared" / "corpus" / "mindspore-hub" / "mindspore"


def test_the_table_is_the_pinned_mindcv_s_registry():
    from hub_client.models import zoo_torch

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "mindcv_table.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(zoo.table()) == len(mindcv.models.registry.list_models())
    assert set(zoo_torch.CONFIGS) <= set(zoo.table())  # every PyTorch map names a MindCV architecture
    assert {family for family, _ in zoo_torch.CONFIGS.values()} == set(zoo_torch.MAPS)
    assert all(family.startswith(zoo.table()[a].module) for a, (family, _) in zoo_torch.CONFIGS.items())


@pytest.mark.parametrize("arch", sorted(CONFIGS))
def test_every_pytorch_config_takes_its_mindcv_checkpoint_s_every_tensor(arch):
    """For every architecture with a PyTorch map, not only those whose logits are tested: MindCV's parameters,
    renamed by the map, are exactly transformers' network's, shape for shape (built on the meta device: no
    memory, no draws)."""
    torch = pytest.importorskip("torch")
    from hub_client.models import hf_names, zoo_torch

    with no_init_draws():  # names and shapes only: MindSpore's initial draws were most of this test's time
        mine = {p.name: tuple(p.shape) for p in mindcv.create_model(arch, pretrained=False).get_parameters()}
    renamed, unknown = zoo_torch.to_torch(arch, {k: np.empty(s, np.uint8) for k, s in mine.items()})
    assert not unknown, (arch, unknown)
    with torch.device("meta"):
        model = zoo_torch.build(arch, 1000, 3)
    theirs = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert {k: v.shape for k, v in hf_names.to_model(model, renamed).items()} == theirs, arch


def _catalogue_classifiers():
    if not CATALOGUE.is_dir():
        pytest.skip(f"{CATALOGUE} is not there (../shared beside the clone)")
    for version in ("2.3", "2.5"):
        yield from sorted((CATALOGUE / version).glob("*_imagenet2012.md"))


def test_every_imagenet_classifier_of_the_catalogue_names_its_mindcv_architecture():
    """The asset's file name first (``vit_b32_224`` is MindCV's ``vit_b_32_224``), and the loader says so before
    any weights are fetched."""
    seen = 0
    for path in _catalogue_classifiers():
        record = load_card(path)
        [asset] = [a for a in record.assets if a.filename.endswith(".ckpt")]
        found = zoo.candidates(record)
        assert found and found[0] == zoo.asset_stem(asset.filename), path
        runs = zoo.unrunnable(found[0]) is None
        assert ("mindspore" in (record_backends(record) or ())) == runs, path
        seen += 1
    assert seen >= 90  # 47 in 2.3, 48 in 2.5


@pytest.mark.parametrize("arch", ["rexnet_09", "pvt_tiny"])
def test_a_family_that_does_not_run_on_this_mindspore_says_so_before_downloading(arch, nginx, net, cards):
    """MindCV 0.3.0 fails to build these on MindSpore 2.10; the card is not offered as loadable, and a load
    says why without fetching the checkpoint."""
    name = serve_zoo_file(nginx, cards, arch, b"not fetched")
    with pytest.raises(NoLoaderError, match="MindSpore 2.10") as e:
        hub_client.load_model(name)
    assert e.value.paths == []  # nothing was downloaded
    with pytest.raises((RuntimeError, AttributeError)):  # MindCV itself still fails here: the entry is not stale
        mindcv.create_model(arch, pretrained=False)(ms.Tensor(np.zeros((1, 3, 224, 224), np.float32)))


def test_a_detector_or_a_text_model_is_not_taken_for_a_classifier():
    for path in sorted(CATALOGUE.glob("2.*/*.md")) if CATALOGUE.is_dir() else []:
        if path.stem.startswith(("yolo", "dbnet", "crnn", "conformer", "deepspeech")):
            assert zoo.candidates(load_card(path)) == [], path


@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a in SLOW else a for a in FAMILIES])
def test_mindcv_s_checkpoint_gives_mindcv_s_logits(arch, nginx, net, cards, tmp_path):
    ms.set_seed(0)
    reference = trained_mindcv(arch, seed=len(arch))
    name = serve_zoo(nginx, cards, tmp_path, arch, reference)
    model = hub_client.load_model(name)  # auto: MindCV's zoo runs on MindSpore
    info = model.hub_info
    assert (info.backend, info.spec.name, info.spec.num_classes) == ("mindspore", arch, 1000)
    assert len(info.labels) == 1000 and info.labels[0].startswith("tench")
    size = FAMILIES[arch]
    x = np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)  # one image: exact or not
    want = reference(ms.Tensor(x)).asnumpy()
    got = model(ms.Tensor(x)).asnumpy()
    np.testing.assert_array_equal(got, want)
    assert np.abs(want).max() > 0 and (want.argmax(1) == got.argmax(1)).all()


def test_a_card_whose_model_name_is_not_mindcv_s_loads_by_its_asset_name(nginx, net, cards, tmp_path):
    reference = trained_mindcv("squeezenet1_1", seed=3)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, "squeezenet1_1", reference, card_name="squeeze_net_v11")
    info = hub_client.model_info(name)
    assert info.spec.name == "squeezenet1_1" and info.preprocess.crop == 224
    assert hub_client.load_model(name).hub_info.spec.family == "squeezenet"


def test_a_fine_tuned_head_and_num_classes(nginx, net, cards, tmp_path):
    reference = trained_mindcv("mobilenet_v1_025", num_classes=7, seed=4)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, "mobilenet_v1_025", reference)
    model = hub_client.load_model(name)
    assert model.hub_info.spec.num_classes == 7 and len(model.hub_info.labels) == 7
    x = np.random.default_rng(5).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(model(ms.Tensor(x)).asnumpy(), reference(ms.Tensor(x)).asnumpy())
    with pytest.warns(UserWarning, match="re-initialised"):
        tuned = hub_client.load_model(name, num_classes=3, seed=0)
    assert tuned(ms.Tensor(x)).shape == (1, 3) and tuned.hub_info.head_reinitialised
    kept = {p.name: p.asnumpy() for p in tuned.get_parameters() if not p.name.startswith("classifier.")}
    assert all(np.array_equal(v, reference.parameters_dict()[k].asnumpy()) for k, v in kept.items())
    head = tuned.parameters_dict()["classifier.weight"].asnumpy()
    assert head.shape == (3, 256) and head.std() > 0  # drawn as MindCV draws it, not left as the build's zeros


def test_another_architecture_s_checkpoint_is_named_key_by_key(nginx, net, cards, tmp_path):
    """A card whose asset says resnet18 but whose file is a resnet34: the strict load names what differs."""
    other = mindcv.create_model("resnet34", pretrained=False)
    name = serve_zoo(nginx, cards, tmp_path, "resnet18", other)
    with pytest.raises(CheckpointError) as e:
        hub_client.load_model(name)
    assert e.value.unexpected and any(k.startswith("layer1.2.") for k in e.value.unexpected)


def test_the_zoo_on_another_backend_says_what_to_do(nginx, net, cards, tmp_path):
    pytest.importorskip("torch")
    reference = mindcv.create_model("squeezenet1_1", pretrained=False)
    name = serve_zoo(nginx, cards, tmp_path, "squeezenet1_1", reference)
    with pytest.raises(UsageError, match="backend='mindspore'"):
        hub_client.load_model(name, backend="torch")


def test_a_shufflenet_v1_checkpoint_of_a_later_mindcv_loads_into_the_pinned_one(nginx, net, cards, tmp_path):
    """After MindCV 0.3.0 each grouped 1x1 convolution is one convolution per group (``GroupConv.convs.<i>``):
    such a checkpoint, as the 2.3/2.5 catalogue links them, is joined back and gives the same logits."""
    reference = trained_mindcv("shufflenet_v1_g3_05", seed=6)
    reference.set_train(False)
    later = []
    split = 0
    for cell_name, cell in reference.cells_and_names():
        if isinstance(cell, ms.nn.Conv2d) and cell.kernel_size == (1, 1) and cell.group > 1:
            w = cell.weight.asnumpy()
            for i, part in enumerate(np.split(w, cell.group, axis=0)):
                later.append({"name": f"{cell_name}.convs.{i}.weight", "data": ms.Tensor(part)})
            split += 1
    assert split > 10
    joined = {e["name"].rsplit(".convs.", 1)[0] + ".weight" for e in later}
    later += [{"name": p.name, "data": p.data} for p in reference.get_parameters() if p.name not in joined]
    ckpt = tmp_path / "later.ckpt"
    ms.save_checkpoint(later, str(ckpt))
    model = hub_client.load_model(serve_zoo_file(nginx, cards, "shufflenet_v1_g3_05", ckpt.read_bytes()))
    x = np.random.default_rng(7).standard_normal((2, 3, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(model(ms.Tensor(x)).asnumpy(), reference(ms.Tensor(x)).asnumpy())


def test_hub_predict_of_a_zoo_card_as_a_user_types_it(nginx, net, cards, tmp_path):
    """``hub predict NAME photo.jpg`` with no backend named: MindSpore is picked for MindCV's zoo, and the top
    classes are the network's own on MindCV's preprocessing of the photo."""
    from PIL import Image
    from sklearn.datasets import load_sample_image
    from typer.testing import CliRunner

    from hub_client.cli.app import app

    reference = trained_mindcv("resnet18", seed=8)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, "resnet18", reference)
    photo = tmp_path / "china.jpg"
    Image.fromarray(load_sample_image("china.jpg")).save(photo, quality=95)
    result = CliRunner().invoke(app, ["predict", name, str(photo), "--topk", "3", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.output)
    assert doc["backend"] == "mindspore"
    batch = hub_client.model_info(name).preprocess([photo])
    assert batch.shape == (1, 3, 224, 224)
    want = np.argsort(-reference(ms.Tensor(batch)).asnumpy()[0])[:3]
    assert [p["index"] for p in doc["results"][0]["predictions"]] == list(want)


def _pytorch_padding(model):
    """ResNet's stem pool with PyTorch's own symmetric padding instead of MindSpore's ``same``."""
    pool = model.resnet.embedder.pooler
    pool._forward_pre_hooks.clear()
    pool.padding = 1
    return model


def _rebuilt(model, **changes):
    """The same network and weights with ``changes`` to its config: transformers' own numerics back."""
    config = type(model.config)(**{**model.config.to_dict(), **changes})
    other = type(model)(config).eval()
    other.load_state_dict(model.state_dict())
    return other


def _transformers_defaults(model):
    """transformers' exact GELU instead of MindSpore's tanh approximation (and for a ViT, transformers' LayerNorm
    epsilon 1e-12 instead of MindSpore's 1e-7)."""
    vit = "ViT" in type(model).__name__
    return _rebuilt(model, hidden_act="gelu", **({"layer_norm_eps": 1e-12} if vit else {}))


def _tensorflow_padding(model):
    """MobileNet with transformers' defaults, TensorFlow's: ``same`` padding and BatchNorm epsilon 1e-3."""
    return _rebuilt(model, tf_padding=True, layer_norm_eps=1e-3)


def _padding_counted(model):
    """PoolFormer's token mixer averaging over its zero padding too (PyTorch's ``AvgPool2d`` default), where
    MindSpore's ``same`` pool averages over the window's real pixels only."""
    for module in model.modules():
        if type(module).__name__ == "AvgPool2d":
            module.count_include_pad = True
    return model


def _pytorch_patch_padding(model):
    """PVTv2's overlapping patch embeddings padded PyTorch's way (3 on each side of a 7x7) instead of MindSpore's
    default ``same`` (1 before, 2 after)."""
    for stage in model.pvt_v2.encoder.layers:
        conv = stage.patch_embedding.proj
        conv._forward_pre_hooks.clear()
        conv.padding = (conv.kernel_size[0] // 2, conv.kernel_size[1] // 2)
    return model


def _padded_after(model):
    """EfficientNet with transformers' own padding of its strided convolutions: one row and column after, whatever
    the size, where MindSpore's ``same`` pads an odd size on both sides (the test's input is odd)."""
    return _rebuilt(model)


def _tensorflow_same(model):
    """BiT padded TensorFlow's way (``same``, transformers' option for Google's own checkpoints) instead of the
    symmetric padding MindCV gives it by hand."""
    return _rebuilt(model, global_padding="SAME")


def _transformers_layer_norm(model):
    """MobileViT's LayerNorms with transformers' epsilon (1e-5) instead of MindSpore's 1e-7."""
    for module in model.modules():
        if type(module).__name__ == "LayerNorm":
            module.eps = 1e-5
    return model


def _without_a_block(model):
    """RegNet's numerics are PyTorch's already: what the test shows instead is that every tensor counts (the last
    block's final BatchNorm back to its initial statistics moves the logits)."""
    import torch

    norm = model.regnet.encoder.stages[-1].layers[-1].layer[-1].normalization
    with torch.no_grad():
        norm.running_mean.zero_()
        norm.running_var.fill_(1.0)
    return model


SLOW_ON_TORCH = {"resnet50", "vit_b_32_224", "swin_tiny", "BiT_resnet50", "swinv2_tiny_window8"}
#: MindCV architectures with a PyTorch network: the input size of the test, transformers' class, and the change
#: back to PyTorch's or transformers' own numerics that the map must not make.
ON_TORCH = {
    "resnet18": (64, "ResNetForImageClassification", _pytorch_padding),
    "resnet50": (64, "ResNetForImageClassification", _pytorch_padding),
    "vit_b_32_224": (224, "ViTForImageClassification", _transformers_defaults),
    "mobilenet_v2_035_96": (96, "MobileNetV2ForImageClassification", _tensorflow_padding),
    "mobilenet_v2_075": (64, "MobileNetV2ForImageClassification", _tensorflow_padding),
    "mobilenet_v1_025": (64, "MobileNetV1ForImageClassification", _tensorflow_padding),
    "regnet_x_200mf": (64, "RegNetForImageClassification", _without_a_block),
    "regnet_y_200mf": (64, "RegNetForImageClassification", _without_a_block),
    "poolformer_s12": (64, "PoolFormerForImageClassification", _padding_counted),
    "swin_tiny": (224, "SwinForImageClassification", _transformers_defaults),
    "pvt_v2_b0": (224, "PvtV2ForImageClassification", _pytorch_patch_padding),
    "efficientnet_b0": (65, "EfficientNetForImageClassification", _padded_after),
    "BiT_resnet50": (64, "BitForImageClassification", _tensorflow_same),
    "swinv2_tiny_window8": (256, "Swinv2ForImageClassification", _transformers_defaults),
    "mobilevit_xx_small": (256, "MobileViTForImageClassification", _transformers_layer_norm),
}


@pytest.mark.parametrize("arch", [pytest.param(a, marks=[pytest.mark.slow] if a in SLOW_ON_TORCH else [])
                                  for a in ON_TORCH])
def test_mindcv_s_zoo_on_pytorch_gives_mindcv_s_logits(arch, nginx, net, cards, tmp_path):
    """transformers' network with the name map and MindSpore's numerics: within 1e-4 of the largest logit, same
    top-1; with PyTorch's or transformers' own numerics the logits move past that (Swin V2's post-norms damp the
    GELU's difference the most: 1.8e-4 of the largest logit)."""
    torch = pytest.importorskip("torch")
    from hub_client.models import zoo_torch

    size, cls, undo = ON_TORCH[arch]
    reference = trained_mindcv(arch, seed=9)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, arch, reference)
    model = hub_client.load_model(name, backend="torch")
    assert model.hub_info.backend == "torch" and type(model).__name__ == cls
    x = np.random.default_rng(10).standard_normal((2, 3, size, size)).astype(np.float32)
    want = reference(ms.Tensor(x)).asnumpy()
    with torch.no_grad():
        got = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-4 * scale and (got.argmax(1) == want.argmax(1)).all()
    with torch.no_grad():
        moved = undo(model)(pixel_values=torch.from_numpy(x)).logits.numpy()
    assert np.abs(moved - want).max() > 1e-4 * scale  # outside the bound the map meets
    from hub_client.fetch.pull import resolve

    assert zoo_torch.supports(arch) and record_backends(resolve(name)) == ("mindspore", "torch")
    if arch.startswith("mobilenet"):  # a fresh head is drawn (the build draws nothing the file overwrites)
        heads = []
        for _ in range(2):
            with pytest.warns(UserWarning, match="re-initialised"):
                tuned = hub_client.load_model(name, backend="torch", num_classes=3, seed=0)
            heads.append(tuned.classifier.weight.detach().numpy())
        assert heads[0].shape[0] == 3 and 0 < heads[0].std() < 1 and np.array_equal(heads[0], heads[1])


def test_a_checkpoint_larger_than_free_memory_still_loads(nginx, net, cards, tmp_path, monkeypatch):
    """MindSpore refuses a .ckpt larger than the memory the kernel calls free (the page cache not counted), as a
    machine right after a large download has it: the file is then read record by record, same logits."""
    import os

    reference = trained_mindcv("squeezenet1_1", seed=11)
    reference.set_train(False)
    name = serve_zoo(nginx, cards, tmp_path, "squeezenet1_1", reference)
    sysconf = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda key: 1 if key == "SC_AVPHYS_PAGES" else sysconf(key))
    with pytest.raises(ValueError, match="available memory"):  # MindSpore's own check, as the machine has it
        ms.load_checkpoint(str(next(tmp_path.glob("*.ckpt"))))
    model = hub_client.load_model(name)
    x = np.random.default_rng(12).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.testing.assert_array_equal(model(ms.Tensor(x)).asnumpy(), reference(ms.Tensor(x)).asnumpy())
