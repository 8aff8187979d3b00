"""Bytes sent again when a download is killed (kill -9) half-way and started again: hub pull vs huggingface_hub.

    python -m bench.resume [--size-mb 512] [--quick] [--json out.json]

One file behind the counting, throttling proxy on loopback: ``hub pull`` gets it from a MindSpore Hub card,
``hf_hub_download`` from the HF-compatible test server, which redirects the LFS file to the same proxy, as the
real Hub redirects to its CDN. Each tool's process is killed once the proxy has sent half the file; the same
command then runs to the end, unthrottled. "Re-sent" is every body byte the proxy sent beyond one copy of the
file, so 0 means a perfect resume and the file's size means a restart from zero.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from servers.faultproxy import FaultProxy  # noqa: E402
from servers.hfserver import HfServer  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import publish_both_ways, report  # noqa: E402

PY = sys.executable
MiB = 1 << 20


def _kill_half_then_finish(cmd: list[str], env: dict[str, str], proxy: FaultProxy, size: int) -> dict[str, Any]:
    proxy.reset()
    proxy.faults.rate = size / 4  # about 4 s for the whole file: the kill lands mid-body
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proxy.body_bytes < size // 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = proxy.body_bytes
    proxy.faults.rate = None
    start = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return {"sent_before_kill": at_kill, "total_sent": proxy.body_bytes, "resent": proxy.body_bytes - size,
            "ok": done.returncode == 0, "finish_s": time.monotonic() - start, "stdout": done.stdout.strip()}


def run(size: int) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="hub-bench-resume-"))
    nginx = Nginx(work / "root", work / "nginx").start()
    proxy = FaultProxy(nginx.url).start()
    hf = HfServer().start()
    try:
        pub = publish_both_ways(work=work, served=nginx.root, rel="toolkits/mindcv/bench/resume.ckpt",
                                base=proxy.url, size=size, name="resume_model", hf=hf, repo="bench/resume")
        digest = pub.digest
        env = {**pub.env, "HUB_HOME": str(work / "hub"), "HF_HUB_DISABLE_XET": "1", "HF_HUB_ENABLE_HF_TRANSFER": "0"}
        ours = _kill_half_then_finish([PY, "-m", "hub_client.cli", "pull", "resume_model", "-q"], env, proxy, size)
        ours_ok = ours["ok"] and hashlib.sha256(Path(ours["stdout"]).read_bytes()).hexdigest() == digest
        hf_cmd = [PY, "-c", "import sys; from huggingface_hub import hf_hub_download; "
                  "print(hf_hub_download('bench/resume', 'model.safetensors', cache_dir=sys.argv[1]))",
                  str(work / "hf")]
        theirs = _kill_half_then_finish(hf_cmd, env, proxy, size)
        theirs_ok = theirs["ok"] and hashlib.sha256(Path(theirs["stdout"]).read_bytes()).hexdigest() == digest
        import huggingface_hub

        return [{"tool": "hub pull", "verified": ours_ok, **ours},
                {"tool": f"hf_hub_download (huggingface_hub {huggingface_hub.__version__})", "verified": theirs_ok,
                 **theirs}]
    finally:
        hf.stop()
        proxy.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(rows: list[dict[str, Any]], size: int) -> str:
    out = [f"{size // MiB} MiB, killed with kill -9 at half, then run again\n",
           "| tool | sent before the kill | re-sent after restart | of the file | finished and verified |",
           "|---|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['tool']} | {r['sent_before_kill'] / MiB:,.0f} MiB | {r['resent'] / MiB:,.1f} MiB | "
                   f"{r['resent'] / size:.0%} | {'yes' if r['verified'] else 'NO'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=512)
    ap.add_argument("--quick", action="store_true", help="128 MiB")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    size = (128 if args.quick else args.size_mb) * MiB
    rows = run(size)
    return report(table(rows, size), {"size": size, "rows": [{k: v for k, v in r.items() if k != "stdout"}
                                                            for r in rows]}, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
