"""Hugging Face repos through huggingface_hub against the HF-compatible server on loopback."""

import json

import pytest
from helpers import HF_CARD, index, payload, unique

from hub_client import pull
from registry.errors import DownloadError, IntegrityError, OfflineError, UnknownModelError
from registry.settings import Settings


def make_repo(server, cards, settings, *, with_bin=True):
    repo_id = f"tests-org/{unique('tiny')}".replace("_", "-")
    files = {
        "config.json": json.dumps({"model_type": "convnext", "num_labels": 2}).encode(),
        "preprocessor_config.json": json.dumps({"crop_pct": 0.875}).encode(),
        "model.safetensors": payload(300_000, seed=30),
        "README.md": HF_CARD.format(name=repo_id).encode(),
    }
    if with_bin:
        files["pytorch_model.bin"] = payload(200_000, seed=31)
    repo = server.add(repo_id, files)
    (cards / f"{repo_id.replace('/', '__')}.md").write_text(HF_CARD.format(name=repo_id))
    index(cards, settings)
    return repo_id, repo, files


def test_pull_lands_in_the_hf_cache_verified(hf_env, cards, hf_settings):
    repo_id, repo, files = make_repo(hf_env, cards, hf_settings)
    paths = pull(f"hf:{repo_id}", settings=hf_settings)
    names = sorted(p.name for p in paths)
    assert names == ["README.md", "config.json", "model.safetensors", "preprocessor_config.json"]
    for p in paths:
        assert p.read_bytes() == files[p.name]
    snap = hf_settings.hf_cache / f"models--{repo_id.replace('/', '--')}"
    assert (snap / "refs" / "main").read_text() == repo.sha
    assert all(str(p).startswith(str(snap / "snapshots" / repo.sha)) for p in paths)


def test_format_bin_and_missing_format(hf_env, cards, hf_settings):
    repo_id, _, files = make_repo(hf_env, cards, hf_settings)
    assert "pytorch_model.bin" in {p.name for p in pull(repo_id, fmt="bin", settings=hf_settings)}
    with pytest.raises(DownloadError) as e:
        pull(repo_id, fmt="onnx", settings=hf_settings)
    assert "no onnx weights" in str(e.value)


def test_corrupted_lfs_file_is_caught_and_removed(hf_env, cards, hf_settings):
    repo_id, _, files = make_repo(hf_env, cards, hf_settings, with_bin=False)
    hf_env.corrupt.add(f"{repo_id}/model.safetensors")
    with pytest.raises(IntegrityError) as e:
        pull(repo_id, settings=hf_settings)
    assert "model.safetensors" in e.value.url
    blobs = hf_settings.hf_cache / f"models--{repo_id.replace('/', '--')}" / "blobs"
    assert not any(b.stat().st_size == len(files["model.safetensors"]) for b in blobs.iterdir())


def test_offline_hit_makes_no_request_and_miss_is_clear(hf_env, cards, hf_settings):
    repo_id, _, _ = make_repo(hf_env, cards, hf_settings)
    other, _, _ = make_repo(hf_env, cards, hf_settings)
    first = pull(repo_id, settings=hf_settings)
    hits = sum(hf_env.hits.values())
    hf_settings = hf_settings.but(offline=True)
    assert sorted(pull(repo_id, settings=hf_settings)) == sorted(first)
    assert sum(hf_env.hits.values()) == hits
    with pytest.raises(OfflineError):
        pull(other, settings=hf_settings)


def test_revision_pin_and_unknown_revision(hf_env, cards, hf_settings):
    repo_id, repo, _ = make_repo(hf_env, cards, hf_settings)
    assert pull(repo_id, revision=repo.sha, settings=hf_settings)
    with pytest.raises(DownloadError) as e:
        pull(repo_id, revision="v9", settings=hf_settings)
    assert "no revision 'v9'" in str(e.value)


def test_repo_missing_on_the_hub(hf_env, cards, hf_settings):
    name = "tests-org/ghost-model"
    (cards / "tests-org__ghost-model.md").write_text(HF_CARD.format(name=name))
    index(cards)
    with pytest.raises(UnknownModelError):
        pull(name, settings=hf_settings)


def test_hf_token_is_what_huggingface_hub_would_send(monkeypatch, tmp_path):
    """The fast path answers only where the answer is plain (HF_TOKEN or nothing); a login file, OIDC or Colab
    are huggingface_hub's to read."""
    import huggingface_hub

    home = {"HF_HOME": str(tmp_path / "hf")}
    assert Settings.from_env(home).hf_cache == tmp_path / "hf" / "hub"  # where huggingface_hub looks too
    assert Settings.from_env({**home, "HF_HUB_CACHE": str(tmp_path / "c")}).hf_cache == tmp_path / "c"
    assert Settings.from_env(home).hf_token is None
    assert Settings.from_env({**home, "HUGGING_FACE_HUB_TOKEN": " hf_old\n"}).hf_token == "hf_old"
    assert Settings.from_env({**home, "HUGGING_FACE_HUB_TOKEN": "hf_old", "HF_TOKEN": "hf_env"}).hf_token == "hf_env"
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "asked huggingface_hub")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("hf_login")
    # a login exists: OAuth refresh and precedence are its rules
    assert Settings.from_env(home).hf_token == "asked huggingface_hub"
    (tmp_path / "hf" / "token").unlink()
    assert Settings.from_env({**home, "HF_OIDC_RESOURCE": "models/acme/x"}).hf_token == "asked huggingface_hub"
