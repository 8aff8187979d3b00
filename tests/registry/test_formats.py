"""Weight formats: one table of suffixes and one order of preference, for lint, HF pulls and the loader."""

from __future__ import annotations

from pathlib import Path

from hub_client.fetch.hf import _pick
from hub_client.weights.state import pick_weights
from registry.card.tables import parse
from registry.formats import LOADABLE, WEIGHT_FORMATS, weight_format


def test_formats_by_suffix():
    assert [weight_format(n) for n in ("a.safetensors", "B.CKPT", "pytorch_model.bin", "x.pth", "m.ms", "c.json")] \
        == ["safetensors", "ckpt", "bin", "bin", "mslite", None]
    assert list(WEIGHT_FORMATS)[: len(LOADABLE)] == list(LOADABLE)


def test_the_loader_and_an_hf_pull_prefer_the_same_format():
    files = ["config.json", "pytorch_model.bin", "model.ckpt", "model.safetensors", "tf_model.h5"]
    assert pick_weights([Path(f) for f in files]).name == "model.safetensors"
    assert _pick(files, None) == ["config.json", "model.safetensors"]
    rest = [f for f in files if f != "model.safetensors"]
    assert pick_weights([Path(f) for f in rest]).name == "model.ckpt"
    assert _pick(rest, None) == ["config.json", "model.ckpt"]
    assert _pick(files, "config") == ["config.json"]


def test_results_tables_find_weights_links_by_the_same_suffixes():
    body = ("| model | top-1 | weights |\n|---|---|---|\n"
            "| a | 80.1 | [w](https://x/a.safetensors) |\n| b | 79.0 | [w](https://x/b.mindir) |\n"
            "| c | 78.0 | [notes](https://x/c.html) |\n")
    assert [r.weights for r in parse(body)] == [("https://x/a.safetensors",), ("https://x/b.mindir",), ()]
