"""The first `hub predict` of a user: convnext_tiny's weights pulled, the engine cache empty, on `auto` (what a
plain `hub predict convnext_tiny cat.jpg` runs) against exact PyTorch (`--backend torch`), the anchor.

    python -m bench.first_predict [--rounds 3] [--quick] [--json out.json]

A 110 MB convnext_tiny checkpoint (random weights, MindCV's layout) is served by nginx under a card, and
`hub pull convnext_tiny` puts it in a hub home. Each run is a whole process, with the home's ``engines/`` folder
removed first (no IR, no compiled model, no precision verdict kept), as on a fresh home with the weights pulled:
imports, the engine built and checked, one JPEG decoded and predicted. The warm row is the same `auto` command with
the engine kept (the load itself is ``bench.infer``'s "from the cache" row). Runs alternate, medians reported.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import publish  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import convnext_checkpoint, main_with_rounds, run_timed, work_dir  # noqa: E402

PY = sys.executable


def photo(path: Path) -> None:
    """A 500x375 JPEG cut from a photo scikit-learn ships."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    Image.fromarray(load_sample_images().images[0]).resize((500, 375)).save(path, quality=90)


def run(rounds: int) -> dict[str, Any]:
    work = work_dir("hub-bench-first-")
    nginx = Nginx(work / "root", work / "nginx").start()
    try:
        cards = work / "cards"
        weights = convnext_checkpoint(work / "w.ckpt").read_bytes()
        publish(nginx.root, cards, "convnext_tiny", weights, base=nginx.url, prefix=True)
        home = work / "hub"
        env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HUB_REGISTRY": str(work / "registry.db"),
               "HUB_HOME": str(home), "GLOG_v": "3"}
        hub = str(Path(PY).with_name("hub"))
        subprocess.run([hub, "index", str(cards)], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([hub, "pull", "convnext_tiny", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
        image = work / "cat.jpg"
        photo(image)
        cmds = {"auto": [hub, "predict", "convnext_tiny", str(image), "--json"],
                "exact PyTorch": [hub, "predict", "convnext_tiny", str(image), "--backend", "torch", "--json"]}

        def cold(name: str) -> float:
            shutil.rmtree(home / "engines", ignore_errors=True)
            return run_timed(cmds[name], env)

        for name in cmds:  # page cache, bytecode: both warm, as after the pull
            cold(name)
        times: dict[str, list[float]] = {"auto": [], "exact PyTorch": [], "auto, engine kept": []}
        for r in range(rounds):
            for name in (list(cmds) if r % 2 == 0 else list(cmds)[::-1]):
                times[name].append(cold(name))
                if name == "auto":  # the engine it just built is kept: the next command finds it
                    times["auto, engine kept"].append(run_timed(cmds["auto"], env))
        return {"seconds": times, "median_s": {k: statistics.median(v) for k, v in times.items()}}
    finally:
        nginx.stop()


def table(doc: dict[str, Any]) -> str:
    med = doc["median_s"]
    anchor = med["exact PyTorch"]
    out = ["| first `hub predict convnext_tiny cat.jpg` | median (s) | runs (s) | its time / exact PyTorch's |",
           "|---|---:|---|---:|"]
    for name, runs in doc["seconds"].items():
        out.append(f"| {name} | {med[name]:.2f} | {', '.join(f'{t:.2f}' for t in runs)} | "
                   f"{med[name] / anchor:.2f}x |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return main_with_rounds(argv, __doc__ or "", run, table, rounds=5, quick=2)


if __name__ == "__main__":
    raise SystemExit(main())
