"""A cache that heals itself: a cached file that changed since it was verified is hashed again before use and
fetched anew when damaged; `hub verify --repair` mends what even that cannot see; Hugging Face files alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import HF_CARD, ROOT, index, payload, publish, unique

from hub_client import pull
from hub_client.fetch.cache import Cache
from hub_client.fetch.transfer import CHUNK


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT)


def flip(path: Path, *, keep_mtime: bool) -> None:
    """One byte changed in place, the size kept; with ``keep_mtime`` the file looks untouched to a stat."""
    real = Path(os.path.realpath(path))
    st = real.stat()
    os.chmod(real, 0o644)
    with open(real, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    if keep_mtime:
        os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.usefixtures("net")
def test_a_damaged_asset_is_fetched_again_by_the_next_pull(nginx, cards, settings):
    pub = publish(nginx.root, cards, unique("heal"), payload(CHUNK, seed=50), base=nginx.url)
    index(cards, settings=settings)
    [path] = pull(pub.name, settings=settings)
    flip(path, keep_mtime=False)
    before = len(nginx.requests_for(pub.uri))
    [again] = pull(pub.name, settings=settings)
    assert again.read_bytes() == pub.data
    assert [r[:2] for r in nginx.requests_for(pub.uri)[before:]] == [("GET", 200)]
    assert len(nginx.requests_for(pub.uri)) == before + 1
    pull(pub.name, settings=settings)  # sound and marked again: no request
    assert len(nginx.requests_for(pub.uri)) == before + 1


@pytest.mark.usefixtures("net")
def test_verify_finds_what_a_stat_cannot_and_repair_mends_it(nginx, cards, settings):
    pub = publish(nginx.root, cards, unique("repair"), payload(CHUNK, seed=51), base=nginx.url)
    index(cards, settings=settings)
    [path] = pull(pub.name, settings=settings)
    flip(path, keep_mtime=True)
    assert pull(pub.name, settings=settings)[0].read_bytes() != pub.data  # looks untouched: trusted, as documented
    bad = hub("verify", pub.name, "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)[0]["status"] == "corrupt"
    fixed = hub("verify", pub.name, "--repair", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)[0]["status"] == "repaired"
    assert Cache(settings.home).asset_path(*_record_and_asset(pub.name, settings)).read_bytes() == pub.data
    assert hub("verify", pub.name).returncode == 0


def _record_and_asset(name: str, settings):
    from registry import Registry

    with Registry(settings=settings) as reg:
        rec = reg.resolve(name).record
    return rec, rec.assets[0]


def test_hf_files_are_checked_healed_and_repaired(hf_env, hf_settings):
    repo_id = f"acme/{unique('heal')}".replace("_", "-")
    files = {"README.md": HF_CARD.format(name=repo_id).encode(), "config.json": b'{"model_type": "convnextv2"}',
             "model.safetensors": payload(300_000, seed=52)}
    hf_env.add(repo_id, files)
    missing = hub("verify", f"hf:{repo_id}", "--json")  # the card is fetched to resolve it; the weights not
    assert missing.returncode == 1 and {r["file"]: r["status"] for r in json.loads(missing.stdout)}["weights"] == \
        "missing"

    weights = {p.name: p for p in pull(f"hf:{repo_id}", settings=hf_settings)}["model.safetensors"]
    served = f"/{repo_id}/resolve/{hf_env.repos[repo_id].sha}/model.safetensors"
    gets = hf_env.log.count(("GET", served))
    flip(weights, keep_mtime=False)
    healed = {p.name: p for p in pull(f"hf:{repo_id}", settings=hf_settings)}["model.safetensors"]
    assert healed.read_bytes() == files["model.safetensors"] and hf_env.log.count(("GET", served)) == gets + 1

    flip(healed, keep_mtime=True)
    bad = hub("verify", f"hf:{repo_id}", "--json")
    assert bad.returncode == 1
    assert {r["file"]: r["status"] for r in json.loads(bad.stdout)} == {
        "README.md": "ok", "config.json": "ok", "model.safetensors": "corrupt"}
    fixed = hub("verify", f"hf:{repo_id}", "--repair", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert {r["file"]: r["status"] for r in json.loads(fixed.stdout)}["model.safetensors"] == "repaired"
    repaired = {p.name: p for p in pull(f"hf:{repo_id}", settings=hf_settings)}["model.safetensors"]
    assert repaired.read_bytes() == files["model.safetensors"]


def test_cache_commands_cover_hf_repos(hf_env, hf_settings):
    """`hub cache ls|verify|rm|prune` see the Hugging Face cache too: sizes in human units, damage found without
    deleting anything, a repo removed with what it freed, stale partial downloads pruned."""
    repo_id = f"acme/{unique('hfcache')}".replace("_", "-")
    files = {"README.md": HF_CARD.format(name=repo_id).encode(), "config.json": b'{"model_type": "convnextv2"}',
             "model.safetensors": payload(300_000, seed=53)}
    hf_env.add(repo_id, files)
    weights = {p.name: p for p in pull(f"hf:{repo_id}", settings=hf_settings)}["model.safetensors"]
    model = f"hf:{repo_id}@{hf_env.repos[repo_id].sha[:12]}"

    listed = [r for r in json.loads(hub("cache", "ls", "--json").stdout) if r["model"] == model]
    assert {r["file"]: r["size"] for r in listed} == {k: len(v) for k, v in files.items()}
    assert all(r["cache"] == "hf" and r["ok"] for r in listed)
    text = hub("cache", "ls").stdout
    assert f"{model}/model.safetensors  300.0 kB" in text and "in " + str(Path(os.environ["HF_HOME"]) / "hub") in text

    flip(weights, keep_mtime=True)
    bad = hub("cache", "verify", "--json")
    assert bad.returncode == 1
    assert {r["file"]: r["ok"] for r in json.loads(bad.stdout) if r["model"] == model} == {
        "README.md": True, "config.json": True, "model.safetensors": False}
    assert weights.exists()  # verify reports; it does not delete
    said = hub("cache", "verify")
    assert "hub verify NAME --repair" in said.stderr

    partial = Path(os.path.realpath(weights)).parent / ("f" * 64 + ".incomplete")  # huggingface_hub's
    partial.write_bytes(b"x" * 2000)
    ours = partial.with_name(".hub-" + "e" * 64 + ".part")  # and ours, with its resume state
    ours.write_bytes(b"y" * 1000)
    ours.with_name(ours.name + ".json").write_text("{}")
    pruned = hub("cache", "prune")
    assert pruned.returncode == 0 and "freed 3.0 kB" in pruned.stdout, pruned.stdout
    assert not partial.exists() and not ours.exists() and not ours.with_name(ours.name + ".json").exists()

    removed = hub("cache", "rm", f"hf:{repo_id}")
    total = sum(len(v) for v in files.values())
    assert removed.returncode == 0, removed.stderr
    assert f"removed 3 file(s) of {repo_id}, freed {total / 1e3:.1f} kB" in removed.stdout, removed.stdout
    assert not weights.exists() and not [r for r in json.loads(hub("cache", "ls", "--json").stdout)
                                         if r["model"] == model]
