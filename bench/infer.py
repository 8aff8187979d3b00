"""ConvNeXt-tiny inference at 224x224: images/s and achieved GFLOP/s per engine, beside the machine's peak.

    python -m bench.infer [--batches 1 8 32] [--quick] [--json out.json]

The network has random weights in MindCV's layout (no download: this measures compute). Rows: MindSpore graph
mode (compiled first), PyTorch fp32, PyTorch bf16 autocast (an anchor), OpenVINO with its default CPU settings
(``convert_model`` then ``compile_model(model, "CPU")``, the anchor), and ``auto``: what ``load_model`` runs by
default, through its own engine step (``accelerate.py``: the engine, the precision check, the cached IR). Then
the load time of auto's engine from a cold cache (conversion, check and compilation) and from a warm one.
ConvNeXt-tiny costs 4.47 GMACs = 8.9 GFLOP per image. The peak is measured here, not quoted: the best of a few
large fp32 and bf16 matrix multiplications in PyTorch on this machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import convnext_checkpoint, report, work_dir

GFLOP_PER_IMAGE = 8.9


def _timed(fn: Any, images: int, min_seconds: float, min_iters: int) -> float:
    fn()  # warm-up (and graph compile)
    n, start = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - start < min_seconds:
        fn()
        n += 1
    return images * n / (time.perf_counter() - start)


def peak_gflops() -> dict[str, float]:
    import torch

    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(2048, 2048, dtype=dtype)
        b = torch.randn(2048, 2048, dtype=dtype)
        best = 0.0
        for _ in range(5):
            t = time.perf_counter()
            (a @ b).sum().item()
            best = max(best, 2 * 2048**3 / (time.perf_counter() - t) / 1e9)
        out[name] = best
    return out


def mindspore_rate(batch: int, quick: bool) -> float:
    import mindspore as ms

    from hub_client.models import ms_convnext as msnet
    from hub_client.models.spec import spec_for_variant

    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        net = msnet.build(spec_for_variant("convnext_tiny"), seed=0)
        x = ms.Tensor(np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32))
        return _timed(lambda: net(x).asnumpy(), batch, 2 if quick else 10, 1 if quick else 2)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def torch_rate(batch: int, bf16: bool, quick: bool) -> float:
    import torch

    from hub_client.models import torch_backend as torchnet
    from hub_client.models.spec import spec_for_variant

    torch.manual_seed(0)
    model = torchnet.build(spec_for_variant("convnext_tiny"))
    x = torch.randn(batch, 3, 224, 224)

    def run() -> None:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(pixel_values=x).logits.float().sum().item()

    return _timed(run, batch, 2 if quick else 8, 2 if quick else 3)


def openvino_default_rate(batch: int, quick: bool) -> float | None:
    """The anchor: OpenVINO as its documentation shows it, every setting at its default."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        return None
    import openvino as ov
    import torch

    from hub_client.models import torch_backend as torchnet
    from hub_client.models.spec import spec_for_variant

    torch.manual_seed(0)
    model = torchnet.build(spec_for_variant("convnext_tiny"))

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.inner(pixel_values=x).logits
            return out

    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    compiled = ov.Core().compile_model(ov.convert_model(Logits().eval(), example_input=torch.from_numpy(x)), "CPU")
    return _timed(lambda: compiled(x), batch, 2 if quick else 8, 2 if quick else 3)


def auto_engine(work: Path) -> tuple[Any, str, str, float, float]:
    """What ``load_model`` runs by default, on a convnext_tiny checkpoint: (network, backend, label, cold load s,
    warm load s); the engine cache lives in ``work``."""
    from hub_client.models import accelerate
    from hub_client.models.backend import build_and_load, get_backend, pick_backend
    from hub_client.models.spec import spec_for_variant

    os.environ["HUB_HOME"] = str(work / "home")
    spec = spec_for_variant("convnext_tiny")
    weights = convnext_checkpoint(work / "convnext_tiny.ckpt")
    from registry.settings import Settings

    chosen = pick_backend("auto", "cpu")
    engines = Settings.from_env().engines
    times = []
    for _ in range(2):
        start = time.perf_counter()
        if chosen == "openvino":
            net, _, precision = accelerate.load_openvino(spec, weights, "auto", 224, engines)
        else:
            net, *_ = build_and_load(get_backend("torch"), spec, weights, device="cpu")
            net, _, precision = accelerate.torch_precision(net, spec, weights, "auto", "cpu", 224, engines)
        times.append(time.perf_counter() - start)
    return net, chosen, f"auto ({chosen} {precision})", times[0], times[1]


