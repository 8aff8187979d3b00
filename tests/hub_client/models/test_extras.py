"""A plain install (no extra) says which extra to install, from the CLI and from Python, instead of failing on
``import numpy``. The missing packages are hidden from a fresh interpreter (``sys.modules[name] = None`` is what
Python itself does for a module that must not import), so this runs on a machine that has every extra."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT

FRAMEWORKS = ["torch", "transformers", "mindspore"]
CLI = """
import json, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None
from hub_client.cli.app import main
sys.argv = ["hub", *json.loads(sys.argv[2])]
main()
"""
API = """
import json, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None
try:
    from hub_client import load_model
except ImportError as e:
    print(type(e).__name__, e)
"""


def _run(code: str, hidden: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, json.dumps(hidden), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("hidden", "says"), [
    (["numpy", "PIL", *FRAMEWORKS], "numpy and Pillow are missing; neither PyTorch nor MindSpore is installed"),
    (FRAMEWORKS, "no backend is installed (neither PyTorch nor MindSpore is installed)"),
    (["PIL"], "Pillow is missing"),
])
@pytest.mark.parametrize("command", [["predict", "convnextv2_digits", "x.png"],
                                     ["eval", "convnextv2_digits", "--dataset", "sklearn-digits"]])
def test_cli_names_the_extra(hidden, says, command):
    proc = _run(CLI, hidden, json.dumps(command))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert says in proc.stderr
    assert "pip install 'hub-registry[torch]' or pip install 'hub-registry[mindspore]'" in proc.stderr


def test_python_api_names_the_extra():
    proc = _run(API, ["numpy", "PIL", *FRAMEWORKS])
    assert proc.stdout.startswith("BackendUnavailableError no backend is installed (numpy and Pillow are missing"), (
        proc.stdout + proc.stderr)
    assert "hub-registry[torch]" in proc.stdout


def test_nothing_hidden_loads_fine():
    """The check itself passes where the extras are installed (so the cases above fail for the hidden modules)."""
    proc = _run(API, [])
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
