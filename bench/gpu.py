"""ConvNeXt-tiny on a CUDA GPU: the table ``bench.infer`` prints, for the CUDA path, in one command.

    python -m bench.gpu [--batches 1 8 32 128] [--seconds 5] [--json out.json] [--device cpu --no-compile]

Rows, each at 224x224 with random weights in MindCV's layout: PyTorch fp32; bf16 and fp16 weights in
channels_last; ``torch.compile`` of the bf16 network (``max-autotune-no-cudagraphs``, compiled before timing);
and ``auto``: what ``load_model(..., device="cuda")`` runs, through its own engine step (``accelerate.py``: the
precision check against fp32 on the probe, and its timing). Every row also gives the largest logit error against
fp32 relative to the largest logit. Without CUDA it says so and exits 2; ``--device cpu`` runs the same rows on
the CPU (a rehearsal of the script, which the tests run with ``--no-compile``: compiling takes minutes there).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import convnext_checkpoint, report, work_dir

GFLOP_PER_IMAGE = 8.9


def _rate(run: Any, batch: int, seconds: float, device: str) -> float:
    import torch

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    run()
    sync()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run()
        n += 1
    sync()
    return batch * n / (time.perf_counter() - start)


def run(batches: list[int], seconds: float, device: str = "cuda", compile_: bool = True) -> list[dict[str, Any]]:

    import torch

    from hub_client.models import accelerate
    from hub_client.models.backend import build_and_load, get_backend
    from hub_client.models.spec import spec_for_variant

    work = work_dir("hub-bench-gpu-")
    spec = spec_for_variant("convnext_tiny")
    rng = np.random.default_rng(0)
    weights = convnext_checkpoint(work / "convnext_tiny.ckpt")
    fp32, *_ = build_and_load(get_backend("torch"), spec, weights, device=device)
    engines: dict[str, Any] = {"PyTorch fp32": fp32}
    for name, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        engines[f"PyTorch {name}, channels_last"] = copy.deepcopy(fp32).to(dtype=dtype).to(
            memory_format=torch.channels_last)
    if compile_:
        compiled = torch.compile(engines["PyTorch bf16, channels_last"], mode="max-autotune-no-cudagraphs")
        engines["torch.compile bf16"] = compiled
    from registry.settings import Settings

    auto, check, precision = accelerate.torch_precision(copy.deepcopy(fp32), spec, weights, "auto", device, 224,
                                                        Settings.from_env().engines)
    engines[f"auto (torch {precision})"] = auto
    rows = []
    for batch in batches:
        x = torch.from_numpy(rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)).to(device)
        with torch.inference_mode():
            ref = fp32(pixel_values=x).logits.float()
            for name, net in engines.items():
                dtype = next(p for p in net.parameters()).dtype if hasattr(net, "parameters") else torch.float32
                xin = x.to(dtype).contiguous(memory_format=torch.channels_last) if dtype != torch.float32 else x
                out = net(pixel_values=xin).logits.float()
                err = float((out - ref).abs().max() / ref.abs().max())
                ips = _rate(lambda net=net, xin=xin: net(pixel_values=xin), batch, seconds, device)
                rows.append({"figure": f"convnext_tiny 224, batch {batch}", "backend": name, "img_s": ips,
                             "tflops": ips * GFLOP_PER_IMAGE / 1000, "max_rel_error": err})
    rows.append({"figure": "auto's precision check", "backend": f"torch {precision}",
                 "check": None if check is None else vars(check)})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| figure | engine | images/s | TFLOP/s | max rel. logit error vs fp32 |", "|---|---|---:|---:|---:|"]
    for r in rows:
        if "img_s" in r:
            out.append(f"| {r['figure']} | {r['backend']} | {r['img_s']:.1f} | {r['tflops']:.2f} | "
                       f"{r['max_rel_error']:.2g} |")
        else:
            out.append(f"\n{r['figure']}: {r['backend']}, {r['check']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 128])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile row")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("bench.gpu needs PyTorch with CUDA: pip install torch (a CUDA wheel)", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: run python -m bench.gpu on a machine with an NVIDIA GPU", file=sys.stderr)
        return 2
    rows = run(args.batches, args.seconds, args.device, not args.no_compile)
    return report(table(rows), rows, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
