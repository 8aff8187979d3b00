"""``hub serve`` as a team mirror: a cached file, 16 cold clients, and API latency under load.

    python -m bench.serve [--size-mb 1024] [--rounds 3] [--quick] [--json out.json]

The upstream is the project's HF-compatible server, whose LFS file redirects to nginx, as the Hub redirects
to its CDN. ``hub serve`` runs as its own process (uvicorn), on a storage folder.

- **Cached file:** ``hf_hub_download`` of the file in a fresh process and cache, through ``hub serve`` (the file
  stored), against the same call with ``HF_ENDPOINT`` on the upstream (the bytes from nginx), and through olah
  (PyPI, serving the same repo from its cache after one fill); rounds alternate. Targets: at most 1.25x nginx's
  time, and faster than olah. olah runs from a venv of its own (its pins are not ours): ``HUB_BENCH_OLAH`` names
  its ``olah-cli``, else one is made under ``~/.cache/hub-bench`` with pip.
- **Cold clients:** a fresh mirror each time, the upstream link capped (nginx ``limit_rate``, as a far hub is);
  one client alone, then 16 at once (curl, so the clients' own start-up is not what is measured). Upstream
  transfers are counted at the upstream. Targets: one transfer, at most 1.2x one client's time. The same for a
  MindSpore Hub asset (an 8-hex card, no size), its host nginx behind the fault proxy's rate cap.
- **Latency:** ApacheBench (``ab``, Debian's apache2-utils) with 64 concurrent keep-alive clients on the repo
  API and on ``HEAD`` of the file. Target: p99 at most 20 ms. Left out when ``ab`` is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import payload, publish  # noqa: E402
from servers.asgi import free_port, hub_serve  # noqa: E402
from servers.faultproxy import FaultProxy  # noqa: E402
from servers.hfserver import HfServer, Remote  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import main_with_rounds, make_file, run_timed, settle  # noqa: E402

PY = sys.executable
MiB = 1 << 20
REPO = "bench/served"


def _serve(storage: Path, upstream: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    return hub_serve(port, str(storage), env, "--upstream-hf", upstream), f"http://127.0.0.1:{port}"


def _olah_cli() -> str | None:
    """olah's command, installed into a venv of its own when missing; None when it cannot be had."""
    found = os.environ.get("HUB_BENCH_OLAH") or shutil.which("olah-cli")
    if found:
        return found
    venv = Path.home() / ".cache" / "hub-bench" / "olah-venv"
    cli = venv / "bin" / "olah-cli"
    if not cli.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
        if made.returncode or subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "olah"],
                                             capture_output=True).returncode:
            return None
    return str(cli)


