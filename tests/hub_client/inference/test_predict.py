"""``hub predict`` end to end on real photographs that scikit-learn ships, from a checkpoint pulled off nginx."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

ms = pytest.importorskip("mindspore")
datasets = pytest.importorskip("sklearn.datasets")

from functools import partial  # noqa: E402

from helpers.weights import serve  # noqa: E402

import hub_client  # noqa: E402
from hub_client import predict  # noqa: E402
from hub_client.cli.app import app  # noqa: E402
from hub_client.models.labels import imagenet1k  # noqa: E402

load_model = partial(hub_client.load_model, backend="mindspore")

@pytest.fixture
def photos(tmp_path):
    from PIL import Image

    paths = []
    for name in ("china.jpg", "flower.jpg"):
        path = tmp_path / name
        Image.fromarray(datasets.load_sample_image(name)).save(path, quality=95)
        paths.append(path)
    return paths


@pytest.fixture
def model_name(nginx, net, cards, tmp_path):
    return serve(nginx, cards, tmp_path, "convnextv2_atto", seed=7)[0]


def test_predict_cli_json_matches_a_forward_pass_by_hand(model_name, photos):
    args = ["predict", model_name, *map(str, photos), "--topk", "3", "--json", "--backend", "mindspore"]
    result = CliRunner().invoke(app, args,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["backend"] == "mindspore" and doc["device"] == "CPU"
    assert [r["image"] for r in doc["results"]] == [str(p) for p in photos]

    model = load_model(model_name)
    batch = model.hub_info.preprocess(photos)
    assert batch.shape == (2, 3, 224, 224)
    logits = model(ms.Tensor(batch)).asnumpy().astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    for row, result_ in zip(probs, doc["results"], strict=True):
        top = result_["predictions"]
        assert [t["index"] for t in top] == list(np.argsort(-row)[:3])
        assert [t["label"] for t in top] == [imagenet1k()[i] for i in np.argsort(-row)[:3]]
        np.testing.assert_allclose([t["probability"] for t in top], np.sort(row)[::-1][:3], rtol=1e-5)
    assert doc["results"][0]["predictions"] != doc["results"][1]["predictions"]


def test_predict_cli_table_and_python_api_agree(model_name, photos):
    args = ["predict", model_name, str(photos[1]), "-k", "2", "-b", "mindspore"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0
    [pred] = predict(load_model(model_name), [photos[1]], topk=2)
    for t in pred.top:
        assert t.label in result.output and f"{t.probability:.4f}" in result.output


def test_predict_rejects_what_is_not_an_image(model_name, tmp_path):
    from hub_client.cli.app import main

    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    import sys

    argv = sys.argv
    sys.argv = ["hub", "predict", model_name, str(bad), "--backend", "mindspore"]
    try:
        with pytest.raises(SystemExit) as e:
            main()
    finally:
        sys.argv = argv
    assert e.value.code == 2


def test_predict_in_batches_prepared_ahead_keeps_order_and_results(model_name, photos):
    """Images are decoded on threads ahead of the network: the results come in the images' order, each the
    same as a prediction of that image alone (the last, shorter batch included)."""
    model = load_model(model_name)
    many = [photos[i % 2] for i in range(5)]
    together = predict(model, many, topk=3, batch_size=2, workers=3)
    assert [p.image for p in together] == [str(p) for p in many]
    for got, image in zip(together, many, strict=True):
        [alone] = predict(model, [image], topk=3)
        assert [t.index for t in got.top] == [t.index for t in alone.top]
        np.testing.assert_allclose([t.probability for t in got.top], [t.probability for t in alone.top], rtol=1e-5)
