"""Any Hugging Face repo by its id, with no card written by hand: the HF-compatible server on loopback holds
repos the registry has never seen (with and without a README, private, gated, pinned revisions)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import HF_CARD, ROOT, payload, unique

from hub_client import pull
from hub_client.fetch import remote
from registry.errors import DownloadError, OfflineError, RepoAccessError, UnknownModelError
from registry.settings import Settings


def resolve(spec: str, *, settings: Settings) -> remote.Resolution:
    return remote.resolve(spec, settings=settings)


def new_repo(server, *, readme: bool = True, **kw) -> tuple[str, dict[str, bytes]]:
    repo_id = f"acme/{unique('convnext-copy')}".replace("_", "-")
    files = {
        "config.json": json.dumps({"model_type": "convnextv2", "num_labels": 2}).encode(),
        "model.safetensors": payload(200_000, seed=40),
    }
    if readme:
        files["README.md"] = HF_CARD.format(name=repo_id).encode()
    server.add(repo_id, files, **kw)
    return repo_id, files


def hub(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env_extra or {})})


def test_a_repo_never_indexed_resolves_pulls_and_then_works_offline(hf_env, hf_settings):
    repo_id, files = new_repo(hf_env)
    res = resolve(f"hf:{repo_id}", settings=hf_settings)
    sha = hf_env.repos[repo_id].sha
    assert res.record.uid == repo_id and res.record.revision == sha and res.record.name == repo_id.split("/")[1]
    assert res.record.architecture == "convnextv2" and res.record.card_path.endswith("README.md")
    paths = pull(f"hf:{repo_id}", settings=hf_settings)
    assert {p.name: p.read_bytes() for p in paths} == files
    hf_settings = hf_settings.but(offline=True)
    hits = sum(hf_env.hits.values())
    assert resolve(f"hf:{repo_id}", settings=hf_settings).record.revision == sha
    assert resolve(f"hf:{repo_id}@{sha[:10]}", settings=hf_settings).record.revision == sha
    assert [p.name for p in pull(f"hf:{repo_id}", settings=hf_settings)] == [p.name for p in paths]
    assert sum(hf_env.hits.values()) == hits  # nothing asked of the hub


def test_the_cli_knows_a_remote_repo_like_an_indexed_card(hf_env):
    repo_id, _ = new_repo(hf_env)
    info = hub("info", f"hf:{repo_id}", "--json")
    assert info.returncode == 0, info.stderr
    doc = json.loads(info.stdout)
    assert doc["record"]["uid"] == repo_id and doc["record"]["revision"] == hf_env.repos[repo_id].sha
    pulled = hub("pull", f"hf-hub:{repo_id}", "--json")  # timm's spelling
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(p.rsplit("/", 1)[1] for p in json.loads(pulled.stdout)["paths"]) == [
        "README.md", "config.json", "model.safetensors"]
    assert hub("verify", f"hf:{repo_id}").returncode == 0


def test_a_repo_without_readme_gets_a_generated_card(hf_env, hf_settings):
    repo_id, _ = new_repo(hf_env, readme=False)
    rec = resolve(f"hf:{repo_id}", settings=hf_settings).record
    assert "no-model-card" in rec.tags and rec.architecture == "convnextv2" and rec.framework == "transformers"
    assert "has no README.md" in rec.body


def test_not_found_no_access_and_gated_are_three_errors(hf_env, hf_settings):
    with pytest.raises(UnknownModelError) as missing:
        resolve("hf:acme/no-such-repo", settings=hf_settings)
    assert hf_env.url in str(missing.value)

    private, _ = new_repo(hf_env, private=True)
    with pytest.raises(RepoAccessError) as denied:
        resolve(f"hf:{private}", settings=hf_settings)
    assert denied.value.reason == "token" and "HF_TOKEN" in str(denied.value)
    hf_settings = hf_settings.but(hf_token=hf_env.token)
    assert resolve(f"hf:{private}", settings=hf_settings).record.uid == private
    assert [p.name for p in pull(f"hf:{private}", fmt="config", settings=hf_settings)] == ["README.md", "config.json"]

    hf_settings = hf_settings.but(hf_token=None)
    gated, files = new_repo(hf_env, gated=True)
    assert resolve(f"hf:{gated}", settings=hf_settings).record.uid == gated  # its card is public, as on the Hub
    with pytest.raises(RepoAccessError) as shut:
        pull(f"hf:{gated}", settings=hf_settings)
    assert shut.value.reason == "gated" and "accepted its conditions" in str(shut.value)
    hf_settings = hf_settings.but(hf_token=hf_env.token)
    with pytest.raises(RepoAccessError):
        pull(f"hf:{gated}", settings=hf_settings)  # a token, but its account has not accepted the conditions
    hf_env.granted.add(gated)
    assert {p.name: p.read_bytes() for p in pull(f"hf:{gated}", settings=hf_settings)} == files


def test_cli_errors_say_which_and_what_next(hf_env, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    gone = hub("info", "hf:acme/no-such-repo")
    assert gone.returncode == 1 and f"at {hf_env.url}" in gone.stderr and "`hub search --hf`" in gone.stderr
    private, _ = new_repo(hf_env, private=True)
    denied = hub("pull", f"hf:{private}")
    assert denied.returncode == 1 and "without valid credentials" in denied.stderr


def test_a_revision_pin_fetches_that_commit(hf_env, hf_settings):
    repo_id, _ = new_repo(hf_env)
    old = {"config.json": b'{"model_type": "convnext"}', "README.md": HF_CARD.format(name=repo_id).encode(),
           "model.safetensors": payload(100_000, seed=41)}
    old_sha = hf_env.add_commit(repo_id, old, ref="v1.0")
    res = resolve(f"hf:{repo_id}@v1.0", settings=hf_settings)
    assert res.record.revision == old_sha and res.record.refs == ["v1.0"] and res.record.architecture == "convnext"
    assert {p.name: p.read_bytes() for p in pull(f"hf:{repo_id}@v1.0", settings=hf_settings)} == old
    new = resolve(f"hf:{repo_id}", settings=hf_settings)  # the default branch is another commit, another card
    assert new.record.revision == hf_env.repos[repo_id].sha != old_sha
    with pytest.raises(DownloadError, match="no revision 'v9'"):
        resolve(f"hf:{repo_id}@v9", settings=hf_settings)
    hf_settings = hf_settings.but(offline=True)
    assert resolve(f"hf:{repo_id}@v1.0", settings=hf_settings).record.revision == old_sha
    assert resolve(f"hf:{repo_id}", settings=hf_settings).record.revision == new.record.revision
    for never in (f"hf:{repo_id}@v9", "hf:acme/never-fetched"):
        with pytest.raises(OfflineError):
            resolve(never, settings=hf_settings)


def test_search_hf_lists_the_hubs_repos(hf_env):
    repo_id, _ = new_repo(hf_env)
    private, _ = new_repo(hf_env, private=True)
    out = hub("search", "--hf", repo_id.split("/")[1], "--json", env_extra={"HF_TOKEN": ""})
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in json.loads(out.stdout)] == [repo_id]
    assert private not in hub("search", "--hf", "convnext-copy").stdout


def test_a_first_pull_asks_little_and_the_card_is_indexed_at_the_next_read(hf_env, hf_settings):
    """A pull needs the repo and its commit only: one API call, then the files; the README it brings is kept
    as the card, and the registry's next read parses and indexes it."""
    repo_id, files = new_repo(hf_env)
    start = len(hf_env.log)
    paths = pull(f"hf:{repo_id}", settings=hf_settings)
    assert {p.name: p.read_bytes() for p in paths} == files
    asked = hf_env.log[start:]
    first_file = next(i for i, (method, path) in enumerate(asked) if method == "GET" and "/resolve/" in path)
    assert first_file == 1, asked  # the listing with every file's address, then the bytes: no HEAD per file
    assert [m for m, _ in asked] == ["GET"] * (1 + len(files)), asked
    assert sorted(p.rsplit("/", 1)[-1] for _, p in asked[1:]) == sorted(files)
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    sha = hf_env.repos[repo_id].sha
    for name, data in files.items():  # where huggingface_hub (and so transformers) looks, offline
        cache_dir = hf_settings.hf_cache  # huggingface_hub reads HF_HOME once, at its import
        assert try_to_load_from_cache(repo_id, name, cache_dir=cache_dir) == str(
            next(p for p in paths if p.name == name)), name
        with open(hf_hub_download(repo_id, name, revision=sha, local_files_only=True, cache_dir=cache_dir), "rb") as f:
            assert f.read() == data
    hf_settings = hf_settings.but(offline=True)
    rec = resolve(f"hf:{repo_id}", settings=hf_settings).record
    assert rec.uid == repo_id and rec.revision == hf_env.repos[repo_id].sha and rec.architecture == "convnextv2"
    assert rec.license == "Apache-2.0" and rec.task == "image-classification"  # from the README, parsed
    assert [p.name for p in pull(f"hf:{repo_id}", settings=hf_settings)] == [p.name for p in paths]


