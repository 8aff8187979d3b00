"""Parallel ranged downloads over a link that caps every connection: hub pull vs aria2c, hf_transfer and curl.

    python -m bench.parallel [--sizes-mb 110 256 1024] [--rate-mb 20] [--rounds 3] [--quick] [--json out.json]

The sizes are a checkpoint's (ConvNeXt-tiny 110 MiB, ViT-B/32 about 350 MB) and a big file's.

nginx serves one file under ``/capped/`` with ``limit_rate`` (20 MB/s per connection by default), what a distant
CDN gives one TCP stream. Whole processes, fresh caches, rounds alternating:

- ``hub pull NAME`` (a MindSpore Hub card) and ``hub pull hf:ID`` (the HF-compatible server redirects the LFS file
  to the capped URL, as the Hub redirects to its CDN), both verified;
- ``aria2c -x16 -s16`` (Debian's aria2), unverified;
- ``hf_transfer.download`` (PyPI) with the settings huggingface_hub used when ``HF_HUB_ENABLE_HF_TRANSFER`` was on
  (100 files, 10 MiB chunks); huggingface_hub 1.x+ no longer calls it, so it is run directly, unverified;
- curl, one stream: its speed over the first seconds (a whole 1 GiB at 20 MB/s would take a minute).

``hub pull`` runs twice a round, each in a fresh home: on first contact (nothing known of the host), and with
the host known (the home holds only the ``hosts.json`` an earlier pull from that host left: the user's second
model from one CDN).

Also the peak RSS of the ``hub pull`` process (``os.wait4``), against the issue's 128 MiB.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from servers.hfserver import HfServer  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import main_with_rounds, publish_both_ways, settle  # noqa: E402

PY = sys.executable
MiB = 1 << 20


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one whole process."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, usage.ru_maxrss


def run(rounds: int, size_mb: int = 1024, rate_mb: float = 20.0) -> dict[str, Any]:
    size = size_mb * MiB
    rate = int(rate_mb * 1e6)
    work = Path(tempfile.mkdtemp(prefix="hub-bench-parallel-"))
    nginx = Nginx(work / "root", work / "nginx", limit_rate=rate).start()
    hf = HfServer().start()
    try:
        pub = publish_both_ways(work=work, served=nginx.root, rel="toolkits/mindcv/bench/big.ckpt",
                                base=f"{nginx.url}/capped", size=size, name="big_model", hf=hf, repo="bench/big")
        hub = str(Path(PY).with_name("hub"))
        seeds = {"card": work / "seed-card", "hf": work / "seed-hf"}  # a pull from the host, to know it by
        _timed([hub, "pull", "big_model", "-q"], {**pub.env, "HUB_HOME": str(seeds["card"])})
        _timed([hub, "pull", "hf:bench/big", "-q"], {**pub.env, "HUB_HOME": str(seeds["hf"]),
                                                    "HF_HOME": str(work / "seed-hfhome")})
        aria2 = shutil.which("aria2c")
        seconds: dict[str, list[float]] = {}
        rss: list[int] = []
        for r in range(rounds):
            out = work / f"r{r}"
            jobs: list[tuple[str, list[str], dict[str, str]]] = [
                ("hub pull (card)", [hub, "pull", "big_model", "-q"], {"HUB_HOME": str(out / "hub")}),
                ("hub pull hf:ID", [hub, "pull", "hf:bench/big", "-q"],
                 {"HUB_HOME": str(out / "hubhf"), "HF_HOME": str(out / "hfhome")}),
                ("hub pull (card), host known", [hub, "pull", "big_model", "-q"], {"HUB_HOME": str(out / "hubk")}),
                ("hub pull hf:ID, host known", [hub, "pull", "hf:bench/big", "-q"],
                 {"HUB_HOME": str(out / "hubhfk"), "HF_HOME": str(out / "hfhomek")}),
                ("hf_transfer.download (100 files, 10 MiB chunks)",
                 [PY, "-c", "import sys, hf_transfer; hf_transfer.download(url=sys.argv[1], filename=sys.argv[2], "
                  "max_files=100, chunk_size=10 * 1024 * 1024)", pub.url, str(out / "hft.bin")], {}),
            ]
            if aria2:
                jobs.append(("aria2c -x16 -s16", [aria2, "-x16", "-s16", "-q", "--file-allocation=none",
                                                  "-d", str(out), "-o", "aria2.bin", pub.url], {}))
            for label, cmd, extra in (jobs if r % 2 == 0 else jobs[::-1]):
                (out / "x").mkdir(parents=True, exist_ok=True)
                if label.endswith("host known"):
                    home = Path(extra["HUB_HOME"])
                    home.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(seeds["hf" if "hf:" in label else "card"] / "hosts.json", home / "hosts.json")
                s, peak = _timed(cmd, {**pub.env, **extra})
                seconds.setdefault(label, []).append(s)
                if label == "hub pull (card)":
                    rss.append(peak)
                shutil.rmtree(out, ignore_errors=True)  # each tool's 1 GiB goes before the next runs
        window = 4.0  # curl alone: its speed over a few seconds, not a whole minute
        curl = subprocess.run(["curl", "-s", "-o", os.devnull, "--max-time", str(window), "-w",
                               "%{size_download} %{time_total}", pub.url], capture_output=True, text=True)
        got, took = (float(x) for x in curl.stdout.split())
        return {"size_mb": size_mb, "rate_mb_per_connection": rate_mb, "rounds": rounds,
                "seconds": seconds, "curl_mb_s": got / took / 1e6, "hub_peak_rss_mib": max(rss) / 1024}
    finally:
        hf.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def run_sizes(rounds: int, sizes_mb: list[int], rate_mb: float) -> dict[str, Any]:
    return {"runs": [run(rounds, size, rate_mb) for size in sizes_mb]}


def tables(doc: dict[str, Any]) -> str:
    return "\n\n".join(table(one) for one in doc["runs"])


def table(doc: dict[str, Any]) -> str:
    mb = doc["size_mb"] * MiB / 1e6
    med = {k: statistics.median(v) for k, v in doc["seconds"].items()}
    speed = {k: mb / v for k, v in med.items()}
    ours = speed["hub pull (card)"]
    out = [f"{doc['size_mb']} MiB at {doc['rate_mb_per_connection']:g} MB/s per connection, median of "
           f"{doc['rounds']} round(s)", "",
           "| tool | verifies | seconds | MB/s | hub pull's speed / its | target |", "|---|---|---:|---:|---:|---|"]
    targets = {"aria2c -x16 -s16": ">= 1.0x", "curl (one stream)": ">= 10x"}
    for label, s in med.items():
        verified = "yes" if label.startswith("hub") else "no"
        anchor = speed["hub pull hf:ID"] if "hf_transfer" in label else ours
        if label.startswith("hub"):  # each of ours against aria2c
            anchor = speed[label]
            ratio = anchor / speed.get("aria2c -x16 -s16", anchor)
            out.append(f"| {label} | yes | {s:.2f} | {speed[label]:.0f} | {ratio:.2f}x of aria2c's | >= 1.0x |")
            continue
        ratio = anchor / speed[label]
        target = ">= 1.0x (hub pull hf:ID)" if "hf_transfer" in label else targets.get(label, "")
        out.append(f"| {label} | {verified} | {s:.2f} | {speed[label]:.0f} | {ratio:.2f}x | {target} |")
    out.append(f"| curl (one stream) | no | - | {doc['curl_mb_s']:.0f} | {ours / doc['curl_mb_s']:.1f}x | >= 10x |")
    out.append(f"\npeak RSS of hub pull: {doc['hub_peak_rss_mib']:.0f} MiB (target <= 128 MiB for 4 GiB)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mb", type=int, nargs="+", default=[110, 256, 1024])
    ap.add_argument("--rate-mb", type=float, default=20.0)
    known, rest = ap.parse_known_args(argv)
    return main_with_rounds(rest, __doc__ or "", lambda rounds: run_sizes(rounds, known.sizes_mb, known.rate_mb),
                            tables, rounds=3, quick=1)


if __name__ == "__main__":
    raise SystemExit(main())
