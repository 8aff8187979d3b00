"""hub lint throughput over the shared corpus, in one process, on one core.

    python -m bench.lint_corpus [--corpus ../shared/corpus] [--repeat 5] [--json out.json]

Target (issue 2): at least 3,000 cards/s for the MindSpore Hub cards. Reports the
first pass (cold: imports, disk cache, resolver memo empty) and the median of the
following passes, because the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 3000.0


def _files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*.md") if p.name != "README.md")


def _pass(files: list[Path]) -> tuple[float, int]:
    from registry.card.analyze import analyze_file

    diagnostics = 0
    start = time.perf_counter()
    for f in files:
        diagnostics += len(analyze_file(f).diagnostics)
    return time.perf_counter() - start, diagnostics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    t0 = time.perf_counter()
    import registry.card.analyze  # noqa: F401  (import cost reported on its own line)

    import_s = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    for label, sub in (("MindSpore Hub cards", "mindspore-hub"), ("Hugging Face cards", "huggingface")):
        files = _files(args.corpus / sub)
        if not files:
            print(f"no cards under {args.corpus / sub}", file=sys.stderr)
            return 2
        cold, diags = _pass(files)
        warm = [_pass(files)[0] for _ in range(args.repeat)]
        rows.append({
            "corpus": label, "cards": len(files), "diagnostics": diags,
            "cold_cards_per_s": len(files) / cold, "warm_cards_per_s": len(files) / statistics.median(warm),
        })
    print(f"hub lint over {args.corpus} (one process, one core; import {import_s * 1000:.0f} ms)\n")
    print("| corpus | cards | diagnostics | first pass (cards/s) | median of next (cards/s) | target | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        target = TARGET_MS if r["corpus"].startswith("MindSpore") else None
        ratio = f"{r['cold_cards_per_s'] / target:.2f}x" if target else "-"
        print(f"| {r['corpus']} | {r['cards']} | {r['diagnostics']} | {r['cold_cards_per_s']:,.0f} | "
              f"{r['warm_cards_per_s']:,.0f} | {f'{target:,.0f}' if target else '-'} | {ratio} |")
    hub = shutil.which("hub") or str(Path(sys.executable).with_name("hub"))
    ms = args.corpus / "mindspore-hub"
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([hub, "lint", "--format", "json", str(ms)], stdout=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - start)
    n = len(_files(ms))
    wall = statistics.median(walls)
    print(f"\nwhole process `hub lint --format json {ms}`: {wall * 1000:.0f} ms median of 3, "
          f"{n / wall:,.0f} cards/s including start-up and output")
    rows.append({"corpus": "hub lint process (MindSpore Hub)", "cards": n, "wall_s": wall})
    if args.json:
        args.json.write_text(json.dumps({"import_ms": import_s * 1000, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
