"""``hub eval`` reproduces the reference model's claims after a real pull, on both backends, both publications."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from helpers import ROOT, index, unique
from typer.testing import CliRunner

pytest.importorskip("mindspore")
pytest.importorskip("torch")
pytest.importorskip("sklearn")

from hub_client import load_model  # noqa: E402
from hub_client.cli.app import app  # noqa: E402
from hub_client.inference.data import digit_image, digits_split  # noqa: E402
from hub_client.inference.evaluation import default_tolerance, evaluate  # noqa: E402
from registry.record import top1_percent  # noqa: E402

MODEL = ROOT / "models" / "convnextv2_digits"
MS_CARD = ROOT / "cards" / "mindspore" / "2.5" / "convnextv2_digits.md"
HF_REPO = "hub-project/convnextv2-digits"


def card_claim() -> float:
    return float(re.search(r"top1acc([\d.]+)", MS_CARD.read_text()).group(1))


@pytest.fixture
def mirror(nginx, monkeypatch):
    """The reference checkpoint on a loopback mirror of the host its card names, as the quickstart serves it; the
    CLI (an edge) reads it from HUB_MIRRORS."""
    [ckpt] = MODEL.glob("convnextv2_digits-*.ckpt")
    link = re.search(r"asset-link: <([^>]+)>", MS_CARD.read_text()).group(1)
    target = nginx.root / link.split("://", 1)[1].split("/", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(ckpt.read_bytes())
    monkeypatch.setenv("HUB_MIRRORS", nginx.url)
    monkeypatch.setenv("HUB_RETRIES", "1")
    return nginx, "/" + str(target.relative_to(nginx.root))


@pytest.fixture
def hf_repo(hf_env):
    hf_env.add(HF_REPO, {p.name: p.read_bytes() for p in (MODEL / "hf").iterdir()})
    return hf_env


def eval_cli(*args: str) -> tuple[int, dict]:
    res = CliRunner().invoke(app, ["eval", *args, "--dataset", "sklearn-digits", "--json"], catch_exceptions=False)
    return res.exit_code, json.loads(res.output) if res.output.strip().startswith("{") else {}


def test_card_sha256_is_the_shipped_files(mirror):
    [ckpt] = MODEL.glob("convnextv2_digits-*.ckpt")
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert f"asset-sha256: {digest}" in MS_CARD.read_text()
    assert ckpt.name == f"convnextv2_digits-{digest[:8]}.ckpt"
    hf_card = (ROOT / "cards" / "huggingface" / "hub-project__convnextv2-digits.md").read_text()
    assert hf_card == (MODEL / "hf" / "README.md").read_text()
    for name in ("model.safetensors", "config.json", "preprocessor_config.json"):
        assert f"| {name} | {hashlib.sha256((MODEL / 'hf' / name).read_bytes()).hexdigest()} |" in hf_card
    total = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert total <= 16 * 2**20


@pytest.mark.parametrize("backend", ["torch", "mindspore"])
def test_eval_reproduces_the_mindspore_card_after_a_pull(mirror, backend):
    nginx, uri = mirror
    before = len(nginx.requests_for(uri))
    code, doc = eval_cli("convnextv2_digits", "--backend", backend)
    assert code == 0, doc
    assert doc["verdict"] == "reproduced" and doc["images"] == 450 and doc["backend"] == backend
    assert doc["claim_top1"] == card_claim()
    assert abs(doc["top1"] - card_claim()) <= doc["tolerance"]
    assert [r[:2] for r in nginx.requests_for(uri)[before:]] == [("GET", 200)]  # really pulled, from the mirror


def test_eval_reproduces_the_card_with_the_auto_choice(mirror):
    """No --backend: the fastest engine installed for the CPU, in the precision its check allows, still gives
    the card's top-1 (and the same answer as exact PyTorch)."""
    import importlib.util

    code, doc = eval_cli("convnextv2_digits")
    assert code == 0, doc
    assert doc["backend"] == ("openvino" if importlib.util.find_spec("openvino") else "torch")
    assert doc["verdict"] == "reproduced" and doc["images"] == 450 and doc["precision"] in ("fp32", "bf16")
    assert abs(doc["top1"] - card_claim()) <= doc["tolerance"]
    _, exact = eval_cli("convnextv2_digits", "--backend", "torch", "--precision", "fp32")
    assert abs(doc["top1"] - exact["top1"]) <= 100 / 450 + 1e-9  # at most one image answered otherwise


