"""The MindSpore loader: reference layouts, strict loading of pulled checkpoints, numerics, the head, errors."""

from __future__ import annotations

import ast
import hashlib
import warnings

import numpy as np
import pytest
from helpers import REFERENCE, index, publish, unique

ms = pytest.importorskip("mindspore")

from functools import partial  # noqa: E402

from helpers.weights import make_ckpt, serve  # noqa: E402

import hub_client  # noqa: E402
from hub_client import model_info  # noqa: E402
from hub_client.models import ms_convnext as msnet  # noqa: E402
from hub_client.models.spec import VARIANTS, spec_for_variant  # noqa: E402
from registry.errors import CheckpointError, DeviceUnavailableError, NoLoaderError, UsageError  # noqa: E402

load_model = partial(hub_client.load_model, backend="mindspore")

def reference(name: str) -> list[tuple[str, tuple[int, ...]]]:
    path = REFERENCE / f"mindcv_{name}.params.tsv"
    if not path.exists():
        pytest.skip(f"{path} is not there (../shared beside the clone)")
    rows = [line.split("\t") for line in path.read_text().splitlines() if line]
    return [(n, tuple(ast.literal_eval(s))) for n, s in rows]


@pytest.mark.parametrize("variant", ["convnext_tiny", "convnextv2_tiny"])
def test_names_and_shapes_equal_mindcv_reference(variant):
    net = msnet.build(spec_for_variant(variant), init_weights=False)
    assert list(msnet.param_shapes(net).items()) == reference(variant)


@pytest.mark.parametrize("variant", ["convnextv2_atto", "convnextv2_femto", "convnextv2_pico", "convnextv2_nano"])
def test_small_v2_variants_have_their_widths(variant):
    depths, dims = VARIANTS[variant]
    shapes = msnet.param_shapes(msnet.build(spec_for_variant(variant), init_weights=False))
    assert shapes["feature.0.0.weight"] == (dims[0], 3, 4, 4)
    assert shapes["classifier.weight"] == (1000, dims[-1])
    for stage, depth in enumerate(depths):
        blocks = {k.split(".")[2] for k in shapes if k.startswith(f"feature.{2 * stage + 1}.")}
        assert len(blocks) == depth
        assert shapes[f"feature.{2 * stage + 1}.0.grn.gamma"] == (1, 1, 1, 4 * dims[stage])


def reference_logits(values: dict[str, np.ndarray], variant: str, x: np.ndarray, num_classes: int = 1000) -> np.ndarray:
    net = msnet.build(spec_for_variant(variant, num_classes=num_classes), init_weights=False)
    ms.load_param_into_net(net, {n: ms.Parameter(ms.Tensor(v), name=n) for n, v in values.items()})
    return net(ms.Tensor(x)).asnumpy()


def test_a_mindcv_tiny_checkpoint_pulled_from_nginx_loads_strictly(nginx, net, cards, tmp_path):
    """Written from the reference list itself (not from our network), so the layout is MindCV's, not ours."""
    rng = np.random.default_rng(1)
    layout = reference("convnext_tiny")
    ms.save_checkpoint([{"name": n, "data": ms.Tensor((rng.standard_normal(s) * 0.02).astype(np.float32))}
                        for n, s in layout], str(tmp_path / "tiny.ckpt"))
    name = unique("convnext_tiny")
    publish(nginx.root, cards, name, (tmp_path / "tiny.ckpt").read_bytes(), base=nginx.url, prefix=True)
    index(cards)
    model = load_model(name)
    assert model.hub_info.spec.name == "convnext_tiny"
    assert model.hub_info.ignored_keys == [] and not model.hub_info.head_reinitialised
    loaded = {p.name: p.asnumpy() for p in model.get_parameters()}
    saved = ms.load_checkpoint(str(tmp_path / "tiny.ckpt"))
    assert set(loaded) == set(saved)
    assert all(np.array_equal(loaded[n], saved[n].asnumpy()) for n in saved)


