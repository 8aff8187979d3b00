"""load_model of MindCV's zoo from the cache vs the raw loads a user writes by hand, on both backends.

    python -m bench.zoo [--rounds 5] [--quick] [--archs resnet50 vit_b_32_224] [--json out.json]

For each architecture, MindCV writes a checkpoint (random weights, the real file's size), loopback nginx serves
it under a card in the catalogue's form, and it is pulled once; then, alternating round by round in this process:

- ours on MindSpore: ``load_model(card, backend="mindspore")``: registry lookup, cache hit, architecture read
  from the file name and the checkpoint's headers, ``mindcv.create_model``, strict load;
- raw on MindSpore: ``mindcv.create_model(arch)``, ``mindspore.load_checkpoint``, ``load_param_into_net``;
- ours on PyTorch: ``load_model(card, backend="torch")``: the same, then the .ckpt read without MindSpore, renamed
  by the family's map into transformers' network;
- raw on PyTorch: transformers' network built from its config and ``load_state_dict`` of the same weights already
  in its names, from a safetensors file (what a PyTorch user loads; timm, the issue's anchor, cannot be imported
  on these machines: its torchvision wheels need CUDA).

Target (issue 27): ours within 1.2x raw on each backend. The checkpoint's page cache is warm for all of them.
Then the hand-written ConvNeXt against MindCV's own network (build and load, images/s), which decides whether
it keeps a path of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import MS_CARD  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import report, work_dir  # noqa: E402
from registry.settings import Settings  # noqa: E402

ARCHS = ("resnet50", "vit_b_32_224")


def _setup(work: Path, arch: str, nginx: Nginx, settings: Settings) -> tuple[str, Path, Path]:
    """``arch``'s checkpoint on nginx under a card; pulled; its weights also in transformers' names."""
    import mindcv
    import mindspore as ms
    from safetensors.numpy import save_file

    from hub_client import pull
    from hub_client.models import zoo, zoo_torch
    from registry import Registry

    net = mindcv.create_model(arch, pretrained=False)
    ckpt = work / f"{arch}.ckpt"
    ms.save_checkpoint(net, str(ckpt))
    data = ckpt.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    name = f"{arch}_bench"
    rel = f"toolkits/mindcv/{name}/{arch}-{digest[:8]}-910v2.ckpt"  # MindCV's asset name, as the catalogue's
    (nginx.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (nginx.root / rel).write_bytes(data)
    cards = work / "cards"
    cards.mkdir(exist_ok=True)
    family = zoo.table()[arch].module
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=f"{nginx.url}/{rel}", sha=digest[:8])
                                      .replace("backbone-name: convnext", f"backbone-name: {family}"))
    with Registry(settings=settings) as reg:
        reg.add_source(cards)
        reg.sync()
    [path] = pull(name, settings=settings)
    renamed, unknown = zoo_torch.to_torch(arch, {p.name: p.asnumpy() for p in net.get_parameters()})
    assert not unknown, unknown
    import torch

    from hub_client.models.hf_names import to_model

    with torch.device("meta"):  # the anchor's file holds the network's own in-memory names
        renamed = to_model(zoo_torch.build(arch, 1000, 3), renamed)
    converted = work / f"{arch}.safetensors"
    save_file({k: v.copy() for k, v in renamed.items()}, str(converted))
    return name, path, converted


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _raw_mindspore(arch: str, path: Path) -> None:
    import mindcv
    import mindspore as ms

    net = mindcv.create_model(arch, pretrained=False)
    ms.load_param_into_net(net, ms.load_checkpoint(str(path)), strict_load=True)
    net.set_train(False)


def _raw_torch(arch: str, converted: Path) -> None:
    from safetensors.torch import load_file

    from hub_client.models import zoo_torch

    model = zoo_torch.build(arch, 1000, 3)
    model.load_state_dict(load_file(str(converted)), strict=True)


def _images_per_second(net: Any, batch: int, iters: int) -> float:
    import mindspore as ms
    import numpy as np

    x = ms.Tensor(np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32))
    net(x).asnumpy()  # warm up
    t = time.perf_counter()
    for _ in range(iters):
        net(x).asnumpy()
    return batch * iters / (time.perf_counter() - t)


def convnext_rows(rounds: int) -> list[dict[str, object]]:
    """The hand-written ConvNeXt (``hub_client.models.ms_convnext``) against MindCV's own, which the rest of the
    zoo uses: the build and strict load of one MindCV checkpoint, and PyNative images/s at batch 8."""
    import mindcv
    import mindspore as ms

    from hub_client.models import ms_convnext
    from hub_client.models.spec import spec_for_variant

    work = work_dir("hub-bench-convnext-")
    ckpt = work / "convnext_tiny.ckpt"
    ms.save_checkpoint(mindcv.create_model("convnext_tiny", pretrained=False), str(ckpt))

    def ours() -> Any:
        net = ms_convnext.build(spec_for_variant("convnext_tiny"), init_weights=False)
        ms.load_param_into_net(net, ms.load_checkpoint(str(ckpt)), strict_load=True)
        net.set_train(False)
        return net

    def theirs() -> Any:
        net = mindcv.create_model("convnext_tiny", pretrained=False)
        ms.load_param_into_net(net, ms.load_checkpoint(str(ckpt)), strict_load=True)
        net.set_train(False)
        return net

    ours(), theirs()
    load = {"ours": [_timed(ours) for _ in range(rounds)], "theirs": [_timed(theirs) for _ in range(rounds)]}
    speed = {"ours": _images_per_second(ours(), 8, 2), "theirs": _images_per_second(theirs(), 8, 2)}
    med = {k: statistics.median(v) for k, v in load.items()}
    return [{"figure": "build + load convnext_tiny, hand-written network (s)", "ours": med["ours"],
             "anchor": "mindcv.create_model('convnext_tiny'), same checkpoint", "anchor_value": med["theirs"],
             "ratio": med["ours"] / med["theirs"], "target": "-"},
            {"figure": "convnext_tiny 224 PyNative batch 8, hand-written network (img/s)", "ours": speed["ours"],
             "anchor": "MindCV's network", "anchor_value": speed["theirs"],
             "ratio": speed["ours"] / speed["theirs"], "target": "-"}]


def run(archs: list[str], rounds: int) -> list[dict[str, object]]:
    from hub_client import load_model

    work = work_dir("hub-bench-zoo-")
    settings = Settings(home=work / "home", hf_cache=work / "hf", hosts=("127.0.0.1",))
    nginx = Nginx(work / "root", work / "nginx").start()
    rows: list[dict[str, object]] = []
    try:
        for arch in archs:
            name, path, converted = _setup(work, arch, nginx, settings)
            runs: dict[str, Callable[[], object]] = {
                "ours mindspore": partial(load_model, name, backend="mindspore", settings=settings),
                "raw mindspore": partial(_raw_mindspore, arch, path),
                "ours torch": partial(load_model, name, backend="torch", settings=settings),
                "raw torch": partial(_raw_torch, arch, converted),
            }
            for fn in runs.values():  # first touch: imports, page cache, kernels
                fn()
            seconds: dict[str, list[float]] = {k: [] for k in runs}
            for _ in range(rounds):
                for key, fn in runs.items():
                    seconds[key].append(_timed(fn))
            med = {k: statistics.median(v) for k, v in seconds.items()}
            rows.append({"figure": f"load {arch} from cache on MindSpore (s)", "ours": med["ours mindspore"],
                         "anchor": "mindcv.create_model + load_checkpoint + load_param_into_net",
                         "anchor_value": med["raw mindspore"],
                         "ratio": med["ours mindspore"] / med["raw mindspore"], "target": "<= 1.2x"})
            rows.append({"figure": f"load {arch} from cache on PyTorch, from the .ckpt (s)", "ours": med["ours torch"],
                         "anchor": "transformers network + load_state_dict (safetensors)",
                         "anchor_value": med["raw torch"], "ratio": med["ours torch"] / med["raw torch"],
                         "target": "<= 1.2x"})
        return rows
    finally:
        nginx.stop()


def table(rows: list[dict[str, object]]) -> str:
    out = ["| figure | ours | anchor | anchor value | ratio | target |", "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['figure']} | {r['ours']:.3f} | {r['anchor']} | {r['anchor_value']:.3f} | "
                   f"{r['ratio']:.2f}x | {r['target']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    ap.add_argument("--archs", nargs="+", default=list(ARCHS))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    rows = run(args.archs, rounds) + convnext_rows(rounds)
    return report(table(rows), rows, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
