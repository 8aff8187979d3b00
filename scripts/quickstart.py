"""The main job end to end, on this machine, with no model hub reachable.

    .venv/bin/python scripts/quickstart.py [--keep]

1. serves the reference model's checkpoint (``models/convnextv2_digits``) from a local mirror of the host its
   card names (an HTTP server on loopback; ``HUB_MIRRORS`` points the client at it);
2. ``hub pull convnextv2_digits``: resolve through the registry, download, verify the card's sha256, cache;
3. ``hub predict`` on sample digits written as PNG files;
4. ``hub eval`` on the held-out digits, checking the card's accuracy claim, on each installed backend;
5. prints what it did. Everything goes to a fresh HUB_HOME in a temporary folder (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CARD = ROOT / "cards" / "mindspore" / "2.5" / "convnextv2_digits.md"
HUB = [sys.executable, "-m", "hub_client.cli"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_mirror(work: Path) -> tuple[ThreadingHTTPServer, str, str]:
    """Lay the checkpoint out as its origin does, and serve that folder on a free loopback port."""
    link = re.search(r"asset-link: <([^>]+)>", CARD.read_text()).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    [ckpt] = (ROOT / "models" / "convnextv2_digits").glob("convnextv2_digits-*.ckpt")
    (work / "mirror" / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ckpt, work / "mirror" / path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(work / "mirror")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", link


def step(title: str, args: list[str], env: dict[str, str], capture: bool = False, show: bool = True) -> str:
    print(f"\n$ hub {' '.join(Path(a).name if a.startswith('/') else a for a in args)}", flush=True)
    proc = subprocess.run([*HUB, *args], env=env, cwd=ROOT, text=True,
                          stdout=subprocess.PIPE if capture else None)
    if proc.returncode != 0:
        raise SystemExit(f"quickstart: `hub {' '.join(args)}` failed ({title}), exit {proc.returncode}")
    if capture:
        if show:
            print(proc.stdout, end="")
        return proc.stdout
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary HUB_HOME")
    args = ap.parse_args()
    from PIL import Image  # noqa: F401  (fail early, with the set-up hint below, if the extras are missing)

    from hub_client.inference.data import digit_image, digits_split

    work = Path(tempfile.mkdtemp(prefix="hub-quickstart-"))
    server, mirror, origin = serve_mirror(work)
    env = os.environ | {"HUB_HOME": str(work / "home"), "HUB_MIRRORS": mirror, "GLOG_v": "3"}
    env.pop("HUB_REGISTRY", None)
    try:
        print(f"quickstart: the reference model's checkpoint, {origin.rsplit('/', 1)[1]}, is served by a local "
              f"mirror at {mirror} (HUB_MIRRORS); HUB_HOME={work / 'home'}")
        # stdout is captured for the path; stderr stays the terminal's, so the progress bar shows there
        paths = step("pull", ["pull", "convnextv2_digits"], env, capture=True).split()
        _, _, images, targets = digits_split()
        samples = []
        for i in (0, 1, 2, 3, 4):
            p = work / f"digit_{i}_is_{targets[i]}.png"
            digit_image(images[i]).save(p)
            samples.append(str(p))
        out = json.loads(step("predict", ["predict", "convnextv2_digits", *samples, "--topk", "3", "--json"], env,
                              capture=True, show=False))
        right = 0
        for r in out["results"]:
            truth = Path(r["image"]).stem.rsplit("_", 1)[1]
            best = r["predictions"][0]
            right += best["label"] == truth
            print(f"  {Path(r['image']).name}: {best['label']} ({best['probability']:.2f})"
                  f"{'' if best['label'] == truth else '  <- wrong'}")
        verdicts = {}
        backends = [b for b in ("torch", "mindspore") if importlib.util.find_spec(b)]
        for backend in backends:
            text = step("eval", ["eval", "convnextv2_digits", "--dataset", "sklearn-digits", "--backend", backend],
                        env, capture=True)
            found = re.search(r"verdict: (.+)", text)
            verdicts[backend] = (found.group(1).strip() if found else "?", re.search(r"top-1 ([\d.]+)%", text))
        print("\nquickstart: what happened")
        print(f"  a local mirror ({mirror}) stood in for {origin.split('/')[2]}")
        print(f"  hub pull resolved convnextv2_digits through the registry, downloaded the checkpoint, checked the "
              f"card's sha256 and cached it: {paths[0]}")
        print(f"  hub predict: {right} of {len(samples)} sample digits right ({out['backend']} on {out['device']})")
        for backend, (verdict, top1) in verdicts.items():
            print(f"  hub eval on the 450 held-out digits, {backend}: top-1 {top1.group(1) if top1 else '?'}% -> "
                  f"{verdict}")
        ok = right == len(samples) and all(v == "reproduced" for v, _ in verdicts.values())
        print("quickstart: OK" if ok else "quickstart: FAILED")
        if args.keep:
            print(f"\nto go on with this home: export HUB_HOME={work / 'home'}, then `hub list`, `hub predict "
                  "convnextv2_digits IMAGE`, `hub eval convnextv2_digits --dataset sklearn-digits`")
        else:
            print("\nits temporary HUB_HOME is removed (`.venv/bin/python scripts/quickstart.py --keep` keeps it). "
                  "To go on: `hub list` shows what the registry knows; `hub pull NAME` (with HUB_MIRRORS=URL for "
                  "a company mirror, HF_ENDPOINT=URL for a Hugging Face mirror) and `hub predict NAME IMAGE`; "
                  "README: Load, predict, evaluate")
        return 0 if ok else 1
    finally:
        server.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