def test_pulled_checkpoint_gives_the_saved_networks_logits(nginx, net, cards, tmp_path):
    train_state = {"moments.feature.0.0.weight": np.zeros((40, 3, 4, 4), np.float32),
                   "global_step": np.array([1000], np.int32), "learning_rate": np.array([0.001], np.float32)}
    name, values = serve(nginx, cards, tmp_path, "convnextv2_atto", extra=train_state)
    model = load_model(name, device="cpu")
    info = model.hub_info
    assert sorted(info.ignored_keys) == sorted(train_state)
    assert info.weights and info.weights.name.endswith("-910v2.ckpt") and info.backend == "mindspore"
    assert (info.spec.gelu, info.spec.pad_mode) == ("tanh", "same")
    assert len(info.labels) == 1000 and info.labels[0].startswith("tench")
    x = np.random.default_rng(2).standard_normal((2, 3, 64, 64)).astype(np.float32)
    for n in train_state:
        values.pop(n)
    np.testing.assert_array_equal(model(ms.Tensor(x)).asnumpy(), reference_logits(values, "convnextv2_atto", x))


def test_missing_and_extra_keys_are_named(nginx, net, cards, tmp_path):
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto", drop="feature.3.1.grn.beta",
                    extra={"feature.9.0.weight": np.zeros((3,), np.float32)})
    with pytest.raises(CheckpointError) as e:
        load_model(name)
    assert e.value.missing == ["feature.3.1.grn.beta"]
    assert e.value.unexpected == ["feature.9.0.weight"]
    assert "feature.3.1.grn.beta" in str(e.value) and "feature.9.0.weight" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_wrong_head_width_is_a_shape_error_unless_num_classes_asks_for_a_new_head(nginx, net, cards, tmp_path):
    name, values = serve(nginx, cards, tmp_path, "convnextv2_atto", num_classes=10)
    with pytest.raises(CheckpointError) as e:
        load_model(name)
    assert e.value.mismatched == [("classifier.weight", (10, 320), (1000, 320)), ("classifier.bias", (10,), (1000,))]
    with pytest.warns(UserWarning, match="re-initialised"):
        model = load_model(name, num_classes=3, seed=0)
    params = {p.name: p.asnumpy() for p in model.get_parameters()}
    assert params["classifier.weight"].shape == (3, 320) and not params["classifier.bias"].any()
    assert 0.005 < params["classifier.weight"].std() < 0.03  # truncated normal, sigma 0.02
    np.testing.assert_array_equal(params["feature.7.1.pwconv2.weight"], values["feature.7.1.pwconv2.weight"])
    assert model.hub_info.head_reinitialised and model.hub_info.labels == ("class_0", "class_1", "class_2")


