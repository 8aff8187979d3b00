"""Hugging Face ConvNeXt repos on MindSpore: transformers-made weights, served by the HF-compatible server,
pulled, converted, and checked against transformers' own logits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import HF_CARD, REFERENCE, index, unique

ms = pytest.importorskip("mindspore")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from functools import partial  # noqa: E402

import hub_client  # noqa: E402
from hub_client.models.preprocess import from_hf_config  # noqa: E402
from hub_client.weights.naming import hf_to_mindcv, mindcv_to_hf  # noqa: E402

load_model = partial(hub_client.load_model, backend="mindspore")

def hf_model(version: int, *, depths, dims, labels, seed=0):
    torch.manual_seed(seed)
    if version == 1:
        cfg = transformers.ConvNextConfig(depths=depths, hidden_sizes=dims, id2label=dict(enumerate(labels)),
                                          label2id={v: k for k, v in enumerate(labels)})
        model = transformers.ConvNextForImageClassification(cfg)
    else:
        cfg = transformers.ConvNextV2Config(depths=depths, hidden_sizes=dims, id2label=dict(enumerate(labels)),
                                            label2id={v: k for k, v in enumerate(labels)})
        model = transformers.ConvNextV2ForImageClassification(cfg)
    with torch.no_grad():  # move every parameter off its init (layer scale 1e-6, GRN zeros) so all of them count
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def publish_repo(server, cards, repo_id: str, model, preprocessor: dict) -> dict[str, bytes]:
    from safetensors.torch import save

    files = {
        "config.json": model.config.to_json_string().encode(),
        "preprocessor_config.json": json.dumps(preprocessor).encode(),
        "model.safetensors": save({k: v.contiguous() for k, v in model.state_dict().items()}),
        "README.md": HF_CARD.format(name=repo_id).encode(),
    }
    server.add(repo_id, files)
    (cards / f"{repo_id.replace('/', '__')}.md").write_text(HF_CARD.format(name=repo_id))
    index(cards)
    return files


PREPROCESSOR = {"crop_pct": 0.875, "do_normalize": True, "do_resize": True, "resample": 3,
                "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                "size": {"shortest_edge": 64}, "image_processor_type": "ConvNextImageProcessor"}


@pytest.mark.parametrize("version", [1, 2])
def test_hf_weights_on_mindspore_match_transformers(hf_env, cards, version):
    labels = ["cat", "dog", "fox"]
    model = hf_model(version, depths=[1, 2, 1, 1], dims=[16, 24, 32, 40], labels=labels, seed=version)
    repo_id = f"tests-org/{unique('convnext')}".replace("_", "-")
    publish_repo(hf_env, cards, repo_id, model, PREPROCESSOR)
    net = load_model(f"hf:{repo_id}")
    info = net.hub_info
    assert info.labels == tuple(labels)
    assert (info.spec.version, info.spec.gelu, info.spec.pad_mode, info.spec.head_eps) == (version, "erf", "valid",
                                                                                        1e-12)
    assert info.preprocess.crop == 64 and info.preprocess.resize == 73
    rng = np.random.default_rng(0)
    for size in (64, 70, 97):
        x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).logits.numpy()
        got = net(ms.Tensor(x)).asnumpy()
        assert np.abs(got - want).max() <= 1e-4, (size, np.abs(got - want).max())


def test_the_seed_cats_vs_dogs_card_loads_with_its_two_labels(hf_env):
    """The bundled card of seed 004, its repo served as the real one is laid out (ConvNeXt-base, 2 labels)."""
    repo_id = "efederici/convnext-base-224-22k-1k-orig-cats-vs-dogs"
    model = hf_model(1, depths=[3, 3, 27, 3], dims=[128, 256, 512, 1024], labels=["cat", "dog"])
    from safetensors.torch import save

    hf_env.add(repo_id, {
        "config.json": model.config.to_json_string().encode(),
        "preprocessor_config.json": json.dumps(PREPROCESSOR | {"size": {"shortest_edge": 224}}).encode(),
        "model.safetensors": save({k: v.contiguous() for k, v in model.state_dict().items()}),
    })
    net = load_model("convnext-base-224-22k-1k-orig-cats-vs-dogs")
    assert net.hub_info.labels == ("cat", "dog")
    assert net.hub_info.spec.name == "convnext_base"
    assert net.hub_info.claims.get("accuracy") == pytest.approx(0.9973333333333333)
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).logits.numpy()
    assert np.abs(net(ms.Tensor(x)).asnumpy() - want).max() <= 1e-4


def test_name_mapping_covers_the_reference_lists_one_to_one():

    ref = REFERENCE
    if not ref.exists():
        pytest.skip("../shared/reference is not beside the clone")
    for variant, version in (("convnext_tiny", 1), ("convnextv2_tiny", 2)):
        hf = [line.split("\t") for line in (ref / f"hf_{variant}.params.tsv").read_text().splitlines() if line]
        mindcv = [line.split("\t") for line in (ref / f"mindcv_{variant}.params.tsv").read_text().splitlines()
                  if line]
        assert len(hf) == len(mindcv)
        assert {hf_to_mindcv(n): s for n, s in hf} == dict((n, s) for n, s in mindcv)
        assert [mindcv_to_hf(n, version) for n, _ in mindcv] == [n for n, _ in hf]


def test_preprocessing_matches_transformers_on_a_real_photo():
    from PIL import Image
    from sklearn.datasets import load_sample_image
    from transformers.models.convnext.image_processing_pil_convnext import ConvNextImageProcessorPil

    img = Image.fromarray(load_sample_image("china.jpg"))
    for cfg in (PREPROCESSOR | {"size": {"shortest_edge": 224}}, PREPROCESSOR | {"size": {"shortest_edge": 384}},
                {"size": {"shortest_edge": 160}, "crop_pct": 0.95, "resample": 2}):
        want = ConvNextImageProcessorPil(**cfg)(img, return_tensors="np")["pixel_values"][0]
        got = from_hf_config(cfg).image(img)
        assert got.shape == want.shape
        assert np.abs(got - want).max() < 1e-4, cfg


def test_a_bin_only_repo_loads_weights_only_and_a_pickle_payload_is_refused(hf_env, cards, tmp_path):
    import io
    import os

    model = hf_model(2, depths=[1, 1, 1, 1], dims=[8, 16, 24, 32], labels=["a", "b"], seed=3)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    repo_id = f"tests-org/{unique('binonly')}".replace("_", "-")
    files = {"config.json": model.config.to_json_string().encode(), "pytorch_model.bin": buf.getvalue()}
    hf_env.add(repo_id, files)
    (cards / f"{repo_id.replace('/', '__')}.md").write_text(HF_CARD.format(name=repo_id))
    index(cards)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).logits.numpy()
    net = load_model(f"hf:{repo_id}")
    assert net.hub_info.weights.name == "pytorch_model.bin"
    assert np.abs(net(ms.Tensor(x)).asnumpy() - want).max() <= 1e-4

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = io.BytesIO()
    torch.save({"convnextv2.embeddings.patch_embeddings.weight": Payload()}, evil)
    evil_id = f"tests-org/{unique('evil')}".replace("_", "-")
    hf_env.add(evil_id, {"config.json": files["config.json"], "pytorch_model.bin": evil.getvalue()})
    (cards / f"{evil_id.replace('/', '__')}.md").write_text(HF_CARD.format(name=evil_id))
    index(cards)
    from registry.errors import CheckpointError

    with pytest.raises(CheckpointError, match="weights-only"):
        load_model(f"hf:{evil_id}")
    assert not marker.exists()


def test_bf16_safetensors_are_widened_and_damaged_ones_are_clear_errors(tmp_path):
    from safetensors.torch import save_file

    from hub_client.weights.safetensors_file import read_safetensors
    from registry.errors import CheckpointError

    model = hf_model(2, depths=[1, 1, 1, 1], dims=[8, 16, 24, 32], labels=["a", "b"], seed=4)
    state = {k: v.to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "bf16.safetensors"))
    got = read_safetensors(tmp_path / "bf16.safetensors")
    assert got.keys() == state.keys()
    for k, v in state.items():
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], v.float().numpy())
    # in a fresh interpreter numpy has no bfloat16 (nothing imported ml_dtypes): our own reader widens it
    import subprocess
    import sys

    code = ("import sys, json; from pathlib import Path; "
            "from hub_client.weights.safetensors_file import read_safetensors; "
            "d = read_safetensors(Path(sys.argv[1])); "
            "sums = {k: [str(v.dtype), float(v.sum())] for k, v in d.items()}; "
            "print(json.dumps(['ml_dtypes' in sys.modules, sums]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bf16.safetensors")], capture_output=True,
                         text=True, check=True).stdout
    fresh, sums = json.loads(out)
    assert not fresh
    assert sums == {k: ["float32", pytest.approx(float(v.float().sum()), rel=1e-5, abs=1e-5)] for k, v in state.items()}
    data = (tmp_path / "bf16.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        read_safetensors(tmp_path / "cut.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x05" * 64)
    with pytest.raises(CheckpointError):
        read_safetensors(tmp_path / "junk.safetensors")


def test_a_repo_of_another_architecture_fails_before_its_weights_are_fetched(hf_env):
    from helpers import payload

    from registry.errors import NoLoaderError

    repo_id = f"acme/{unique('wav2vec2')}".replace("_", "-")  # (resnet loads now: transformers' Auto classes)
    hf_env.add(repo_id, {"README.md": HF_CARD.format(name=repo_id).encode(),
                         "config.json": json.dumps({"model_type": "wav2vec2"}).encode(),
                         "model.safetensors": payload(50_000, seed=5)})
    with pytest.raises(NoLoaderError, match="wav2vec2"):
        hub_client.load_model(f"hf:{repo_id}", backend="torch")
    assert not any(repo_id in p and p.endswith("model.safetensors") for _, p in hf_env.log)  # config.json told it
