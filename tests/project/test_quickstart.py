"""README command 1's main job (scripts/quickstart.py), run as a user runs it, in a fresh process."""

import re
import subprocess
import sys

import pytest
from helpers import ROOT

pytest.importorskip("mindspore")
pytest.importorskip("torch")
pytest.importorskip("sklearn")


@pytest.mark.slow
def test_quickstart_pulls_predicts_and_reproduces_the_claims(monkeypatch):
    for var in ("HUB_HOME", "HUB_REGISTRY", "HUB_ALLOWED_HOSTS", "HUB_MIRRORS"):
        monkeypatch.delenv(var, raising=False)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "quickstart.py")], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "quickstart: OK" in out
    assert "hub predict: 5 of 5 sample digits right" in out
    claim = re.search(r"top1acc([\d.]+)", (ROOT / "cards/mindspore/2.5/convnextv2_digits.md").read_text()).group(1)
    assert f"torch: top-1 {claim}% -> reproduced" in out and f"mindspore: top-1 {claim}% -> reproduced" in out
    assert "checked the card's sha256 and cached it" in out
    assert "--keep" in out and "To go on" in out  # the home is gone: the output says how to keep it, and what next
