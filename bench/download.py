"""Verified download of one large file over loopback nginx: hub pull vs curl, hf_hub_download and pooch.

    python -m bench.download [--size-mb 1024] [--rounds 5] [--quick]

Each tool runs as its own process (as a user runs it), the tools alternate round
by round, and the table shows medians: the machine is shared and noisy, so the
ratios are what count. hf_hub_download gets the same bytes from the HF-compatible
test server, which redirects the LFS file to the same nginx, as the real Hub
redirects to its CDN. The sha256 ceiling is hashlib over the file in page cache.

Targets (issue 4): "verified pull >= 1.3x curl and >= 1.0x hf_hub_download". Read
as times, as this table does: hub pull takes at most 1.3x curl's time, and no more
than hf_hub_download's. Read as speeds, a verified pull would have to out-run curl
by 30%; the table prints that reading too, with its floor on this machine: sha256
of the file on one core (hashlib, the bytes in memory) plus the start-up of a
Python process that imports the download path. pooch is shown for context;
hub_client.pull() in this process separates the transfer from start-up, once
bypassing the page cache (the default) and once through it (HUB_DIRECT_IO=0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from servers.hfserver import HfServer  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import publish_both_ways, settle  # noqa: E402

PY = sys.executable


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    settle()
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds, same size (the target is for 1 GiB; at less, start-up weighs more than in use)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = 2
    size = args.size_mb << 20
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    nginx = Nginx(work / "root", work / "nginx").start()
    hf = HfServer().start()
    try:
        rel = "toolkits/mindcv/bench/bench-file.ckpt"
        src = work / "root" / rel
        pub = publish_both_ways(work=work, served=work / "root", rel=rel, base=nginx.url, size=size,
                                name="bench_model", hf=hf, repo="bench/model")
        digest, url, env = pub.digest, pub.url, pub.env
        try:
            import pooch  # noqa: F401

            have_pooch = True
        except ImportError:
            have_pooch = False
        tools: dict[str, list[float]] = {"hub pull": [], "hub_client.pull() in-process": [],
                                         "hub_client.pull() in-process, page cache": [], "curl -o": [],
                                         "hf_hub_download": [], "pooch.retrieve": [], "start-up": []}
        runs = {
            "curl -o": lambda out: _timed(["curl", "-sS", "-o", str(out / "curl.bin"), url], env),
            "hub pull": lambda out: _timed([PY, "-m", "hub_client.cli", "pull", "bench_model", "-q"],
                                           {**env, "HUB_HOME": str(out / "hub")}),
            "hub_client.pull() in-process": lambda out: _in_process(env, out / "hub2"),
            "hub_client.pull() in-process, page cache": lambda out: _in_process(env, out / "hub3", direct=False),
            # what a fresh process pays before its first byte: the interpreter and the download path's imports
            "start-up": lambda out: _timed(
                [PY, "-c", "import hub_client.cli, hub_client.fetch.transfer, hub_client.fetch.pull"], env),
            "hf_hub_download": lambda out: _timed(
                [PY, "-c", "import sys; from huggingface_hub import hf_hub_download; "
                 "hf_hub_download('bench/model', 'model.safetensors', cache_dir=sys.argv[1])", str(out / "hf")], env),
        }
        if have_pooch:
            runs["pooch.retrieve"] = lambda out: _timed(
                [PY, "-c", "import sys, pooch; pooch.retrieve(sys.argv[1], known_hash='sha256:'+sys.argv[2], "
                 "path=sys.argv[3], progressbar=False)", url, digest, str(out / "pooch")], env)
        order = list(runs)
        for r in range(args.rounds):
            # Rotate the order each round: whichever runs first pays for the previous round's clean-up.
            for name in order[r % len(order):] + order[: r % len(order)]:
                out = work / f"out{r}-{order.index(name)}"
                out.mkdir()
                tools[name].append(runs[name](out))
                shutil.rmtree(out)
        start = time.perf_counter()
        h = hashlib.sha256()
        with open(src, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        ceiling = time.perf_counter() - start
    finally:
        nginx.stop()
        hf.stop()
        shutil.rmtree(work, ignore_errors=True)

    mb = size / 1e6
    med = {k: statistics.median(v) for k, v in tools.items() if v}
    ours = med["hub pull"]
    print(f"{args.size_mb} MiB over loopback nginx, median of {args.rounds} alternating rounds, each tool a whole "
          f"process unless said ({sys.platform}, {os.cpu_count()} cores)\n")
    print("| tool | verifies sha256 | seconds | MB/s | its time / hub pull's |")
    print("|---|---|---:|---:|---:|")
    verifies = {"hub pull": "yes", "hub_client.pull() in-process": "yes", "curl -o": "no",
                "hub_client.pull() in-process, page cache": "yes", "hf_hub_download": "size only",
                "pooch.retrieve": "yes"}
    startup = med.pop("start-up")
    for k, t in med.items():
        print(f"| {k} | {verifies[k]} | {t:.2f} | {mb / t:,.0f} | {t / ours:.2f}x |")
    print(f"| sha256 alone (hashlib, one core) | - | {ceiling:.2f} | {mb / ceiling:,.0f} | {ceiling / ours:.2f}x |")
    floor = ceiling + startup
    print(f"| floor: sha256 alone + start-up ({startup:.2f} s) | - | {floor:.2f} | {mb / floor:,.0f} | "
          f"{floor / ours:.2f}x |")
    vs_curl = ours / med["curl -o"]
    vs_hf = med["hf_hub_download"] / ours
    print(f"\nhub pull takes {vs_curl:.2f}x curl's time (target <= 1.30: {'met' if vs_curl <= 1.3 else 'NOT met'}); "
          f"hf_hub_download takes {vs_hf:.2f}x hub pull's (target >= 1.00: {'met' if vs_hf >= 1.0 else 'NOT met'})")
    print(f"Read as speeds: hub pull runs at {1 / vs_curl:.2f}x curl's MB/s (target >= 1.30: "
          f"{'met' if 1 / vs_curl >= 1.3 else 'NOT met'}); the floor above allows at most "
          f"{med['curl -o'] / floor:.2f}x on this machine")
    if args.json:
        args.json.write_text(json.dumps({"size_mb": args.size_mb, "seconds": tools, "sha256_s": ceiling,
                                         "startup_s": startup}, indent=2))
    return 0


def _in_process(env: dict[str, str], home: Path, direct: bool = True) -> float:
    """hub_client.pull() in this already-warm process: the transfer without Python's start-up."""
    saved = {k: os.environ.get(k) for k in ("HUB_ALLOWED_HOSTS", "HUB_REGISTRY", "HUB_HOME", "HUB_DIRECT_IO")}
    os.environ.update({"HUB_ALLOWED_HOSTS": env["HUB_ALLOWED_HOSTS"], "HUB_REGISTRY": env["HUB_REGISTRY"],
                       "HUB_HOME": str(home), "HUB_DIRECT_IO": "1" if direct else "0"})
    try:
        from hub_client import pull

        settle()
        start = time.perf_counter()
        pull("bench_model")
        return time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    sys.exit(main())
