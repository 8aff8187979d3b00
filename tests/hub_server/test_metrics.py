"""The mirror you can watch: /metrics parsed by prometheus_client's own parser, its counters moving as
unmodified huggingface_hub fetches through the mirror; the audit log names clients by their token's hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers import payload, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")
need_module("prometheus_client")

import requests  # noqa: E402
from servers.asgi import AsgiServer  # noqa: E402

TOKEN = "team-read-token-metrics"


@pytest.fixture
def mirror(tmp_path, hf_server, net):
    from hub_server import LocalStorage, Mirror, create_app

    storage = LocalStorage(tmp_path / "storage" / "hf", max_bytes=3_500_000)
    m = Mirror(storage, upstream=hf_server.url, token=hf_server.token, settings=net)
    server = AsgiServer(create_app(m, tokens=[TOKEN], audit_log=tmp_path / "audit.jsonl")).start()
    server.audit = tmp_path / "audit.jsonl"
    yield server
    server.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    resp = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def fetch(url: str, repo_id: str, name: str, cache: Path) -> bytes:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id, name, endpoint=url, cache_dir=cache, token=TOKEN)).read_bytes()


def test_counters_move_as_files_are_fetched(mirror, hf_server, tmp_path):
    repo_id = f"acme/{unique('watched')}".replace("_", "-")
    weights, other = payload(2_000_000, seed=91), payload(2_000_000, seed=92)
    hf_server.add(repo_id, {"config.json": b"{}", "model.safetensors": weights, "other.safetensors": other})
    before = scrape(mirror.url)
    assert before[("hub_cache_misses_total", (("source", "hf"),))] == 0
    assert before[("hub_inflight_transfers", ())] == 0

    assert fetch(mirror.url, repo_id, "model.safetensors", tmp_path / "c1") == weights  # a miss
    assert fetch(mirror.url, repo_id, "model.safetensors", tmp_path / "c2") == weights  # a hit
    after = scrape(mirror.url)
    hf = (("source", "hf"),)
    assert after[("hub_cache_misses_total", hf)] == 1
    assert after[("hub_cache_hits_total", hf)] == 1
    assert after[("hub_upstream_transfers_total", hf)] == 1
    assert after[("hub_upstream_bytes_total", hf)] == len(weights)
    # each hf_hub_download asks a HEAD, then a GET
    assert after[("hub_requests_total", (("route", "file"), ("status", "200")))] == 4
    assert after[("hub_served_bytes_total", (("route", "file"),))] >= 2 * len(weights)
    assert after[("hub_requests_total", (("route", "metrics"), ("status", "200")))] == 1

    assert fetch(mirror.url, repo_id, "other.safetensors", tmp_path / "c3") == other  # past the 3.5 MB cap
    evicted = scrape(mirror.url)
    assert evicted[("hub_evictions_total", (("source", "storage"),))] == 1
    assert evicted[("hub_evicted_bytes_total", (("source", "storage"),))] == len(weights)

    refused = requests.get(f"{mirror.url}/metrics", timeout=10)
    assert refused.status_code == 401  # a token is needed here as on every route
    assert scrape(mirror.url)[("hub_requests_total", (("route", "metrics"), ("status", "401")))] == 1


def test_the_audit_log_says_who_fetched_what_without_the_token(mirror, hf_server, tmp_path):
    repo_id = f"acme/{unique('audited')}".replace("_", "-")
    hf_server.add(repo_id, {"model.safetensors": payload(100_000, seed=93)})
    fetch(mirror.url, repo_id, "model.safetensors", tmp_path / "c")
    requests.get(f"{mirror.url}/api/models/{repo_id}", timeout=10)  # no token: refused, and logged
    text = mirror.audit.read_text()
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines()]
    got = [x for x in lines if x["path"].endswith("/model.safetensors") and x["method"] == "GET"]
    assert len(got) == 1
    assert got[0]["who"] == f"token:{hashlib.sha256(TOKEN.encode()).hexdigest()[:12]}"
    assert got[0]["status"] == 200 and got[0]["bytes"] == 100_000
    assert {"who": "anonymous", "status": 401} in [{k: x[k] for k in ("who", "status")} for x in lines]
