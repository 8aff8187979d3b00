"""Write ``hub_client/data/mindcv_models.tsv``: every architecture MindCV registers, with what the loader needs to
know of it before importing MindSpore (its model file, classifier, first convolution, input size).

    python scripts/mindcv_table.py [--check]

Run it after changing the pinned ``mindcv``; ``--check`` exits non-zero when the table is out of date (the test
suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "hub_client" / "data" / "mindcv_models.tsv"
HEADER = "# name\tmodule\tclassifier\tfirst_conv\tinput_size\tnum_classes"


def rows() -> list[str]:
    """One line per registered architecture, sorted by name, from MindCV's registry and ``default_cfgs``."""
    from mindcv.models import registry

    out = []
    for name in sorted(registry.list_models()):
        module = registry._model_to_module[name]  # the registry keeps no public accessor for it
        cfg = getattr(importlib.import_module(f"mindcv.models.{module}"), "default_cfgs", {}).get(name) or {}
        size = cfg.get("input_size")
        out.append("\t".join([name, module, str(cfg.get("classifier") or ""), str(cfg.get("first_conv") or ""),
                              str(size[-1]) if size else "", str(cfg.get("num_classes") or "")]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    args = ap.parse_args()
    text = "\n".join([HEADER, *rows()]) + "\n"
    if args.check:
        same = TABLE.is_file() and TABLE.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{TABLE} differs from the installed mindcv: run {sys.argv[0]}")
        return 0 if same else 1
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE} ({text.count(chr(10)) - 1} architectures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