def jpeg_folder(root: Path, count: int) -> None:
    """An ImageFolder of ImageNet-like JPEGs (about 500x375, quality 90) cut from the photos scikit-learn ships,
    in ten synset folders."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from hub_client.models.labels import imagenet1k_synsets

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = np.random.default_rng(0)
    synsets = imagenet1k_synsets()[:10]
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = (500, 375) if i % 3 else (375, 500)
        scale = rng.uniform(0.6, 1.0)
        cw, ch = int(photo.width * scale), int(photo.height * scale)
        left, top = int(rng.integers(0, photo.width - cw + 1)), int(rng.integers(0, photo.height - ch + 1))
        img = photo.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)
        folder = root / synsets[i % 10]
        folder.mkdir(parents=True, exist_ok=True)
        img.save(folder / f"{i:05d}.JPEG", quality=90)


def eval_pipeline(net: Any, backend: str, work: Path, quick: bool, batch: int = 32) -> dict[str, Any]:
    """``evaluate`` on a folder of JPEGs against the model alone on the same images, already preprocessed."""
    from hub_client.inference.evaluation import evaluate
    from hub_client.inference.prediction import logits
    from hub_client.models.labels import imagenet1k
    from hub_client.models.loader import ModelInfo
    from hub_client.models.preprocess import mindcv_imagenet, open_image
    from hub_client.models.spec import spec_for_variant

    count = 64 if quick else 256
    root = work / "jpegs"
    jpeg_folder(root, count)
    pre = mindcv_imagenet()
    net.hub_info = ModelInfo(name="convnext_tiny (random weights)", card=None, spec=spec_for_variant("convnext_tiny"),
                             labels=imagenet1k(), preprocess=pre, backend=backend, device="cpu")
    arrays = np.stack([pre.image(open_image(p)) for p in sorted(root.rglob("*.JPEG"))])
    evaluate(net, root, batch_size=batch)  # warm: every batch shape the engine will see, and the page cache
    result = evaluate(net, root, batch_size=batch)
    start = time.perf_counter()
    for i in range(0, len(arrays), batch):
        logits(net, arrays[i:i + batch])
    model_only = len(arrays) / (time.perf_counter() - start)
    return {"figure": f"hub eval, {count} JPEGs (~500x375), batch {batch}", "backend": backend,
            "model_only_img_s": model_only, "end_to_end_img_s": result.images / result.seconds}


def predict_pipeline(net: Any, backend: str, work: Path, quick: bool, batch: int = 8) -> dict[str, Any]:
    """``predict`` on the JPEG folder (decode, preprocess, batches of ``batch``, softmax, labels), end to end;
    the anchor (OpenVINO's default engine on the same network and batch, the model alone) is added by ``run``."""
    from hub_client.inference.prediction import predict

    files = sorted((work / "jpegs").rglob("*.JPEG"))
    predict(net, files[: batch * 2], batch_size=batch)  # warm: the batch shape, the page cache
    best = 0.0
    for _ in range(2 if quick else 3):
        start = time.perf_counter()
        found = predict(net, files, batch_size=batch)
        best = max(best, len(found) / (time.perf_counter() - start))
    return {"figure": f"hub predict, {len(files)} JPEGs, batch {batch}", "backend": backend, "batch": batch,
            "end_to_end_img_s": best}


def run(batches: list[int], quick: bool) -> list[dict[str, Any]]:

    os.environ.setdefault("GLOG_v", "3")
    peak = peak_gflops()
    work = work_dir("hub-bench-infer-")
    from hub_client.models.backend import get_backend

    auto, chosen, label, cold, warm = auto_engine(work)
    rows: list[dict[str, Any]] = [{"figure": "load convnext_tiny, auto's engine", "backend": label,
                                   "cold_s": cold, "warm_s": warm}]
    rows.append(eval_pipeline(auto, chosen, work, quick))
    predicted = predict_pipeline(auto, chosen, work, quick)
    for batch in batches:
        x = np.random.default_rng(1).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        rates = {"MindSpore graph fp32": mindspore_rate(batch, quick) if batch <= 8 or not quick else None,
                 "PyTorch fp32": torch_rate(batch, False, quick), "PyTorch bf16": torch_rate(batch, True, quick),
                 "OpenVINO default": openvino_default_rate(batch, quick),
                 label: _timed(lambda x=x: get_backend(chosen).logits(auto, x), batch, 2 if quick else 8,
                               2 if quick else 3)}
        for name, ips in rates.items():
            if ips is None:
                continue
            ref = peak["bf16" if "bf16" in name or "OpenVINO" in name else "fp32"]
            rows.append({"figure": f"convnext_tiny 224, batch {batch}", "backend": name, "img_s": ips,
                         "gflops": ips * GFLOP_PER_IMAGE, "peak_gflops": ref,
                         "of_peak": ips * GFLOP_PER_IMAGE / ref})
    anchor = next((r["img_s"] for r in rows if r.get("backend") == "OpenVINO default"
                   and r["figure"].endswith(f"batch {predicted['batch']}")), None)
    predicted["anchor_img_s"] = anchor if anchor is not None else openvino_default_rate(predicted["batch"], quick)
    rows.append(predicted)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| figure | backend | images/s | GFLOP/s | machine peak GFLOP/s (GEMM) | of peak |",
           "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        if "cold_s" in r or "model_only_img_s" in r or "anchor_img_s" in r:
            continue
        out.append(f"| {r['figure']} | {r['backend']} | {r['img_s']:.2f} | {r['gflops']:.1f} | "
                   f"{r['peak_gflops']:.0f} | {r['of_peak']:.0%} |")
    for r in rows:
        if "model_only_img_s" in r:
            out.append(f"\n{r['figure']} ({r['backend']}): {r['end_to_end_img_s']:.1f} img/s end to end, "
                       f"{r['model_only_img_s']:.1f} img/s model alone: "
                       f"{r['end_to_end_img_s'] / r['model_only_img_s']:.2f}x (target >= 0.85x)")
        if "anchor_img_s" in r and r["anchor_img_s"]:
            out.append(f"\n{r['figure']} ({r['backend']}): {r['end_to_end_img_s']:.1f} img/s end to end; OpenVINO "
                       f"default, the model alone, same batch: {r['anchor_img_s']:.1f} img/s: "
                       f"{r['end_to_end_img_s'] / r['anchor_img_s']:.2f}x (target >= 1.0x)")
        if "cold_s" in r:
            out.append(f"\n{r['figure']} ({r['backend']}): {r['cold_s']:.2f} s cold (build from the checkpoint, "
                       f"check, compile), {r['warm_s']:.2f} s from the cache (target <= 3 s)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--quick", action="store_true", help="short timings; MindSpore at batch <= 8 only")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = run(args.batches, args.quick)
    return report(table(rows), rows, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
