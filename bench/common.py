"""What the benchmark scripts share: the test file they serve, and how they print and save their figures."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def work_dir(prefix: str) -> Path:
    """A scratch folder removed when the benchmark's process ends, however it ends short of a kill: the
    checkpoints and engines these benchmarks write run to gigabytes, and a shared /tmp fills up."""
    import atexit
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, True)
    return work


def convnext_checkpoint(path: Path, variant: str = "convnext_tiny", seed: int = 0) -> Path:
    """A ConvNeXt checkpoint in MindCV's layout with random weights (LayerNorm scales near 1, as trained ones
    are), written by hub's own writer: what the inference benchmarks load."""
    import numpy as np

    from hub_client.models.spec import mindcv_shapes, spec_for_variant
    from hub_client.weights import ckpt

    rng = np.random.default_rng(seed)
    ckpt.write(path, {k: (rng.standard_normal(s) * 0.02 + (k.endswith(".gamma") and ".grn." not in k)).astype(
        np.float32) for k, s in mindcv_shapes(spec_for_variant(variant)).items()})
    return path


def make_file(path: Path, size: int) -> str:
    """Incompressible bytes (nothing dedups or compresses them) written to ``path``; returns their sha256."""
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            # vary every block so nothing compresses or dedups
            chunk = hashlib.sha256(written.to_bytes(8, "little")).digest() + chunk[32:]
            f.write(chunk)
            h.update(chunk)
            written += len(chunk)
    return h.hexdigest()


def settle() -> None:
    """Flush dirty pages left by the previous run, so no tool pays for another's writeback."""
    import time

    os.sync()
    time.sleep(0.2)


def report(text: str, data: Any, json_path: Path | None) -> int:
    """Print a benchmark's table and, when asked, write its figures as JSON (what ``python -m bench`` reads)."""
    print(text)
    if json_path:
        json_path.write_text(json.dumps(data, indent=2))
    return 0


@dataclass(frozen=True)
class Published:
    digest: str
    #: The file's URL on nginx (or on the proxy in front of it).
    url: str
    #: What every tool's process runs with: loopback allowed, the test HF server, the bench's registry.
    env: dict[str, str]


def publish_both_ways(*, work: Path, served: Path, rel: str, base: str, size: int, name: str, hf: Any,
                      repo: str) -> Published:
    """One test file, published as an indexed MindSpore Hub card and as an HF repo, as the benchmarks compare.

    The file lands at ``served/rel`` and is fetched from ``base/rel``; the HF repo's LFS file redirects
    there too (tree and ETag carry the real sha256), as the real Hub redirects to its CDN.
    """
    tests = str(Path(__file__).resolve().parents[1] / "tests" / "support")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from helpers import MS_CARD
    from servers.hfserver import Remote

    src = served / rel
    src.parent.mkdir(parents=True)
    digest = make_file(src, size)
    url = f"{base}/{rel}"
    cards = work / "cards"
    cards.mkdir()
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=url, sha=digest))
    hf.add(repo, {"model.safetensors": Remote(size, digest)})
    hf.cdn[f"{repo}/model.safetensors"] = url
    env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf.url, "HF_HUB_DISABLE_TELEMETRY": "1",
           "HUB_REGISTRY": str(work / "registry.db")}
    subprocess.run([sys.executable, "-m", "hub_client.cli", "index", str(cards)],
                   env={**env, "HUB_HOME": str(work / "index-home")}, check=True, stdout=subprocess.DEVNULL)
    return Published(digest, url, env)


def main_with_rounds(argv: list[str] | None, doc: str, run: Any, table: Any, *, rounds: int, quick: int) -> int:
    """The command line every round-based benchmark shares: ``[--rounds N] [--quick] [--json out.json]``."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--quick", action="store_true", help=f"{quick} rounds")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    data = run(quick if args.quick else args.rounds)
    return report(table(data), data, args.json)


def run_timed(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds a whole process takes, its output discarded; a failure raises."""
    import time

    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