def _olah(cli: str, hf: HfServer, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """olah in front of the test hub. Its health check asks for a dataset's file, which the test hub then has."""
    hf.add("Salesforce/wikitext", {".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n"})
    port, upstream = free_port(), hf.url.split("//", 1)[1]
    proc = subprocess.Popen([cli, "--host", "127.0.0.1", "--port", str(port), "--hf-scheme", "http", "--hf-netloc",
                             upstream, "--hf-lfs-netloc", upstream, "--mirror-netloc", f"127.0.0.1:{port}",
                             "--mirror-lfs-netloc", f"127.0.0.1:{port}", "--repos-path", str(work / "olah-repos"),
                             "--log-path", str(work / "olah-logs")], cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/models/x/y", timeout=2)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("olah did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _download(endpoint: str, cache: Path, env: dict[str, str]) -> float:
    code = ("import sys; from huggingface_hub import hf_hub_download; "
            "hf_hub_download(sys.argv[1], 'model.safetensors', endpoint=sys.argv[2], cache_dir=sys.argv[3], "
            "token=False)")
    settle()
    seconds = run_timed([PY, "-c", code, REPO, endpoint, str(cache)], env)
    shutil.rmtree(cache, ignore_errors=True)
    return seconds


def _curls(url: str, n: int) -> float:
    start = time.perf_counter()
    procs = [subprocess.Popen(["curl", "-sf", "-o", os.devnull, url]) for _ in range(n)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise RuntimeError(f"curl failed: {codes}")
    return time.perf_counter() - start


def _p99(url: str, head: bool, n: int) -> dict[str, float]:
    warm = ["ab", "-q", "-k", "-c", "64", "-n", "1000", *(["-i"] if head else []), url]
    subprocess.run(warm, capture_output=True, check=True)  # a first burst, not measured: the server warms up
    out = subprocess.run(["ab", "-q", "-k", "-c", "64", "-n", str(n), *(["-i"] if head else []), url],
                         capture_output=True, text=True, check=True).stdout
    pct = {int(m[0]): float(m[1]) for m in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M)}
    rps = re.search(r"Requests per second:\s+([\d.]+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    return {"p50_ms": pct.get(50, float("nan")), "p99_ms": pct.get(99, float("nan")),
            "requests_per_s": float(rps[1]) if rps else float("nan"), "failed": float(failed[1]) if failed else 0}


def _transfers(hf: HfServer) -> int:
    """GETs of the cold file at the upstream (each redirected once to the capped CDN)."""
    return sum(n for path, n in hf.hits.items() if path.startswith("/bench/cold/resolve/"))


def run(rounds: int, size_mb: int = 1024, cold_mb: int = 128, cold_rate_mb: float = 40.0) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hub-bench-serve-"))
    nginx = Nginx(work / "root", work / "nginx", limit_rate=int(cold_rate_mb * 1e6)).start()
    hf = HfServer().start()
    env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HUB_HOME": str(work / "home"), "HF_HUB_ETAG_TIMEOUT": "30"}
    try:
        big = nginx.root / "files" / "big.bin"
        big.parent.mkdir(parents=True)
        digest = make_file(big, size_mb * MiB)
        hf.add(REPO, {"model.safetensors": Remote(size_mb * MiB, digest)})
        hf.cdn[f"{REPO}/model.safetensors"] = f"{nginx.url}/files/big.bin"
        # Cached: the mirror is filled once, then each round times both ways.
        mirror, url = _serve(work / "mirror", hf.url, env)
        requests.get(f"{url}/{REPO}/resolve/main/model.safetensors", timeout=600).raise_for_status()
        cached: dict[str, list[float]] = {"hub serve (cached)": [], "nginx (the upstream's CDN)": []}
        jobs = [("hub serve (cached)", url), ("nginx (the upstream's CDN)", hf.url)]
        olah, cli = None, _olah_cli()
        if cli:
            olah, olah_url = _olah(cli, hf, work)
            _download(olah_url, work / "client", env)  # the fill: olah fetches the file once
            cached["olah (cached)"] = []
            jobs.append(("olah (cached)", olah_url))
        for r in range(rounds):
            for label, endpoint in (jobs if r % 2 == 0 else jobs[::-1]):
                cached[label].append(_download(endpoint, work / "client", env))
        latency = {}
        if shutil.which("ab"):
            settle()  # the downloads' writeback done, so the latency is the server's
            n = 2000 if rounds == 1 else 6000
            latency = {"GET /api/models/{repo}": _p99(f"{url}/api/models/{REPO}", False, n),
                       "HEAD /{repo}/resolve/main/{file}": _p99(f"{url}/{REPO}/resolve/main/model.safetensors", True,
                                                                n)}
        _stop(mirror)
        if olah is not None:
            _stop(olah)
        # Cold: a smaller file behind a capped link, a fresh mirror for each measurement.
        small = nginx.root / "files" / "cold.bin"
        cold_digest = make_file(small, cold_mb * MiB)
        hf.add("bench/cold", {"model.safetensors": Remote(cold_mb * MiB, cold_digest)})
        hf.cdn["bench/cold/model.safetensors"] = f"{nginx.url}/capped/files/cold.bin"
        # The MindSpore Hub side: a card on a capped host (the fault proxy's rate, in front of nginx).
        host = FaultProxy(nginx.url).start()
        host.faults.rate = cold_rate_mb * 1e6
        pub = publish(nginx.root, work / "cards", "bench_cold_ms", payload(cold_mb * MiB, seed=7), base=host.url,
                      prefix=True)
        from registry import Registry

        with Registry(work / "registry.db", auto_sync=False) as reg:
            reg.add_source(work / "cards")
            reg.sync()
        ms_env = {**env, "HUB_REGISTRY": str(work / "registry.db")}
        cold: dict[str, list[float]] = {"1 client": [], "16 clients": [], "ms 1 client": [], "ms 16 clients": []}
        transfers: list[int] = []
        ms_transfers: list[int] = []
        for r in range(rounds):
            for label, n in (("1 client", 1), ("16 clients", 16)):
                storage = work / f"cold-{r}-{n}"
                proc, url = _serve(storage, hf.url, env)
                before = _transfers(hf)
                try:
                    requests.get(f"{url}/api/models/bench/cold", timeout=30).raise_for_status()  # refs, not bytes
                    settle()
                    cold[label].append(_curls(f"{url}/bench/cold/resolve/main/model.safetensors", n))
                finally:
                    _stop(proc)
                if n == 16:
                    transfers.append(_transfers(hf) - before)
                shutil.rmtree(storage, ignore_errors=True)
            for label, n in (("ms 1 client", 1), ("ms 16 clients", 16)):
                storage = work / f"cold-ms-{r}-{n}"
                proc, url = _serve(storage, hf.url, ms_env)
                before = sum(1 for m, path, _ in host.requests if m == "GET" and path == pub.uri)
                try:
                    settle()
                    cold[label].append(_curls(url + pub.uri, n))
                finally:
                    _stop(proc)
                if n == 16:
                    ms_transfers.append(sum(1 for m, path, _ in host.requests if m == "GET" and path == pub.uri)
                                        - before)
                shutil.rmtree(storage, ignore_errors=True)
        host.stop()
        return {"size_mb": size_mb, "rounds": rounds, "cached_seconds": cached, "cold_mb": cold_mb,
                "cold_rate_mb_s": cold_rate_mb, "cold_seconds": cold, "upstream_transfers_16": transfers,
                "ms_upstream_transfers_16": ms_transfers, "latency": latency}
    finally:
        hf.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(doc: dict[str, Any]) -> str:
    med = {k: statistics.median(v) for k, v in doc["cached_seconds"].items()}
    ours, anchor = med["hub serve (cached)"], med["nginx (the upstream's CDN)"]
    cold = {k: statistics.median(v) for k, v in doc["cold_seconds"].items()}
    one, many = cold["1 client"], cold["16 clients"]
    out = [f"hub serve, median of {doc['rounds']} round(s)", "",
           "| figure | hub serve | anchor | ratio | target |", "|---|---:|---:|---:|---|",
           f"| hf_hub_download of a cached {doc['size_mb']} MiB file, s | {ours:.2f} | {anchor:.2f} (nginx) | "
           f"{ours / anchor:.2f}x | <= 1.25x |",
           *([f"| the same, against olah, s | {ours:.2f} | {med['olah (cached)']:.2f} (olah) | "
              f"{ours / med['olah (cached)']:.2f}x | < 1.0x |"] if "olah (cached)" in med else []),
           f"| {doc['cold_mb']} MiB cold, upstream capped at {doc['cold_rate_mb_s']:g} MB/s: 16 clients vs 1, s | "
           f"{many:.2f} | {one:.2f} (1 client) | {many / one:.2f}x | <= 1.2x |",
           f"| upstream transfers for 16 cold clients | {max(doc['upstream_transfers_16'])} | 1 | | 1 |"]
    if "ms 1 client" in cold:
        one, many = cold["ms 1 client"], cold["ms 16 clients"]
        out += [f"| the same for a MindSpore Hub asset (8-hex card), s | {many:.2f} | {one:.2f} (1 client) | "
                f"{many / one:.2f}x | <= 1.2x |",
                f"| host transfers for 16 cold clients of the asset | {max(doc['ms_upstream_transfers_16'])} | 1 | "
                "| 1 |"]
    for name, figures in doc["latency"].items():
        out.append(f"| {name}, 64 clients: p99 (p50) ms, {figures['requests_per_s']:.0f} req/s, "
                   f"{figures['failed']:.0f} failed | {figures['p99_ms']:.0f} ({figures['p50_ms']:.0f}) | 20 | "
                   f"{figures['p99_ms'] / 20:.2f}x | <= 20 ms |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    known, rest = ap.parse_known_args(argv)
    quick = "--quick" in rest
    return main_with_rounds(rest, __doc__ or "", lambda rounds: run(rounds, 256 if quick else known.size_mb,
                                                                   64 if quick else 128), table,
                            rounds=3, quick=1)


if __name__ == "__main__":
    raise SystemExit(main())
