"""Whole-process start-up: `hub --help`, a cached `hub pull convnext_tiny`, vs huggingface_hub's `hf download`.

    python -m bench.startup [--rounds 15] [--quick] [--json out.json]

What a user waits for at the prompt, Python's own start-up included (a bare ``python -c pass`` is shown for
that). The cached pull resolves ``convnext_tiny`` through a registry and finds its verified file in the cache;
``hf download`` of a cached file (from the HF-compatible test server on loopback) is its anchor. Runs
alternate, medians reported. A CLI that imported MindSpore or PyTorch at start-up would show here (seconds).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import payload, publish  # noqa: E402
from servers.hfserver import HfServer  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import main_with_rounds, run_timed  # noqa: E402

PY = sys.executable


def run(rounds: int) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="hub-bench-startup-"))
    nginx = Nginx(work / "root", work / "nginx").start()
    hf = HfServer().start()
    try:
        cards = work / "cards"
        data = payload(4 << 20, seed=1)
        publish(nginx.root, cards, "convnext_tiny", data, base=nginx.url, prefix=True)
        hf.add("bench/startup", {"model.safetensors": data})
        env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf.url, "HF_HUB_DISABLE_TELEMETRY": "1",
               "HUB_REGISTRY": str(work / "registry.db"), "HUB_HOME": str(work / "hub"),
               "HF_HOME": str(work / "hf")}
        hub = str(Path(PY).with_name("hub"))
        hf_cli = str(Path(PY).with_name("hf"))
        subprocess.run([hub, "index", str(cards)], env=env, check=True, stdout=subprocess.DEVNULL)
        cmds = {
            "python -c pass": [PY, "-c", "pass"],
            "hub --help": [hub, "--help"],
            "hub pull convnext_tiny (cached)": [hub, "pull", "convnext_tiny", "-q"],
            "hf download (cached)": [hf_cli, "download", "bench/startup", "model.safetensors", "--quiet"],
        }
        for cmd in cmds.values():  # fill the caches; first runs also warm the page cache
            run_timed(cmd, env)
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for r in range(rounds):
            order = list(cmds)
            for name in order[r % len(order):] + order[:r % len(order)]:
                times[name].append(run_timed(cmds[name], env))
        return [{"command": k, "median_s": statistics.median(v), "min_s": min(v)} for k, v in times.items()]
    finally:
        hf.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(rows: list[dict[str, Any]]) -> str:
    by = {r["command"]: r["median_s"] for r in rows}
    anchor = by["hf download (cached)"]
    out = ["| command | median (ms) | best (ms) | its time / `hf download`'s |", "|---|---:|---:|---:|"]
    for r in rows:
        out.append(f"| `{r['command']}` | {r['median_s'] * 1000:.0f} | {r['min_s'] * 1000:.0f} | "
                   f"{r['median_s'] / anchor:.2f}x |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return main_with_rounds(argv, __doc__ or "", run, table, rounds=15, quick=5)


if __name__ == "__main__":
    raise SystemExit(main())
