"""Registry figures: full index of the MindSpore Hub corpus, the no-change re-check, and search latency.

    python -m bench.registry_index [--corpus ../shared/corpus] [--repeat 5]

Targets (issue 3): full index of 600 cards < 1 s; no-change check < 100 ms; search < 20 ms.
Each figure is the median of several runs, each on a fresh database where it matters.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["convnext tiny", "resnet", "imagenet classification", "yolo coco", "bert", "vit", "segmentation",
           "mobilenet", "transformer", "ghostnet"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    src = args.corpus / "mindspore-hub"
    if not src.is_dir():
        print(f"no corpus at {src}", file=sys.stderr)
        return 2
    from registry import Registry

    index_s, nochange_s, search_s = [], [], []
    cards = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            reg = Registry(Path(tmp) / "bench.db", auto_sync=False)
            reg.sync()  # the bundled cards, so the timed run is the corpus alone
            reg.add_source(src)
            start = time.perf_counter()
            report = reg.sync()
            index_s.append(time.perf_counter() - start)
            cards = len(report.added)
            for _ in range(5):
                start = time.perf_counter()
                assert not reg.sync().changed
                nochange_s.append(time.perf_counter() - start)
            for q in QUERIES:
                start = time.perf_counter()
                reg.search(q)
                search_s.append(time.perf_counter() - start)
            reg.close()
    med = statistics.median
    rows = [
        ("full index of the MindSpore Hub corpus",
         f"{med(index_s) * 1000:.0f} ms ({cards / med(index_s):,.0f} cards/s)", "< 1000 ms", med(index_s) < 1.0),
        ("no-change check (stat of every card)", f"{med(nochange_s) * 1000:.1f} ms", "< 100 ms", med(nochange_s) < 0.1),
        ("search, median of 10 queries", f"{med(search_s) * 1000:.2f} ms", "< 20 ms", med(search_s) < 0.02),
        ("search, slowest query", f"{max(search_s) * 1000:.2f} ms", "-", None),
    ]
    print(f"registry over {src} ({cards} cards), median of {args.repeat} runs\n")
    print("| figure | ours | target | met |")
    print("|---|---:|---:|---|")
    for name, ours, target, met in rows:
        print(f"| {name} | {ours} | {target} | {'-' if met is None else 'yes' if met else 'NO'} |")
    if args.json:
        import json

        args.json.write_text(json.dumps({"cards": cards, "index_ms": med(index_s) * 1000,
                                         "nochange_ms": med(nochange_s) * 1000, "search_ms": med(search_s) * 1000,
                                         "search_max_ms": max(search_s) * 1000}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
