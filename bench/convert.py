"""hub convert and hub publish against the floor of moving the same bytes once.

    python -m bench.convert [--rounds 3] [--quick] [--json out.json]

- convert: a ConvNeXt-tiny checkpoint in MindCV layout (random weights, the real file's 110 MB), converted
  ``--to hf`` (safetensors, config, preprocessor, README) and back ``--to mindspore``, in this process, each
  output flushed to disk before it is renamed into place; the anchor is ``dd bs=16M conv=fsync``, which reads the
  same file and writes its bytes to a new file once, flushed. Target: at most 2x.
- publish: a ConvNeXt-xlarge checkpoint (1.4 GB; ConvNeXt-tiny with ``--quick``) published to a folder: the
  bytes read from the file, counted by the kernel (``rchar`` of ``/proc/self/io``), over its size (target: one
  read, 1.0), and its time against ``sha256sum`` plus ``dd conv=fsync`` (hashing it, and copying it to disk, as
  publish does in one read); publishing it again (nothing to upload: one hashing read) is timed too.

Rounds alternate ours with the anchor; medians are reported.
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

from bench.common import main_with_rounds, settle


def _ckpt(path: Path, variant: str) -> int:
    import numpy as np

    from hub_client.models.spec import mindcv_shapes, spec_for_variant
    from hub_client.weights import ckpt

    rng = np.random.default_rng(0)
    shapes = mindcv_shapes(spec_for_variant(variant))
    return ckpt.write(path, {k: rng.random(s, dtype=np.float32) for k, s in shapes.items()})


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def _copy_once(src: Path, dst: Path, *, hash_too: bool = False, sync: bool = False) -> None:
    """The anchor: ``dd bs=16M`` reads ``src`` and writes its bytes to ``dst`` once (flushed to disk with
    ``conv=fsync`` when ``sync``, as publish flushes); with ``hash_too``, ``sha256sum`` reads it once more."""
    flags = ["conv=fsync"] if sync else []
    subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=16M", "status=none", *flags], check=True)
    if hash_too:
        subprocess.run(["sha256sum", str(src)], check=True, stdout=subprocess.DEVNULL)


def run(rounds: int, quick: bool = False) -> dict[str, Any]:
    from hub_client.convert import open_source, to_hf, to_mindspore
    from hub_client.publish import CardOptions, DirTarget, inspect, publish_ckpt

    work = Path(tempfile.mkdtemp(prefix="hub-bench-convert-"))
    times: dict[str, list[float]] = {"to hf": [], "to mindspore": [], "read+write once": [], "publish": [],
                                     "publish again": [], "sha256+copy once": []}
    read_ratio: list[float] = []
    try:
        src = work / "convnext_tiny.ckpt"
        tiny = _ckpt(src, "convnext_tiny")
        big = work / "big.ckpt"
        big_size = _ckpt(big, "convnext_tiny" if quick else "convnext_xlarge")
        for r in range(rounds):
            # Each figure is timed next to its anchor, both on warm input and after a sync, so neither pays for
            # the other's writeback; the anchor's copy is removed before the next figure.
            for label, work_fn in (("to hf", lambda r=r: to_hf(open_source(src), work / f"repo{r}")),
                                   ("to mindspore", lambda r=r: to_mindspore(open_source(work / f"repo{r}"),
                                                                             work / f"back{r}.ckpt"))):
                settle()
                t = time.perf_counter()
                _copy_once(src, work / "copy.ckpt", sync=True)
                times["read+write once"].append(time.perf_counter() - t)
                (work / "copy.ckpt").unlink()
                settle()
                t = time.perf_counter()
                work_fn()
                times[label].append(time.perf_counter() - t)
            target = DirTarget(work / f"site{r}", "https://files.example.com/models")
            opts = CardOptions(author="bench", mindspore_version="2.5")
            _copy_once(big, Path(os.devnull))  # warm input for both
            settle()
            t = time.perf_counter()
            _copy_once(big, work / "anchor.ckpt", hash_too=True, sync=True)
            times["sha256+copy once"].append(time.perf_counter() - t)
            (work / "anchor.ckpt").unlink()
            settle()
            before, t = _rchar(), time.perf_counter()
            publish_ckpt(inspect(big), "convnext_bench", target, opts)
            times["publish"].append(time.perf_counter() - t)
            read_ratio.append((_rchar() - before) / big_size)
            t = time.perf_counter()
            publish_ckpt(inspect(big), "convnext_bench", target, opts)
            times["publish again"].append(time.perf_counter() - t)
            shutil.rmtree(work / f"site{r}")
        return {"tiny_mb": tiny / 1e6, "big_mb": big_size / 1e6, "rounds": rounds, "seconds": times,
                "publish_read_ratio": read_ratio}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(data: dict[str, Any]) -> str:
    med = {k: statistics.median(v) for k, v in data["seconds"].items()}
    floor = med["read+write once"]
    rows = [
        f"convert {data['tiny_mb']:.0f} MB (median of {data['rounds']}):",
        f"  dd conv=fsync          {floor:7.3f} s",
        f"  hub convert --to hf    {med['to hf']:7.3f} s  {med['to hf'] / floor:5.2f}x  (target <= 2x)",
        f"  hub convert --to ms    {med['to mindspore']:7.3f} s  {med['to mindspore'] / floor:5.2f}x  (target <= 2x)",
        f"publish {data['big_mb']:.0f} MB to a folder:",
        f"  sha256sum + dd once    {med['sha256+copy once']:7.3f} s",
        f"  hub publish            {med['publish']:7.3f} s  {med['publish'] / med['sha256+copy once']:5.2f}x",
        f"  bytes read / size      {statistics.median(data['publish_read_ratio']):7.3f}    (target 1.0: one read)",
        f"  hub publish again      {med['publish again']:7.3f} s  (nothing uploaded)",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    return main_with_rounds(argv, __doc__ or "", lambda n: run(n, quick), table, rounds=5, quick=1)


if __name__ == "__main__":
    os.environ.setdefault("GLOG_v", "3")
    raise SystemExit(main())