def test_num_classes_equal_to_the_checkpoints_is_a_plain_load(nginx, net, cards, tmp_path):
    name, values = serve(nginx, cards, tmp_path, "convnextv2_atto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_model(name, num_classes=1000)
    assert not model.hub_info.head_reinitialised
    np.testing.assert_array_equal(model.classifier.weight.asnumpy(), values["classifier.weight"])


def test_graph_mode_and_pynative_agree(nginx, net, cards, tmp_path):
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto")
    model = load_model(name)
    x = ms.Tensor(np.random.default_rng(3).standard_normal((2, 3, 70, 70)).astype(np.float32))
    eager = model(x).asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        graph = model(x).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(graph, eager, rtol=1e-4, atol=1e-5)


def test_same_padding_differs_from_valid_only_off_the_stride_grid():
    """MindSpore's pad_mode='same' (MindCV) and PyTorch-style 'valid' agree at 64, differ at 70."""
    from dataclasses import replace

    same = msnet.build(spec_for_variant("convnextv2_atto"), seed=4)
    valid = msnet.build(replace(spec_for_variant("convnextv2_atto"), pad_mode="valid"), init_weights=False)
    ms.load_param_into_net(valid, {p.name: ms.Parameter(p.data.copy(), name=p.name) for p in same.get_parameters()})
    rng = np.random.default_rng(5)
    on = ms.Tensor(rng.standard_normal((1, 3, 64, 64)).astype(np.float32))
    off = ms.Tensor(rng.standard_normal((1, 3, 70, 70)).astype(np.float32))
    np.testing.assert_allclose(same(on).asnumpy(), valid(on).asnumpy(), atol=1e-6)
    assert np.abs(same(off).asnumpy() - valid(off).asnumpy()).max() > 1e-4


def test_not_pretrained_builds_without_downloading(nginx, net, cards, tmp_path):
    make_ckpt(tmp_path / "w.ckpt", "convnextv2_atto")
    pub = publish(nginx.root, cards, unique("convnextv2_atto"), (tmp_path / "w.ckpt").read_bytes(), base=nginx.url)
    index(cards)
    model = load_model(pub.name, pretrained=False, num_classes=7, seed=0)
    assert model.hub_info.weights is None and model.hub_info.files == []
    assert model.classifier.weight.shape == (7, 320)
    assert nginx.requests_for(pub.uri) == []
    load_model(pub.name)
    assert len(nginx.requests_for(pub.uri)) == 1


def test_a_card_with_no_loader_fails_before_its_weights_are_fetched(nginx, net, cards, tmp_path):
    name = unique("resnet50")
    data = b"not a convnext" * 100
    pub = publish(nginx.root, cards, name, data, base=nginx.url)
    card = cards / f"{name}.md"
    card.write_text(card.read_text().replace("backbone-name: convnext", "backbone-name: resnet"))
    index(cards)
    with pytest.raises(NoLoaderError) as e:
        load_model(name)
    assert e.value.paths == [] and "convnext_tiny" in str(e.value)
    assert nginx.requests_for(pub.uri) == []  # known from the card: nothing was downloaded first
    [path] = hub_client.pull(name)  # the files are still the user's to pull and use by hand
    assert path.read_bytes() == data


def test_unavailable_device_lists_the_available_ones(nginx, net, cards, tmp_path):
    from hub_client.models.ms_backend import mindspore_available

    if "GPU" in mindspore_available():
        pytest.skip("this machine has a GPU")
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto")
    with pytest.raises(DeviceUnavailableError) as e:
        load_model(name, device="GPU")
    assert e.value.available == ["CPU"] and "available: CPU" in str(e.value)
    with pytest.raises(UsageError, match="unknown device"):
        load_model(name, device="tpu")


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    from hub_client.models import backend, ms_backend

    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(hashlib.sha256(b"x").digest() * 100)
    with pytest.raises(CheckpointError, match="not a readable MindSpore checkpoint"):
        backend.load_weights(ms_backend, msnet.build(spec_for_variant("convnextv2_atto"), init_weights=False), bad)


def test_model_info_needs_no_framework_and_reports_the_card(nginx, net, cards, tmp_path):
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto")
    info = model_info(name)
    assert info.spec.name == "convnextv2_atto" and info.claims["top1acc"] == 81.28
    assert info.preprocess.resize == 256 and info.preprocess.crop == 224


def test_a_damaged_cached_checkpoint_is_named_and_healed_by_the_next_pull(nginx, net, cards, tmp_path):
    """A cached file damaged after it was verified, size and mtime unchanged (so no stat can see it): loading it
    fails, and the error says the cache copy is damaged and how to cure it, not that the card is wrong."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from helpers import ROOT

    from hub_client import pull
    from registry.errors import DamagedFileError

    name = serve(nginx, cards, tmp_path, "convnextv2_atto", seed=7)[0]
    [path] = pull(name)
    blob = Path(os.path.realpath(path))
    st = blob.stat()
    good = blob.read_bytes()
    os.chmod(blob, 0o644)
    blob.write_bytes(b"\xff" * 64 + good[64:])
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns))

    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "predict", name, "x.png", "-b", "mindspore"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"of {name} is damaged" in proc.stderr and f"hub verify {name} --repair" in proc.stderr
    assert hashlib.sha256(good).hexdigest() in proc.stderr  # expected vs actual
    assert blob.read_bytes() != good  # the error deleted nothing...
    net_ = load_model(name)  # ...but the file is no longer trusted: the pull in load_model hashes it, fetches it again
    assert blob.read_bytes() == good and net_.hub_info.weights == path

    st = blob.stat()
    os.chmod(blob, 0o644)
    blob.write_bytes(b"\xff" * 64 + good[64:])
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(DamagedFileError, match="is damaged") as e:
        load_model(name)
    assert e.value.expected == hashlib.sha256(good).hexdigest() and e.value.name == name
