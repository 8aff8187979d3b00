"""The README's cluster and production recipes, run as written: a token-protected team mirror in front of a
company mirror (its upstream for Hugging Face repos and MindSpore Hub assets alike), filled by rank 0's
``hub prefetch``, then a node's ``hub pull`` of a MindSpore Hub card and of a Hugging Face repo."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import HF_CARD, ROOT, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")

from servers.asgi import free_port  # noqa: E402

MB = 1 << 20
TEAM, COMPANY = "team-token-1", "company-token-9"


def _hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def world(nginx, hf_server, tmp_path):
    """An asset on a plain file server (an 8-hex card), a repo on a hub, and the user's registry that knows the
    card (indexed with HUB_HOME alone, as a user does: no HUB_REGISTRY anywhere below)."""
    cards = tmp_path / "cards"
    pub = publish(nginx.root, cards, unique("recipe"), payload(MB, seed=95), base=nginx.url, prefix=True)
    repo_id = f"acme/{unique('recipe')}".replace("_", "-")
    files = {"README.md": HF_CARD.format(name=repo_id).encode(), "config.json": b'{"model_type": "convnext"}',
             "model.safetensors": payload(2 * MB, seed=96)}
    hf_server.add(repo_id, files)
    base = {"HUB_ALLOWED_HOSTS": "127.0.0.1", "HUB_RETRIES": "1", "HUB_BACKOFF": "0.01"}
    for var in ("HUB_REGISTRY", "HUB_MIRRORS", "HF_TOKEN", "HUB_MIRROR_TOKEN", "HUB_SERVE_TOKENS"):
        base[var] = ""
    user = {**base, "HUB_HOME": str(tmp_path / "user")}
    assert _hub("index", str(cards), env=user).returncode == 0
    return pub, repo_id, files, cards, base, user


@pytest.mark.parametrize("team_storage", ["folder", "s3"])
def test_the_slurm_recipe_through_a_team_mirror_chained_to_a_company_mirror(serving, world, nginx, hf_server,
                                                                             tmp_path, request, team_storage):
    """The team mirror as the production recipe runs it (on S3, every interface, team tokens, an upstream token)
    or on a folder; the company mirror is its upstream for both kinds of model."""
    pub, repo_id, files, cards, base, user = world
    company = serving(tmp_path / "company", {**user, "HF_ENDPOINT": hf_server.url, "HUB_SERVE_TOKENS": COMPANY})
    env = {**user, "HUB_SERVE_TOKENS": TEAM, "HUB_SERVE_UPSTREAM_TOKEN": COMPANY}
    storage: Path | str = tmp_path / "team"
    extra: tuple[str, ...] = ()
    if team_storage == "s3":
        s3 = request.getfixturevalue("moto_s3")
        bucket = unique("models").replace("_", "-").lower()
        s3.client().create_bucket(Bucket=bucket)
        env, storage, extra = {**env, **s3.env}, f"s3://{bucket}/mirror", ("--host", "0.0.0.0")
    team = serving(storage, env, *extra, "--upstream-hf", company, "--upstream-ms", company)
    # What the README exports on every node.
    node = {**base, "HF_ENDPOINT": team, "HUB_MIRRORS": team, "HF_TOKEN": TEAM,
            "HUB_HOME": str(tmp_path / "node" / "hub"), "HF_HUB_CACHE": str(tmp_path / "node" / "hf")}
    assert _hub("index", str(cards), env=node).returncode == 0  # the node's registry knows the card too
    before = len(nginx.requests_for(pub.uri))
    rank0 = _hub("prefetch", pub.name, f"hf:{repo_id}", "--json", env=node)
    assert rank0.returncode == 0, rank0.stderr
    assert [d["files"] for d in json.loads(rank0.stdout)] == [1, len(files)]
    fetched = len(nginx.requests_for(pub.uri))
    assert fetched > before  # the company mirror fetched it from the card's host, for the team mirror

    pulled = _hub("pull", pub.name, "--json", env=node)
    assert pulled.returncode == 0, pulled.stderr
    (path,) = json.loads(pulled.stdout)["paths"]
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == pub.digest
    hf = _hub("pull", f"hf:{repo_id}", "--json", env=node)
    assert hf.returncode == 0, hf.stderr
    got = {Path(p).name: Path(p).read_bytes() for p in json.loads(hf.stdout)["paths"]}
    assert got == files
    assert len(nginx.requests_for(pub.uri)) == fetched  # the node's pulls came from the mirrors alone
    if team_storage == "folder":
        assert (tmp_path / "team" / "blobs" / "sha256" / pub.digest).is_file()
    assert (tmp_path / "company" / "blobs" / "sha256" / pub.digest).is_file()

    # Without the team's token the node is refused, and says so in one line.
    refused = _hub("pull", f"hf:{repo_id}", env={**node, "HF_TOKEN": "", "HF_HUB_CACHE": str(tmp_path / "other")})
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "token" in refused.stderr.lower(), refused.stderr


def test_hub_serve_knows_the_users_cards_and_lists_them(serving, world, tmp_path):
    """The mirror reads the registry hub list shows (HUB_HOME's), not one inside its storage folder."""
    import requests

    pub, _, _, _, _, user = world
    url = serving(tmp_path / "elsewhere", user)
    page = requests.get(f"{url}/", timeout=10)
    assert page.status_code == 200 and pub.name in page.text
    asset = requests.get(f"{url}/{pub.rel}", timeout=30)
    assert asset.status_code == 200 and hashlib.sha256(asset.content).hexdigest() == pub.digest


def test_an_upstream_that_does_not_resolve_is_a_quick_502(serving, world, tmp_path):
    import time

    import requests

    pub, repo_id, _, _, _, user = world
    env = {**user, "HUB_TIMEOUT": "30", "HUB_RETRIES": "5"}
    url = serving(tmp_path / "m", env, "--upstream-hf", "https://no-such-host.invalid",
                 "--upstream-ms", "https://no-such-host.invalid")
    for path in (f"/api/models/{repo_id}/revision/main", f"/{pub.rel}"):
        start = time.monotonic()
        answer = requests.get(f"{url}{path}", timeout=30)
        took = time.monotonic() - start
        assert answer.status_code in (502, 504) and took < 5, (path, answer.status_code, took)
        assert "resolve" in answer.text, answer.text


def test_a_busy_port_and_a_refused_upstream_are_said_before_serving(tmp_path):
    import socket

    env = {"HUB_HOME": str(tmp_path / "home"), "HUB_ALLOWED_HOSTS": "127.0.0.1"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = _hub("serve", "--storage", str(tmp_path / "s"), "--port", port, env=env)
    assert busy.returncode == 2 and "cannot listen on 127.0.0.1:" in busy.stderr and "serving" not in busy.stderr
    plain = _hub("serve", "--storage", str(tmp_path / "s"), "--port", str(free_port()), "--upstream-ms",
                 "http://company.example", env=env)
    assert plain.returncode != 0 and "plain http" in plain.stderr and "serving" not in plain.stderr
    assert "Traceback" not in busy.stderr + plain.stderr


def test_a_stalled_upstream_is_a_504_before_the_clients_read_time_out(serving, world, tmp_path):
    """An upstream that accepts connections and never answers: the mirror says so before a client's 10 s read
    time-out, whatever HUB_TIMEOUT the operator set."""
    import socket
    import time

    import requests

    _, repo_id, _, _, _, user = world
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        upstream = f"http://127.0.0.1:{silent.getsockname()[1]}"
        url = serving(tmp_path / "m", {**user, "HUB_TIMEOUT": "60", "HUB_RETRIES": "5"}, "--upstream-hf", upstream)
        start = time.monotonic()
        answer = requests.get(f"{url}/api/models/{repo_id}/revision/main", timeout=10)
        took = time.monotonic() - start
    assert answer.status_code == 504 and "did not answer in time" in answer.text, answer.text
    assert took < 10, took