def test_the_cli_pull_asks_as_little(hf_env):
    repo_id, files = new_repo(hf_env)
    start = len(hf_env.log)
    proc = hub("pull", f"hf:{repo_id}", "-q")
    assert proc.returncode == 0, proc.stderr
    asked = hf_env.log[start:]
    assert [p for _, p in asked if "/api/" in p] == [f"/api/models/{repo_id}/revision/main"], asked
    assert len(asked) == 1 + len(files), asked


def test_pull_revision_option_pins_an_unindexed_repo_like_an_at_pin(hf_env, hf_settings):
    repo_id, _ = new_repo(hf_env)
    old = {"config.json": b'{"model_type": "convnext"}', "README.md": HF_CARD.format(name=repo_id).encode(),
           "model.safetensors": payload(50_000, seed=42)}
    old_sha = hf_env.add_commit(repo_id, old, ref="v0.9")
    assert {p.name: p.read_bytes() for p in pull(f"hf:{repo_id}", revision="v0.9", settings=hf_settings)} == old
    hf_settings = hf_settings.but(offline=True)
    rec = resolve(f"hf:{repo_id}@v0.9", settings=hf_settings).record
    assert rec.revision == old_sha and rec.refs == ["v0.9"] and rec.architecture == "convnext"
    assert resolve(f"hf:{repo_id}", settings=hf_settings).record.revision == old_sha  # offline, the one card there is


def test_the_token_goes_to_the_hub_and_never_to_its_cdn(hf_env, hf_settings):
    """A private repo's big file is a redirect to a CDN (another host): the bytes come from there, verified, and
    the user's token stays with the hub."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from servers.hfserver import Remote

    data = payload(150_000, seed=44)
    seen: list[str | None] = []

    class Cdn(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    cdn = ThreadingHTTPServer(("localhost", 0), Cdn)  # another netloc than the hub's 127.0.0.1:port
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    try:
        import hashlib

        repo_id = f"acme/{unique('cdn')}".replace("_", "-")
        hf_env.add(repo_id, {"config.json": b'{"model_type": "convnextv2"}',
                             "model.safetensors": Remote(len(data), hashlib.sha256(data).hexdigest())}, private=True)
        hf_env.cdn[f"{repo_id}/model.safetensors"] = f"http://localhost:{cdn.server_address[1]}/signed/blob"
        hf_settings = hf_settings.but(hf_token=hf_env.token, hosts=("127.0.0.1", "localhost"))
        got = {p.name: p.read_bytes() for p in pull(f"hf:{repo_id}", settings=hf_settings)}
        assert got["model.safetensors"] == data
        assert seen == [None]
    finally:
        cdn.shutdown()
