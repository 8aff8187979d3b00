"""What a ``hub`` command imports: run in a fresh interpreter, so start-up promises can be checked."""

from __future__ import annotations

import json
import subprocess
import sys

from .paths import ROOT

HEAVY = ("mindspore", "torch", "transformers", "numpy")  # numpy: ~70 ms of start-up
PROBE = """
import json, sys
from hub_client.cli.app import main
sys.argv = ["hub", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("MODULES=" + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def modules_after(args: list[str]) -> set[str]:
    """Run the CLI in a fresh interpreter and return the top-level packages it imported."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, cwd=ROOT)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES="))
    loaded = set(json.loads(line.removeprefix("MODULES=")))
    assert "registry" in loaded  # the probe really ran the CLI
    return loaded


def heavy_modules_after(args: list[str]) -> set[str]:
    return modules_after(args) & set(HEAVY)
