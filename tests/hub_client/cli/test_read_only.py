"""A read-only hub home (a cluster's shared model cache, a container image): every command that only reads works
and keeps nothing new; one that must write says "read-only" in one line, with no destructive hint.

Root ignores file modes, so when the tests run as root the reader is another user (``setpriv`` to nobody), as
on a cluster where the cache belongs to whoever filled it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import HF_CARD, ROOT, payload, unique
from helpers.tools import need_module

need_module("mindspore")
from helpers.weights import serve  # noqa: E402

pytestmark = pytest.mark.usefixtures("net")


def _as_reader() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and setpriv (util-linux) is not here to read as another user")
    return [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups"]


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for r in roots for p in sorted(r.rglob("*"))
            if not p.is_symlink()}


@pytest.fixture
def shared(monkeypatch):
    """A folder anyone may enter (pytest's own are its owner's alone), removed after."""
    base = Path(tempfile.mkdtemp(prefix="hub-shared-"))
    base.chmod(0o755)
    for var, sub in (("HUB_HOME", "home"), ("HF_HOME", "hf")):
        monkeypatch.setenv(var, str(base / sub))
    monkeypatch.setenv("HUB_REGISTRY", str(base / "home" / "registry.db"))
    yield base
    for p in [base, *base.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def filled(nginx, hf_env, shared, tmp_path):
    """A hub home and HF cache filled by their owner (a MindSpore Hub card's checkpoint, a Hugging Face repo),
    then made read-only for everyone else."""
    import hub_client

    cards = shared / "cards"
    cards.mkdir()
    name, _ = serve(nginx, cards, tmp_path, "convnextv2_atto", seed=12)
    repo_id = f"acme/{unique('shared')}".replace("_", "-")
    hf_env.add(repo_id, {"README.md": HF_CARD.format(name=repo_id).encode(), "config.json": b'{"model_type": "x"}',
                         "model.safetensors": payload(40_000, seed=3)})
    hub_client.pull(name)
    hub_client.pull(f"hf:{repo_id}")
    home, hf = Path(os.environ["HUB_HOME"]), Path(os.environ["HF_HOME"])
    for root in (home, hf, cards):
        for p in [root, *root.rglob("*")]:
            if not p.is_symlink():
                p.chmod(0o555 if p.is_dir() else 0o444)
    return name, repo_id, home, hf


def test_reading_commands_work_on_a_read_only_home_and_keep_nothing(filled, tmp_path):
    from PIL import Image

    name, repo_id, home, hf = filled
    reader = _as_reader()
    image = home.parent / "x.png"
    home.parent.chmod(0o755)
    Image.new("RGB", (40, 40), (200, 30, 30)).save(image)
    image.chmod(0o444)
    before = _snapshot(home, hf)

    def hub(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*reader, sys.executable, "-m", "hub_client.cli", *args], cwd=ROOT, text=True,
                              capture_output=True, timeout=300, env={**os.environ, "HOME": "/nonexistent", **env})

    for args in (["list"], ["search", "convnext"], ["info", name], ["info", f"hf:{repo_id}"], ["verify", name],
                 ["verify", f"hf:{repo_id}"], ["pull", name, "-q"], ["pull", f"hf:{repo_id}", "-q"], ["cache", "ls"],
                 ["predict", name, str(image), "--backend", "torch", "--json"],
                 ["predict", name, str(image), "--json"]):
        done = hub(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert json.loads(done.stdout)["results"][0]["predictions"], done.stdout  # auto's engine was built for this run
    offline = hub("pull", f"hf:{repo_id}", "-q", HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr
    assert _snapshot(home, hf) == before  # nothing new kept, nothing touched

    for args in (["index", str(home.parent)], ["pull", "convnext_tiny"]):
        done = hub(*args)
        assert done.returncode in (1, 2) and "read-only" in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "rebuild" not in done.stderr, done.stderr
