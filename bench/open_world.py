"""Open world: a cold `hub pull hf:org/name` of a repo no one indexed, and `hub update` of a 3,000-card
catalogue, as whole processes over loopback.

    python -m bench.open_world [--rounds 7] [--quick] [--json out.json]

The pull's anchor is huggingface_hub's `hf download` of an identical repo from the same HF-compatible server,
each in a fresh cache, rounds alternating; the server's request log counts what each asked before the first
byte of a file. The catalogue is the shared corpus's 600 MindSpore Hub cards five times over (3,000 cards),
laid out as upstream's repository archive (.tar.gz) and served by nginx; a fresh registry each round.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import HF_CARD, corpus_files, payload  # noqa: E402
from servers.hfserver import HfServer  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import main_with_rounds, run_timed  # noqa: E402

PY = sys.executable


def _before_first_byte(log: list[tuple[str, str]], repo: str) -> int:
    """Requests for ``repo`` before the first GET of one of its files."""
    mine = [(m, p) for m, p in log if f"/{repo}/" in p or p.endswith(f"/{repo}")]
    first = next((i for i, (m, p) in enumerate(mine) if m == "GET" and "/resolve/" in p), len(mine))
    return first


def _catalogue(n_copies: int) -> bytes:
    base = ROOT.parent / "shared" / "corpus" / "mindspore-hub"
    files = {p.relative_to(base).as_posix(): p.read_bytes() for p in corpus_files("mindspore-hub")}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for copy in range(n_copies):
            for rel, data in files.items():
                info = tarfile.TarInfo(f"hub-master/mshub_res/assets/copy{copy}/{rel}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def run(rounds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hub-bench-open-"))
    nginx = Nginx(work / "root", work / "nginx").start()
    hf = HfServer().start()
    try:
        hub = str(Path(PY).with_name("hub"))
        hf_cli = str(Path(PY).with_name("hf"))
        env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf.url,
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        files = {"config.json": json.dumps({"model_type": "convnextv2", "num_labels": 10}).encode(),
                 "model.safetensors": payload(4 << 20, seed=2)}
        times: dict[str, list[float]] = {"hub pull hf:ID (cold)": [], "hf download ID (cold)": []}
        asked: dict[str, list[int]] = {k: [] for k in times}
        for r in range(rounds + 1):  # round 0 warms the page cache and the interpreters
            ours, theirs = f"bench/ow-{r}-hub", f"bench/ow-{r}-hf"
            for repo in (ours, theirs):
                hf.add(repo, {**files, "README.md": HF_CARD.format(name=repo).encode()})
            jobs = [("hub pull hf:ID (cold)", ours, [hub, "pull", f"hf:{ours}", "-q"],
                     {"HUB_HOME": str(work / f"h{r}"), "HUB_REGISTRY": str(work / f"h{r}/registry.db"),
                      "HF_HOME": str(work / f"hfh{r}")}),
                    ("hf download ID (cold)", theirs, [hf_cli, "download", theirs, "--quiet"],
                     {"HF_HOME": str(work / f"hfa{r}")})]
            for label, repo, cmd, extra in (jobs if r % 2 == 0 else jobs[::-1]):
                seconds = run_timed(cmd, {**env, **extra})
                if r:
                    times[label].append(seconds)
                    asked[label].append(_before_first_byte(hf.log, repo))
        archive = nginx.root / "hub-master.tar.gz"
        archive.write_bytes(_catalogue(5))
        update: list[float] = []
        for r in range(rounds + 1):
            extra = {"HUB_HOME": str(work / f"u{r}"), "HUB_REGISTRY": str(work / f"u{r}/registry.db")}
            seconds = run_timed([hub, "update", "--from", f"{nginx.url}/hub-master.tar.gz", "-q"], {**env, **extra})
            if r:
                update.append(seconds)
        return {"pull": {k: {"median_s": statistics.median(v), "requests_before_first_byte": max(asked[k])}
                         for k, v in times.items()},
                "update": {"cards": 3000, "median_s": statistics.median(update), "min_s": min(update)}}
    finally:
        hf.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(doc: dict[str, Any]) -> str:
    pull = doc["pull"]
    anchor = pull["hf download ID (cold)"]["median_s"]
    out = ["| what | median (s) | requests before the first file byte | time / anchor | target |",
           "|---|---:|---:|---:|---|"]
    for label, row in pull.items():
        target = "<= 1.0x, <= 3 requests" if label.startswith("hub") else "anchor"
        out.append(f"| `{label}` | {row['median_s']:.2f} | {row['requests_before_first_byte']} | "
                   f"{row['median_s'] / anchor:.2f}x | {target} |")
    up = doc["update"]
    out.append(f"| `hub update` of {up['cards']} cards (download + index) | {up['median_s']:.2f} | - | "
               f"{up['median_s'] / 4.0:.2f}x of 4 s | <= 4 s |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return main_with_rounds(argv, __doc__ or "", run, table, rounds=7, quick=3)


if __name__ == "__main__":
    raise SystemExit(main())
