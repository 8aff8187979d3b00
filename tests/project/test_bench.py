"""`python -m bench`: every benchmark in one run, one table, JSON beside it (a short slice runs here)."""

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT
from helpers.tools import need


@pytest.mark.slow
def test_bench_runs_and_tabulates_with_the_anchors(tmp_path, monkeypatch):
    need("nginx")  # the start-up benchmark serves its file with it
    for var in ("HUB_HOME", "HUB_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "registry_index", "startup", "--json",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    assert doc["quick"] and doc["machine"]["cpus"] and doc["machine"]["date"]
    figures = {r["figure"]: r for r in doc["rows"]}
    cached = figures["start-up: cached hub pull convnext_tiny"]
    assert cached["anchor"] == "hf download (cached)" and cached["ratio"] == pytest.approx(
        cached["ours"] / cached["anchor_value"])
    assert 0 < figures["registry: search (median)"]["ours"] < 1000
    assert "| start-up: cached hub pull convnext_tiny |" in proc.stdout  # the markdown table


def test_rows_for_download_reads_medians():
    from bench.__main__ import rows_for

    doc = {"size_mb": 100, "seconds": {"hub pull": [1.0, 2.0, 3.0], "curl -o": [1.0, 1.0, 1.0], "hf_hub_download": [],
                                       "pooch.retrieve": [4.0]}, "sha256_s": 0.5}
    rows = {r["anchor"]: r for r in rows_for("download", doc) if r["unit"] == "s"}
    assert rows["curl -o"]["ratio"] == 2.0 and rows["curl -o"]["target"] == "<= 1.3x"
    assert rows["pooch.retrieve"]["ratio"] == 0.5
    assert "hf_hub_download" not in rows  # no runs, no row


def test_rows_for_parallel_compares_speeds():
    from bench.__main__ import rows_for

    doc = {"size_mb": 1024, "rate_mb_per_connection": 20.0, "curl_mb_s": 20.0, "hub_peak_rss_mib": 60.0,
           "seconds": {"hub pull (card)": [2.0, 2.5, 3.0], "hub pull hf:ID": [2.5],
                       "hf_transfer.download (100 files, 10 MiB chunks)": [5.0], "aria2c -x16 -s16": [4.0]}}
    small = {**doc, "size_mb": 110, "seconds": {**doc["seconds"], "hub pull (card), host known": [0.5]}}
    found = rows_for("parallel", {"runs": [small, doc]})
    versus = [r for r in found if r["anchor"] == "aria2c -x16 -s16"]
    assert [r["ratio"] for r in versus] == pytest.approx([2.5 / 4.0, 2.5 / 4.0, 0.5 / 4.0, 2.5 / 4.0, 2.5 / 4.0])
    assert all(r["target"] == "<= 1.0x" and r["unit"] == "s" for r in versus)
    rows = {r["anchor"]: r for r in found[len(found) // 2 + 1:]}  # the 1 GiB run's
    mb = 1024 * (1 << 20) / 1e6
    assert rows["curl (first seconds)"]["ratio"] == pytest.approx(mb / 2.5 / 20.0)
    assert rows["hf_transfer (100 files)"]["ratio"] == pytest.approx(5.0 / 2.5)
    assert rows["hf_transfer (100 files)"]["target"] == ">= 1.0x"
    assert rows["target"]["ours"] == 60.0 and rows["target"]["target"] == "<= 128 MiB"


def test_rows_for_convert_compares_with_moving_the_bytes_once():
    from bench.__main__ import rows_for

    doc = {"tiny_mb": 114.0, "big_mb": 1400.0, "rounds": 3, "publish_read_ratio": [1.0, 1.01, 1.0],
           "seconds": {"to hf": [0.4, 0.5, 0.6], "to mindspore": [0.3], "read+write once": [0.25],
                       "publish": [3.0], "publish again": [1.0], "sha256+copy once": [2.0]}}
    rows = rows_for("convert", doc)
    assert rows[0]["ratio"] == pytest.approx(2.0) and rows[0]["target"] == "<= 2x"
    assert rows[1]["ratio"] == pytest.approx(1.2)
    assert rows[3]["ours"] == 1.0 and rows[3]["target"] == "1.0 (one read)"


def test_rows_for_infer_compares_auto_with_openvino_defaults():
    from bench.__main__ import rows_for

    doc = [{"figure": "load convnext_tiny, auto's engine", "backend": "auto (openvino bf16)", "cold_s": 9.0,
            "warm_s": 0.5},
           {"figure": "hub eval, 64 JPEGs", "backend": "openvino", "model_only_img_s": 20.0,
            "end_to_end_img_s": 18.0},
           {"figure": "convnext_tiny 224, batch 1", "backend": "OpenVINO default", "img_s": 50.0, "gflops": 445.0,
            "peak_gflops": 165.0, "of_peak": 2.7},
           {"figure": "convnext_tiny 224, batch 1", "backend": "auto (openvino bf16)", "img_s": 55.0,
            "gflops": 489.5, "peak_gflops": 165.0, "of_peak": 3.0}]
    doc.append({"figure": "hub predict, 64 JPEGs, batch 8", "backend": "openvino", "batch": 8,
                "end_to_end_img_s": 21.0, "anchor_img_s": 20.0})
    rows = rows_for("infer", doc)
    assert rows[-1]["ratio"] == pytest.approx(1.05) and rows[-1]["target"] == ">= 1.0x"
    assert rows[0]["ours"] == 0.5 and rows[0]["target"] == "<= 3 s"
    assert rows[1]["ratio"] == pytest.approx(0.9) and rows[1]["target"] == ">= 0.85x"
    versus = [r for r in rows if r["anchor"] == "OpenVINO default"]
    assert len(versus) == 1 and versus[0]["ratio"] == pytest.approx(1.1) and versus[0]["target"] == ">= 1.0x"


def test_rows_for_first_predict_compare_auto_cold_with_exact_pytorch_cold():
    from bench.__main__ import rows_for

    doc = {"seconds": {"auto": [3.0, 2.0], "exact PyTorch": [6.0, 4.0], "auto, engine kept": [1.0, 1.2]},
           "median_s": {"auto": 2.5, "exact PyTorch": 5.0, "auto, engine kept": 1.1}}
    first, kept = rows_for("first_predict", doc)
    assert first["ratio"] == pytest.approx(0.5) and first["target"] == "<= 1.5x"
    assert first["anchor"].startswith("exact PyTorch") and kept["ours"] == 1.1 and not kept["target"]


def test_the_gpu_script_says_plainly_when_there_is_no_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine: the script runs for real there")
    proc = subprocess.run([sys.executable, "-m", "bench.gpu"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr


@pytest.mark.slow
def test_the_gpu_script_rehearses_on_the_cpu(tmp_path):
    """The CUDA script's rows, run on the CPU: every engine it times gives logits near fp32's, and auto's check
    is reported, so the script is known to run before a GPU machine gets it."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, "-m", "bench.gpu", "--device", "cpu", "--no-compile", "--batches", "2",
                           "--seconds", "0.05", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "HUB_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())
    timed = {r["backend"]: r for r in rows if "img_s" in r}
    assert {"PyTorch fp32", "PyTorch bf16, channels_last", "PyTorch fp16, channels_last"} <= set(timed)
    assert any(name.startswith("auto (torch ") for name in timed)
    assert all(r["img_s"] > 0 for r in timed.values())
    assert timed["PyTorch fp32"]["max_rel_error"] == 0.0
    assert all(r["max_rel_error"] < 0.05 for r in timed.values())  # reduced precisions stay near fp32
    assert rows[-1]["figure"] == "auto's precision check"
