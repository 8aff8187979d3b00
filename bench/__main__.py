"""Every benchmark in one run, one table: ``python -m bench [--quick] [--json bench/results.json]``.

Each benchmark runs as its own process (``python -m bench.<name>``), one after another so none competes with
another for the two cores, and alternates ours with its anchors inside; this collects their JSON into one
markdown table (figure, ours, anchor, ratio, target) and writes it all, with the machine and the date, as JSON.
Ratios are what count on a shared, noisy machine. ``--quick`` shortens every benchmark (smaller files, fewer
rounds); ``--only`` runs some of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("download", "parallel", "resume", "lint_corpus", "registry_index", "startup", "open_world", "serve",
           "provenance", "load", "zoo", "infer", "first_predict", "convert")


def _args(name: str, quick: bool) -> list[str]:
    if not quick:
        return []
    return {"lint_corpus": ["--repeat", "1"], "registry_index": ["--repeat", "1"], "parallel": ["--quick"],
            "infer": ["--quick", "--batches", "1", "8"]}.get(name, ["--quick"])


def _row(figure: str, ours: float, unit: str, anchor: str = "", anchor_value: float | None = None,
         better: str = "lower", target: str = "") -> dict[str, Any]:
    ratio = None
    if anchor_value:
        ratio = ours / anchor_value
    return {"figure": figure, "ours": ours, "unit": unit, "anchor": anchor, "anchor_value": anchor_value,
            "ratio": ratio, "better": better, "target": target}


def _parallel_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One size of ``bench.parallel``: each way of ours against aria2c, then one stream, hf_transfer, RSS."""
    import statistics

    mb = doc["size_mb"] * (1 << 20) / 1e6
    med = {k: statistics.median(v) for k, v in doc["seconds"].items()}
    rate = f"{doc['size_mb']} MiB at {doc['rate_mb_per_connection']:g} MB/s per connection"
    out = []
    for ours in (k for k in med if k.startswith("hub pull")):
        if "aria2c -x16 -s16" in med:
            out.append(_row(f"parallel download, {rate}, {ours}, time", med[ours], "s", "aria2c -x16 -s16",
                            med["aria2c -x16 -s16"], target="<= 1.0x"))
    out.append(_row(f"  {doc['size_mb']} MiB, one stream's speed (hub pull (card))", mb / med["hub pull (card)"],
                    "MB/s", "curl (first seconds)", doc["curl_mb_s"], better="higher"))
    hft = next(k for k in med if k.startswith("hf_transfer"))
    out.append(_row(f"  {doc['size_mb']} MiB, hub pull hf:ID, MB/s", mb / med["hub pull hf:ID"], "MB/s",
                    "hf_transfer (100 files)", mb / med[hft], better="higher",
                    target=">= 1.0x" if doc["size_mb"] >= 1024 else ""))
    out.append(_row(f"  peak RSS of hub pull ({doc['size_mb']} MiB)", doc["hub_peak_rss_mib"], "MiB", "target",
                    128.0, target="<= 128 MiB"))
    return out


