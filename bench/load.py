"""load_model(convnext_tiny) from the cache vs a raw MindSpore load, and ConvNeXt-tiny inference speed.

    python -m bench.load [--rounds 5] [--quick] [--json out.json]

A ConvNeXt-tiny checkpoint in MindCV layout (random weights, the real file's size) is served by loopback
nginx under a ``convnext_tiny`` card and pulled once; then, alternating round by round in this process:

- ours: ``load_model("convnext_tiny")``: registry lookup, cache hit, network build, strict load;
- raw: what a MindSpore user writes by hand: a fresh network, ``mindspore.load_checkpoint``,
  ``mindspore.load_param_into_net``.

Target (issue 5): ours within 1.2x raw. Then images/s at 224x224 in graph mode (after compiling) and in
PyNative, batch 1 and 8, with the GFLOP/s that makes (4.47 GMACs = 8.9 GFLOP per image).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import publish  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import report, work_dir  # noqa: E402

GFLOP_PER_IMAGE = 8.9


def _setup(work: Path) -> tuple[Nginx, Path]:
    """A MindCV-layout convnext_tiny .ckpt on nginx, a card for it, a registry that knows only that card."""
    import mindspore as ms
    import numpy as np

    from hub_client.models import ms_convnext as msnet
    from hub_client.models.spec import spec_for_variant

    os.environ.update(HUB_HOME=str(work / "home"), HUB_REGISTRY=str(work / "registry.db"),
                      HUB_ALLOWED_HOSTS="127.0.0.1", GLOG_v="3")
    net = msnet.build(spec_for_variant("convnext_tiny"), seed=0)
    ckpt = work / "convnext_tiny.ckpt"
    ms.save_checkpoint(net, str(ckpt))
    nginx = Nginx(work / "root", work / "nginx").start()
    cards = work / "cards"
    publish(nginx.root, cards, "convnext_tiny", ckpt.read_bytes(), base=nginx.url, prefix=True)
    from registry import Registry

    with Registry() as reg:
        reg.add_source(cards)
        reg.sync()
    from hub_client import pull

    [path] = pull("convnext_tiny")
    assert np.isfinite(net(ms.Tensor(np.zeros((1, 3, 64, 64), np.float32))).asnumpy()).all()
    return nginx, path


def _ours() -> float:
    from hub_client import load_model

    t = time.perf_counter()
    load_model("convnext_tiny", backend="mindspore")
    return time.perf_counter() - t


def _ours_torch() -> float:
    from hub_client import load_model

    t = time.perf_counter()
    load_model("convnext_tiny", backend="torch")
    return time.perf_counter() - t


def _raw(path: Path) -> float:
    import mindspore as ms

    from hub_client.models import ms_convnext as msnet
    from hub_client.models.spec import spec_for_variant

    t = time.perf_counter()
    net = msnet.ConvNeXt(spec_for_variant("convnext_tiny"))
    ms.load_param_into_net(net, ms.load_checkpoint(str(path)))
    net.set_train(False)
    return time.perf_counter() - t


def _throughput(mode: str, batch: int, iters: int) -> float:
    import mindspore as ms
    import numpy as np

    from hub_client import load_model

    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    try:
        model = load_model("convnext_tiny", backend="mindspore")
        x = ms.Tensor(np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32))
        model(x).asnumpy()  # compile (graph) / warm up
        t = time.perf_counter()
        for _ in range(iters):
            model(x).asnumpy()
        return batch * iters / (time.perf_counter() - t)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def run(rounds: int, quick: bool) -> list[dict[str, object]]:
    work = work_dir("hub-bench-load-")
    nginx, path = _setup(work)
    try:
        _ours(), _raw(path)  # first touch: page cache, MindSpore's kernels
        ours, raw, torch_s = [], [], []
        for _ in range(rounds):
            ours.append(_ours())
            raw.append(_raw(path))
            torch_s.append(_ours_torch())
        rows: list[dict[str, object]] = [{
            "figure": "load convnext_tiny from cache (s)", "ours": statistics.median(ours),
            "anchor": "mindspore.load_checkpoint + load_param_into_net", "anchor_value": statistics.median(raw),
            "ratio": statistics.median(ours) / statistics.median(raw), "target": "<= 1.2x"}, {
            "figure": "load convnext_tiny on PyTorch from the .ckpt, no MindSpore (s)",
            "ours": statistics.median(torch_s), "anchor": "raw MindSpore load, as above",
            "anchor_value": statistics.median(raw), "ratio": statistics.median(torch_s) / statistics.median(raw),
            "target": "-"}]
        iters = {1: 2 if quick else 5, 8: 1 if quick else 2}
        for mode in ("graph", "pynative"):
            for batch in (1, 8):
                ips = _throughput(mode, batch, iters[batch])
                rows.append({"figure": f"convnext_tiny 224 {mode} batch {batch} (img/s)", "ours": ips,
                             "anchor": "GFLOP/s", "anchor_value": ips * GFLOP_PER_IMAGE, "ratio": None,
                             "target": ""})
        return rows
    finally:
        nginx.stop()


def table(rows: list[dict[str, object]]) -> str:
    out = ["| figure | ours | anchor | anchor value | ratio | target |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['ratio']:.2f}x" if isinstance(r["ratio"], float) else ""
        out.append(f"| {r['figure']} | {r['ours']:.3f} | {r['anchor']} | {r['anchor_value']:.3f} | {ratio} | "
                   f"{r['target']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 rounds, fewer inference iterations")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = run(3 if args.quick else args.rounds, args.quick)
    return report(table(rows), rows, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
