"""A repo's files as ``snapshot_download`` takes them: from a server that answers only the revision API (names
alone) and ``/resolve/``, every file comes, verified; a pull never ends with fewer files than its listing names,
online or offline."""

import json
import os
import subprocess
import sys

import pytest
from helpers import HF_CARD, ROOT, payload, unique

from hub_client import pull
from registry.errors import DownloadError, IntegrityError, OfflineError

pytestmark = pytest.mark.usefixtures("net")


@pytest.fixture(scope="module", params=["tree", "no-tree"])
def minimal_server(request):
    """Names-only listings, with the tree API snapshot_download asks (one page), or without any (HEADs only)."""
    from servers.hfserver import HfServer

    server = HfServer(minimal=True, tree=request.param == "tree").start()
    yield server
    server.stop()


@pytest.fixture
def minimal(minimal_server, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", minimal_server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return minimal_server


@pytest.fixture
def minimal_settings(minimal, net):
    """The test's settings with the names-only server as the Hugging Face endpoint."""
    return net.but(hf_endpoint=minimal.url)


def _repo(server, **extra):
    repo_id = f"plain-org/{unique('bare')}".replace("_", "-")
    files = {"config.json": json.dumps({"model_type": "convnext"}).encode(),
             "model.safetensors": payload(200_000, seed=41), "README.md": HF_CARD.format(name=repo_id).encode(),
             **extra}
    server.add(repo_id, files)
    return repo_id, files


def hub(*args, env: dict[str, str] | None = None):
    """The CLI as its own process, in the test's environment plus ``env``: the edge reads the variables."""
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_the_server_answers_only_what_snapshot_download_uses(minimal):
    """The anchor: huggingface_hub's own snapshot_download gets the repo from this server, so a pull that gets
    less is the client's fault, not the server's."""
    from huggingface_hub import snapshot_download

    repo_id, files = _repo(minimal)
    if not minimal.tree:  # this huggingface_hub asks the tree API; hub pull does without it (the tests below)
        with pytest.raises(Exception, match="404"):
            snapshot_download(repo_id, endpoint=minimal.url, cache_dir=os.environ["HF_HOME"] + "/anchor")
        return
    got = snapshot_download(repo_id, endpoint=minimal.url, cache_dir=os.environ["HF_HOME"] + "/anchor")
    assert sorted(os.listdir(got)) == sorted(files)
    listing = json.loads(__import__("urllib.request").request.urlopen(
        f"{minimal.url}/api/models/{repo_id}/revision/main?blobs=true").read())
    assert all(set(s) == {"rfilename"} for s in listing["siblings"])  # names alone: no address, no size
    with pytest.raises(Exception, match="404"):
        __import__("urllib.request").request.urlopen(f"{minimal.url}/api/models/{repo_id}/paths-info/main")


def test_pull_from_a_names_only_listing_gets_every_file_verified(minimal, minimal_settings):
    repo_id, files = _repo(minimal)
    paths = pull(f"hf:{repo_id}", settings=minimal_settings)
    assert sorted(p.name for p in paths) == sorted(files)
    for p in paths:
        assert p.read_bytes() == files[p.name]
    blobs = minimal_settings.hf_cache / f"models--{repo_id.replace('/', '--')}" / "blobs"
    import hashlib

    assert hashlib.sha256(files["model.safetensors"]).hexdigest() in {b.name for b in blobs.iterdir()}
    heads = [p for m, p in minimal.log if m == "HEAD" and repo_id in p]
    # the tree gives every address in one request; without it, one HEAD per file, as hf_hub_download asks
    assert len(heads) == (0 if minimal.tree else len(files))


def test_a_file_that_does_not_hash_to_its_etag_is_refused(minimal, minimal_settings):
    repo_id, _ = _repo(minimal)
    minimal.corrupt.add(f"{repo_id}/model.safetensors")
    with pytest.raises(IntegrityError):
        pull(f"hf:{repo_id}", settings=minimal_settings)


def test_cli_pull_exits_0_with_every_path(minimal):
    repo_id, files = _repo(minimal)
    done = hub("pull", f"hf:{repo_id}", "--json")
    assert done.returncode == 0, done.stderr
    paths = json.loads(done.stdout)["paths"]
    assert sorted(os.path.basename(p) for p in paths) == sorted(files)
    assert all(os.path.isfile(p) for p in paths)


def test_a_repo_without_weights_is_an_error_not_an_empty_pull(minimal):
    repo_id = f"plain-org/{unique('noweights')}".replace("_", "-")
    minimal.add(repo_id, {"config.json": b"{}", "README.md": b"# x\n"})
    done = hub("pull", f"hf:{repo_id}")
    assert done.returncode == 1
    assert "lists no weights file" in done.stderr and "--format config" in done.stderr
    config_only = hub("pull", f"hf:{repo_id}", "--format", "config", "--json")
    assert config_only.returncode == 0, config_only.stderr


def test_a_listed_file_the_server_cannot_give_fails_the_pull(minimal, minimal_settings):
    """A listed file whose /resolve/ answer is an error fails the pull with that file named: never a repo with a
    file fewer."""
    from servers.hfserver import Remote

    repo_id, _ = _repo(minimal, **{"extra.safetensors": Remote(10, "ab" * 32)})  # listed, but 404 on /resolve/
    with pytest.raises(DownloadError) as e:
        pull(f"hf:{repo_id}", settings=minimal_settings)
    assert "extra.safetensors" in str(e.value) and "404" in str(e.value)
    done = hub("pull", f"hf:{repo_id}")
    assert done.returncode == 1 and "extra.safetensors" in done.stderr


def test_offline_pull_of_a_snapshot_that_lost_its_weights_fails_naming_them(minimal, minimal_settings):
    repo_id, _ = _repo(minimal)
    first = pull(f"hf:{repo_id}", settings=minimal_settings)
    weights = next(p for p in first if p.name == "model.safetensors")
    os.unlink(os.path.realpath(weights))  # the blob is gone; the snapshot's link dangles
    minimal_settings = minimal_settings.but(offline=True)
    with pytest.raises(OfflineError) as e:
        pull(f"hf:{repo_id}", settings=minimal_settings)
    assert "model.safetensors" in str(e.value)
    weights.unlink()  # the link gone too: the listing kept at pull time still names it
    with pytest.raises(OfflineError) as e:
        pull(f"hf:{repo_id}", settings=minimal_settings)
    assert "model.safetensors" in str(e.value)
    done = hub("pull", f"hf:{repo_id}", env={"HUB_OFFLINE": "1"})
    assert done.returncode == 1 and "model.safetensors" in done.stderr


def test_hub_serve_in_front_of_a_names_only_server_serves_the_weights(minimal, minimal_settings, tmp_path):
    """The mirror's pull-through takes the listing as the client does: the repo comes whole through it."""
    pytest.importorskip("starlette")
    from servers.asgi import AsgiServer

    from hub_server import LocalStorage, Mirror, create_app

    repo_id, files = _repo(minimal)
    mirror = Mirror(LocalStorage(tmp_path / "storage"), upstream=minimal.url)
    server = AsgiServer(create_app(mirror)).start()
    try:
        paths = pull(f"hf:{repo_id}", settings=minimal_settings.but(hf_endpoint=server.url))
    finally:
        server.stop()
    assert sorted(p.name for p in paths) == sorted(files)
    assert next(p for p in paths if p.name == "model.safetensors").read_bytes() == files["model.safetensors"]


def test_a_cached_file_the_disk_changed_is_named_damaged_not_blamed_on_a_server(minimal, minimal_settings):
    from registry.errors import DamagedFileError

    repo_id, files = _repo(minimal)
    weights = next(p for p in pull(f"hf:{repo_id}", settings=minimal_settings) if p.name == "model.safetensors")
    blob = os.path.realpath(weights)
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.write(b"\x00\x01")
    minimal_settings = minimal_settings.but(offline=True)
    with pytest.raises(DamagedFileError) as e:
        pull(f"hf:{repo_id}", settings=minimal_settings)
    assert "damaged" in str(e.value) and "server" not in str(e.value)