def rows_for(name: str, doc: Any) -> list[dict[str, Any]]:
    """One benchmark's JSON as table rows."""
    import statistics

    out: list[dict[str, Any]] = []
    if name == "download":
        mb = doc["size_mb"] * (1 << 20) / 1e6
        med = {k: statistics.median(v) for k, v in doc["seconds"].items() if v}
        ours = med["hub pull"]
        for tool in ("curl -o", "hf_hub_download", "pooch.retrieve"):
            if tool in med:
                target = {"curl -o": "<= 1.3x", "hf_hub_download": "<= 1.0x"}.get(tool, "")
                out.append(_row(f"verified download {doc['size_mb']} MiB, time", ours, "s", tool, med[tool],
                                target=target))
        out.append(_row("verified download, MB/s (hub pull)", mb / ours, "MB/s", "curl -o", mb / med["curl -o"],
                        better="higher", target=">= 1.3x, if read as speeds"))
        if "startup_s" in doc:
            floor = doc["sha256_s"] + doc["startup_s"]
            out.append(_row("verified download, MB/s (hub pull)", mb / ours, "MB/s",
                            "floor: sha256 alone + start-up", mb / floor, better="higher"))
        for tool in ("hub_client.pull() in-process", "hub_client.pull() in-process, page cache"):
            if tool in med:
                out.append(_row(f"verified download {tool.split('() ')[1]}, time", med[tool], "s", "curl -o",
                                med["curl -o"]))
    elif name == "parallel":
        for one in doc.get("runs", [doc]):
            out += _parallel_rows(one)
    elif name == "resume":
        by = {r["tool"].split(" ")[0]: r for r in doc["rows"]}
        ours, theirs = by["hub"], by["hf_hub_download"]
        out.append(_row(f"bytes re-sent after kill -9 at 50% of {doc['size'] >> 20} MiB", ours["resent"] / (1 << 20),
                        "MiB", "hf_hub_download", theirs["resent"] / (1 << 20)))
    elif name == "lint_corpus":
        for r in doc["rows"]:
            if "cold_cards_per_s" in r:
                target = "3,000" if r["corpus"].startswith("MindSpore") else ""
                out.append(_row(f"hub lint, {r['corpus']} (first pass)", r["cold_cards_per_s"], "cards/s",
                                "target" if target else "", 3000.0 if target else None, better="higher",
                                target=target))
    elif name == "registry_index":
        out += [_row(f"registry: full index ({doc['cards']} cards)", doc["index_ms"], "ms", "target", 1000.0,
                     target="< 1000 ms"),
                _row("registry: no-change check", doc["nochange_ms"], "ms", "target", 100.0, target="< 100 ms"),
                _row("registry: search (median)", doc["search_ms"], "ms", "target", 20.0, target="< 20 ms")]
    elif name == "startup":
        by = {r["command"]: r["median_s"] * 1000 for r in doc}
        anchor = by["hf download (cached)"]
        out += [_row("start-up: hub --help", by["hub --help"], "ms", "hf download (cached)", anchor),
                _row("start-up: cached hub pull convnext_tiny", by["hub pull convnext_tiny (cached)"], "ms",
                     "hf download (cached)", anchor)]
    elif name == "open_world":
        pull = doc["pull"]
        ours, anchor = pull["hub pull hf:ID (cold)"], pull["hf download ID (cold)"]
        out += [_row("cold hub pull hf:ID, never indexed", ours["median_s"], "s", "hf download (cold)",
                     anchor["median_s"], target="<= 1.0x"),
                _row("  requests before the first file byte", float(ours["requests_before_first_byte"]), "",
                     "target", 3.0, target="<= 3"),
                _row(f"hub update, {doc['update']['cards']} cards (download + index)", doc["update"]["median_s"],
                     "s", "target", 4.0, target="<= 4 s")]
    elif name == "provenance":
        med = doc["median_s"]
        out += [_row(f"signed pull, {doc['size_mb']} MiB repo (HUB_TRUST), time",
                     med["hub pull (HUB_TRUST: signature checked)"], "s", "the pull alone", med["hub pull (no policy)"],
                     target="<= 1.05x"),
                _row("  verify a pulled model (hub verify hf:ID --key)", med["hub verify hf:ID --key (pulled)"], "s",
                     "model_signing verify (the same folder)", med["model_signing verify (pulled)"],
                     target="< 1.0x")]
    elif name == "serve":
        med = {k: statistics.median(v) for k, v in doc["cached_seconds"].items()}
        cold = {k: statistics.median(v) for k, v in doc["cold_seconds"].items()}
        out += [_row(f"hf_hub_download of a cached {doc['size_mb']} MiB file via hub serve", med["hub serve (cached)"],
                     "s", "the same from nginx", med["nginx (the upstream's CDN)"], target="<= 1.25x"),
                *([_row("  the same, against olah", med["hub serve (cached)"], "s", "olah (cached)",
                        med["olah (cached)"], target="< 1.0x")] if "olah (cached)" in med else []),
                _row(f"16 cold clients, {doc['cold_mb']} MiB, upstream capped", cold["16 clients"], "s", "1 client",
                     cold["1 client"], target="<= 1.2x"),
                _row("  upstream transfers for 16 cold clients", float(max(doc["upstream_transfers_16"])), "",
                     "target", 1.0, target="1")]
        if "ms 16 clients" in cold:
            out += [_row(f"16 cold clients of a MindSpore Hub asset, {doc['cold_mb']} MiB, host capped",
                         cold["ms 16 clients"], "s", "1 client", cold["ms 1 client"], target="<= 1.2x"),
                    _row("  host transfers for 16 cold clients of the asset",
                         float(max(doc["ms_upstream_transfers_16"])), "", "target", 1.0, target="1")]
        for what, figures in doc["latency"].items():
            out.append(_row(f"{what}, 64 clients, p99", figures["p99_ms"], "ms", "target", 20.0, target="<= 20 ms"))
    elif name == "zoo":
        for r in doc:
            unit = r["figure"].rsplit("(", 1)[1].rstrip(")")
            out.append(_row(r["figure"].rsplit(" (", 1)[0], r["ours"], unit, r["anchor"], r["anchor_value"],
                            better="higher" if unit == "img/s" else "lower",
                            target=r["target"] if r["target"] != "-" else ""))
    elif name == "load":
        for r in doc:
            if r["figure"].startswith("load"):
                out.append(_row(r["figure"].replace(" (s)", ""), r["ours"], "s", r["anchor"], r["anchor_value"],
                                target=r["target"] if r["target"] != "-" else ""))
    elif name == "convert":
        med = {k: statistics.median(v) for k, v in doc["seconds"].items()}
        for figure, key in (("convert --to hf", "to hf"), ("convert --to mindspore", "to mindspore")):
            out.append(_row(f"{figure}, {doc['tiny_mb']:.0f} MB, time", med[key], "s",
                            "dd conv=fsync (read+write once)", med["read+write once"], target="<= 2x"))
        out.append(_row(f"publish {doc['big_mb']:.0f} MB to a folder, time", med["publish"], "s",
                        "sha256sum + dd conv=fsync", med["sha256+copy once"]))
        out.append(_row("  publish, bytes read / file size", statistics.median(doc["publish_read_ratio"]), "x",
                        target="1.0 (one read)"))
        out.append(_row("  publish again (nothing to upload), time", med["publish again"], "s",
                        "sha256sum + dd conv=fsync", med["sha256+copy once"]))
    elif name == "first_predict":
        med = doc["median_s"]
        out += [_row("first hub predict convnext_tiny, auto, engine cache empty", med["auto"], "s",
                     "exact PyTorch (--backend torch), cold", med["exact PyTorch"], target="<= 1.5x"),
                _row("  hub predict convnext_tiny, auto, engine kept", med["auto, engine kept"], "s",
                     "exact PyTorch (--backend torch), cold", med["exact PyTorch"])]
    elif name == "infer":
        anchors = {r["figure"]: r["img_s"] for r in doc if r.get("backend") == "OpenVINO default"}
        for r in doc:
            if "cold_s" in r:
                out.append(_row(f"{r['figure']} ({r['backend']}), from the cache", r["warm_s"], "s", "cold",
                                r["cold_s"], target="<= 3 s"))
                continue
            if "model_only_img_s" in r:
                out.append(_row(f"{r['figure']} ({r['backend']}), end to end", r["end_to_end_img_s"], "img/s",
                                "the model alone, same images", r["model_only_img_s"], better="higher",
                                target=">= 0.85x"))
                continue
            if "anchor_img_s" in r:
                out.append(_row(f"{r['figure']} ({r['backend']}), end to end", r["end_to_end_img_s"], "img/s",
                                "OpenVINO default, the model alone", r["anchor_img_s"], better="higher",
                                target=">= 1.0x"))
                continue
            kind = "bf16" if "bf16" in r["backend"] else "fp32"
            out.append(_row(f"{r['figure']}, {r['backend']}: {r['img_s']:.2f} img/s, in GFLOP/s", r["gflops"],
                            "GFLOP/s", f"measured {kind} GEMM peak", r["peak_gflops"], better="higher"))
            if r["backend"].startswith("auto") and r["figure"] in anchors:
                out.append(_row(f"{r['figure']}, auto, images/s", r["img_s"], "img/s", "OpenVINO default",
                                anchors[r["figure"]], better="higher", target=">= 1.0x"))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| figure | ours | anchor | anchor's | ours / anchor | target |", "|---|---:|---|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['figure']} | error: {r['error']} | | | | |")
            continue
        av = "" if r["anchor_value"] is None else f"{r['anchor_value']:,.3g} {r['unit']}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(f"| {r['figure']} | {r['ours']:,.3g} {r['unit']} | {r['anchor']} | {av} | {ratio} | "
                     f"{r['target']} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": dt.date.today().isoformat(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            out = Path(tmp) / f"{name}.json"
            os.sync()  # the previous benchmark's dirty pages are written back now, not during this one
            time.sleep(2)
            start = time.monotonic()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, "-m", f"bench.{name}", *_args(name, args.quick), "--json",
                                   str(out)], cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0 or not out.exists():
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                rows.append({"figure": name, "error": tail[0][:200]})
                continue
            raw[name] = json.loads(out.read_text())
            rows += rows_for(name, raw[name])
            print(f"bench: {name} done in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    info = machine()
    print(f"hub benchmarks, {info['date']}, {info['cpu'] or platform.machine()} ({info['cpus']} CPUs), "
          f"{info['platform']}{', --quick' if args.quick else ''}\n")
    print(table(rows))
    args.json.write_text(json.dumps({"machine": info, "quick": args.quick, "rows": rows, "raw": raw}, indent=2))
    return 0 if not any("error" in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