@pytest.mark.parametrize("backend", ["torch", "mindspore"])
def test_eval_reproduces_the_hf_card_after_a_pull(hf_repo, backend):
    code, doc = eval_cli(f"hf:{HF_REPO}", "--backend", backend)
    assert code == 0, doc
    assert doc["verdict"] == "reproduced"
    assert doc["claim_source"].lower() == "accuracy" and doc["claim_top1"] == pytest.approx(card_claim(), abs=0.01)


def test_eval_of_a_repo_no_one_indexed(hf_env, hf_settings):
    """The reference repo under another id the registry has never seen: resolved through the Hub API, then
    pulled, loaded and evaluated exactly as the indexed card is."""
    repo = "acme/digits-copy"
    hf_env.add(repo, {p.name: p.read_bytes() for p in (MODEL / "hf").iterdir()})
    code, doc = eval_cli(f"hf:{repo}", "--backend", "torch")
    assert code == 0, doc
    assert doc["verdict"] == "reproduced" and doc["images"] == 450
    assert doc["claim_top1"] == pytest.approx(card_claim(), abs=0.01)
    model = load_model(f"hf:{repo}", backend="torch", settings=hf_settings)
    assert model.hub_info.labels == tuple(str(i) for i in range(10))


def test_image_folder_gives_the_same_accuracy_as_the_arrays(mirror, tmp_path, settings):
    _, _, images, targets = digits_split()
    root = tmp_path / "digits"
    for i, (img, t) in enumerate(zip(images, targets, strict=True)):
        (root / str(t)).mkdir(parents=True, exist_ok=True)
        digit_image(img).save(root / str(t) / f"{i}.png")
    model = load_model("convnextv2_digits", settings=settings.but(mirrors=(mirror[0].url,), retries=1))
    seen: list[tuple[int, int, float]] = []
    by_folder = evaluate(model, root, progress=lambda *a: seen.append(a), batch_size=64)
    by_arrays = evaluate(model, "sklearn-digits", workers=1)
    assert by_folder.images == by_arrays.images == 450
    assert [d for d, _, _ in seen] == [64, 128, 192, 256, 320, 384, 448, 450] and seen[-1][1] == 450
    assert seen[-1][2] == pytest.approx(by_folder.top1)  # the running top-1 ends at the result
    assert by_folder.matched_by == "class name"  # the labels are "0".."9"
    assert by_folder.top1 == by_arrays.top1
    some = evaluate(model, root, limit=50)
    assert some.images == 50
    (root / "eleven").mkdir()
    from registry.errors import UsageError

    with pytest.raises(UsageError, match="eleven"):
        evaluate(model, root)


def test_an_overclaiming_card_fails_the_eval(nginx, net, cards):
    """The same weights under a card that claims more than they give: exit 1, 'below claim'."""
    [ckpt] = MODEL.glob("convnextv2_digits-*.ckpt")
    name = unique("convnextv2_digits")
    rel = f"toolkits/hub/{name}/{ckpt.name}"
    (nginx.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (nginx.root / rel).write_bytes(ckpt.read_bytes())
    text = MS_CARD.read_text().replace("model-name: convnextv2_digits", f"model-name: {name}")
    text = re.sub(r"asset-link: <[^>]+>", f"asset-link: <{nginx.url}/{rel}>", text)
    text = re.sub(r"top1acc[\d.]+", "top1acc99.99", text)
    (cards / f"{name}.md").write_text(text)
    index(cards)
    code, doc = eval_cli(name, "--tolerance", "0.1")
    assert code == 1 and doc["verdict"] == "below claim" and doc["claim_top1"] == 99.99


def test_claims_and_tolerance():
    assert top1_percent({"top1acc": 81.28, "top5acc": 95.61}) == (81.28, "top1acc")
    assert top1_percent({"accuracy": 0.9973333}) == (pytest.approx(99.73333), "accuracy")
    assert top1_percent({"f1": 0.5}) is None
    assert default_tolerance(81.28, 50_000) == pytest.approx(2 * np.sqrt(0.8128 * 0.1872 / 50_000) * 100)
    assert default_tolerance(100.0, 450) == 0.1
