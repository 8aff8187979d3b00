"""Hugging Face image classifiers in transformers' format beyond ConvNeXt: repos written by ``save_pretrained``'s
own files, served by the HF-compatible server, loaded on PyTorch with transformers' Auto classes, proven by
transformers' own logits and its image processors' own pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import unique
from helpers.publish import publish_hf_repo

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from PIL import Image  # noqa: E402

import hub_client  # noqa: E402
from hub_client.models.auto_spec import AUTO_TYPES, LEFT_OUT  # noqa: E402
from hub_client.models.preprocess import from_hf_config  # noqa: E402
from registry.errors import NoLoaderError, UsageError  # noqa: E402

LABELS = ("cat", "dog", "fox")


def _tiny(model_type: str):
    """A small network of ``model_type`` with every parameter and BatchNorm statistic off its initial value."""
    torch.manual_seed(0)
    common = dict(num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                  label2id={v: k for k, v in enumerate(LABELS)})
    cfg = {
        "vit": lambda: transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                              intermediate_size=64, image_size=32, patch_size=8, **common),
        "resnet": lambda: transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                                    **common),
        "swin": lambda: transformers.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1],
                                                num_heads=[1, 2], window_size=4, **common),
        "mobilenet_v2": lambda: transformers.MobileNetV2Config(depth_multiplier=0.35, image_size=32, **common),
        "regnet": lambda: transformers.RegNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                                    groups_width=8, **common),
    }[model_type]()
    model = transformers.AutoModelForImageClassification.from_config(cfg)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(torch.rand_like(t) * 0.1 if "running_var" in name else torch.randn_like(t) * 0.05)
    return model.eval()


def _publish(server, cards, model, processor: dict) -> str:
    """``model`` as ``save_pretrained`` writes it (the Hub's parameter names, which transformers 5 renames in memory
    for ViT and Swin), with ``processor`` as its preprocessor config."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        files = {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}
    files["preprocessor_config.json"] = json.dumps(processor).encode()
    return publish_hf_repo(server, cards, f"tests/{unique(model.config.model_type)}", files)


def test_the_model_types_are_transformers_own():
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES as names

    assert AUTO_TYPES | set(LEFT_OUT) == set(names)


@pytest.mark.parametrize("model_type", ["vit", "resnet", "swin", "mobilenet_v2", "regnet"])
def test_a_transformers_repo_gives_transformers_logits(model_type, hf_env, cards):
    model = _tiny(model_type)
    processor = {"image_processor_type": "ViTImageProcessor", "do_resize": True, "size": {"height": 32, "width": 32},
                 "resample": 2, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                 "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    repo_id = _publish(hf_env, cards, model, processor)
    net = hub_client.load_model(f"hf:{repo_id}", backend="torch")
    info = net.hub_info
    assert (info.backend, info.spec.model_type, info.labels) == ("torch", model_type, LABELS)
    assert (info.preprocess.crop, info.preprocess.crop_pct) == (32, None)
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = model(pixel_values=torch.from_numpy(x)).logits.numpy()
        got = net(pixel_values=torch.from_numpy(x)).logits.numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert np.abs(want).max() > 1e-3


def test_auto_picks_pytorch_and_mindspore_says_what_to_do(hf_env, cards):
    repo_id = _publish(hf_env, cards, _tiny("resnet"), {"size": {"height": 32, "width": 32}})
    assert hub_client.load_model(f"hf:{repo_id}", precision="fp32").hub_info.backend == "torch"
    pytest.importorskip("mindspore")
    with pytest.raises(UsageError, match="backend='torch'"):
        hub_client.load_model(f"hf:{repo_id}", backend="mindspore")


def test_num_classes_draws_a_fresh_head_and_keeps_the_rest(hf_env, cards):
    model = _tiny("vit")
    repo_id = _publish(hf_env, cards, model, {"size": {"height": 32, "width": 32}})
    with pytest.warns(UserWarning, match="re-initialised"):
        net = hub_client.load_model(f"hf:{repo_id}", backend="torch", num_classes=5, seed=0)
    assert net.classifier.out_features == 5
    assert 0.01 < float(net.classifier.weight.std()) < 0.03 and not net.classifier.bias.any()  # drawn, sigma 0.02
    kept = {k: v for k, v in net.state_dict().items() if not k.startswith("classifier.")}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in kept.items())


def test_a_config_asking_for_the_repo_s_code_is_refused(hf_env, cards):
    model = _tiny("vit")
    model.config.auto_map = {"AutoModelForImageClassification": "modeling_evil.EvilModel"}
    repo_id = _publish(hf_env, cards, model, {"size": {"height": 32, "width": 32}})
    with pytest.raises(NoLoaderError, match="never runs downloaded code"):
        hub_client.load_model(f"hf:{repo_id}", backend="torch")


@pytest.mark.parametrize("processor", ["ViTImageProcessorPil", "MobileNetV2ImageProcessorPil", "DeiTImageProcessorPil",
                                       "BitImageProcessorPil"])
def test_the_preprocessing_is_the_image_processor_s_own(processor):
    """The processor's saved config, read by us, gives the pixels transformers' processor gives (a 300x411 photo)."""
    proc = getattr(transformers, processor)()
    cfg = json.loads(proc.to_json_string())
    img = Image.fromarray((np.random.default_rng(2).random((300, 411, 3)) * 255).astype(np.uint8))
    want = proc(img, return_tensors="np")["pixel_values"][0]
    got = from_hf_config(cfg).image(img)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_transformers_repo_exports_to_onnx_with_its_logits(hf_env, cards, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from hub_client.models.export import export

    model = _tiny("swin")
    repo_id = _publish(hf_env, cards, model, {"size": {"height": 32, "width": 32}})
    done = export(f"hf:{repo_id}", "onnx", tmp_path / "out")
    pre = json.loads((tmp_path / "out" / "preprocessing.json").read_text())
    assert pre["numerics"] == {"model_type": "swin"} and tuple(pre["labels"]) == LABELS
    x = np.random.default_rng(2).standard_normal((3, 3, 32, 32)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                               providers=["CPUExecutionProvider"]).run(None, {"pixel_values": x})[0]
    with torch.no_grad():
        want = model(pixel_values=torch.from_numpy(x)).logits.numpy()
    assert np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max()) and done.max_abs <= 1e-4
