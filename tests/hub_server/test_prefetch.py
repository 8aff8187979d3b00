"""``hub prefetch`` fills a running ``hub serve`` before a job, for Hugging Face repos and MindSpore Hub cards
(which the mirror fetches from the card's own host); nodes then pull from the mirror alone."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, index, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

MB = 1 << 20


def _hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_prefetch_a_hugging_face_repo_then_nodes_pull_from_the_mirror_alone(serving, hf_server, tmp_path):
    repo_id = f"acme/{unique('pre')}".replace("_", "-")
    files = {"config.json": b'{"model_type": "convnext"}', "model.safetensors": payload(2 * MB, seed=91)}
    hf_server.add(repo_id, files)
    env = {"HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf_server.url, "HUB_HOME": str(tmp_path / "home")}
    storage = tmp_path / "mirror"
    url = serving(storage, env)
    done = _hub("prefetch", f"hf:{repo_id}", "--mirror", url, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert '"files": 2' in done.stdout and str(len(files["model.safetensors"]) + len(files["config.json"])) in \
        done.stdout
    offline = serving(storage, env, "--offline")  # what the prefetch stored is all a node needs
    from huggingface_hub import hf_hub_download

    for name, data in files.items():
        got = hf_hub_download(repo_id, name, endpoint=offline, cache_dir=tmp_path / "node", token=False)
        assert Path(got).read_bytes() == data


def test_the_mirror_pulls_mindspore_assets_through_from_their_host(serving, nginx, tmp_path, net):
    cards = tmp_path / "cards"
    data = payload(MB, seed=92)
    pub = publish(nginx.root, cards, unique("mspt"), data, base=nginx.url, prefix=True)  # an 8-hex card
    registry = tmp_path / "registry.db"
    index(cards, settings=net.but(home=tmp_path / "indexer", registry_file=registry))
    env = {"HUB_ALLOWED_HOSTS": "127.0.0.1", "HUB_REGISTRY": str(registry), "HUB_MIRRORS": "http://127.0.0.1:9"}
    url = serving(tmp_path / "mirror", env)  # its own HUB_MIRRORS is ignored: it fetches from the card's host
    before = len(nginx.requests_for(pub.uri))
    done = _hub("prefetch", pub.name, "--mirror", url, env={**env, "HUB_HOME": str(tmp_path / "rank0")})
    assert done.returncode == 0, done.stderr
    assert len(nginx.requests_for(pub.uri)) > before
    fetched = len(nginx.requests_for(pub.uri))
    node = {**env, "HUB_HOME": str(tmp_path / "node"), "HUB_MIRRORS": url}
    pulled = _hub("pull", pub.name, "-q", env=node)
    assert pulled.returncode == 0, pulled.stderr
    assert Path(pulled.stdout.strip()).read_bytes() == data
    assert len(nginx.requests_for(pub.uri)) == fetched  # the node got it from the mirror alone
    digest = hashlib.sha256(data).hexdigest()
    assert (tmp_path / "mirror" / "blobs" / "sha256" / digest).is_file()


def test_prefetch_needs_a_mirror(tmp_path):
    env = {"HUB_MIRRORS": "", "HF_ENDPOINT": "https://huggingface.co", "HUB_HOME": str(tmp_path)}
    done = _hub("prefetch", "hf:acme/x", env=env)
    assert done.returncode == 2 and "--mirror" in done.stderr and "Traceback" not in done.stderr
