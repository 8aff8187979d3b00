"""`hub update`: the MindSpore Hub catalogue from an archive laid out like upstream's repository, built at test
time from the shared corpus and served by nginx; hostile and truncated archives, and kill -9 mid-update."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from helpers import MS_CARD, ROOT, corpus_files

from hub_client.fetch import catalog
from registry import Registry
from registry.config import CATALOG
from registry.errors import ArchiveError, UnknownModelError

EXTRA = MS_CARD.format(name="killtest_model", sha="12345678",
                       link="https://download-mindspore.osinfra.cn/toolkits/mindcv/x/x-12345678-910v2.ckpt")


def cards(corpus: Path, extra: bool = False) -> dict[str, bytes]:
    base = corpus / "mindspore-hub"
    found = {p.relative_to(base).as_posix(): p.read_bytes() for p in corpus_files("mindspore-hub")}
    if extra:
        found["mindspore/2.5/killtest_model.md"] = EXTRA.encode()
    return found


def repo_layout(files: dict[str, bytes]) -> dict[str, bytes]:
    """As upstream's repository archive: a top folder, the cards under mshub_res/assets, other files around."""
    out = {"hub-master/README.md": b"# MindSpore Hub\n", "hub-master/mshub_res/tools/check.py": b"print(1)\n"}
    out.update({f"hub-master/mshub_res/assets/{rel}": data for rel, data in files.items()})
    return out


def tar_gz(members: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def serve(nginx, name: str, data: bytes) -> str:
    path = nginx.root / "catalog" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{nginx.url}/catalog/{name}"


def catalog_state(settings) -> tuple[dict | None, int]:
    with Registry(settings=settings) as reg:
        about = reg.catalog()
        n = reg.conn.execute("SELECT count(*) FROM cards c JOIN sources s ON s.id = c.source_id WHERE s.kind = ?",
                             [CATALOG]).fetchone()[0]
    return about, n


def test_update_from_a_repository_archive_indexes_every_card(nginx, net, corpus):
    files = cards(corpus)
    url = serve(nginx, "hub-master.tar.gz", tar_gz(repo_layout(files)))
    done = catalog.update(url, settings=net)
    assert done.cards == len(files) == 600 and len(done.report.added) == 600
    about, n = catalog_state(net)
    assert about["url"] == url and about["sha256"] == done.sha256 and about["cards"] == 600 and n == 600
    with Registry(settings=net) as reg:
        res = reg.resolve("mindspore/2.5/convnext_tiny_imagenet2012")
        assert res.record.name == "convnext_tiny" and res.candidate.source_kind == CATALOG
        assert reg.resolve("noah-cvlab/ascend/1.1/ipt_v1.0_Set14_SR_x2").record is not None
        with pytest.raises(UnknownModelError) as e:
            reg.resolve("resnet_50")
        assert "resnet50" in e.value.suggestions
    assert not list(Path(done.folder.parent).glob(".staging-*")) and not (done.folder / "raw").exists()
    listed = subprocess.run([sys.executable, "-m", "hub_client.cli", "list", "--backbone", "resnet"],
                            capture_output=True, text=True, cwd=ROOT)
    assert f"600 card(s) from {url}" in listed.stderr and "today" in listed.stderr
    info = json.loads(subprocess.run([sys.executable, "-m", "hub_client.cli", "info", "resnet50", "--json"],
                                     capture_output=True, text=True, cwd=ROOT).stdout)
    assert info["catalog"]["url"] == url


def test_zip_and_bare_trees_give_the_same_catalogue(nginx, net, corpus):
    files = cards(corpus)
    uids = []
    for name, data in (("hub.zip", zip_bytes(repo_layout(files))), ("assets.tar.gz", tar_gz(files)),
                       ("assets-dir.zip", zip_bytes({f"assets/{k}": v for k, v in files.items()}))):
        done = catalog.update(serve(nginx, name, data), settings=net)
        assert done.cards == 600, name
        with Registry(settings=net) as reg:
            uids.append(sorted(r[0] for r in reg.conn.execute(
                "SELECT m.uid FROM models m JOIN cards c ON c.id = m.id JOIN sources s ON s.id = c.source_id "
                "WHERE s.kind = ?", [CATALOG])))
    assert uids[0] == uids[1] == uids[2] and "mindspore/2.5/convnext_tiny_imagenet2012" in uids[0]


def test_a_second_update_brings_changes_and_drops_the_old_folder(nginx, net, corpus):
    files = cards(corpus)
    first = catalog.update(serve(nginx, "a.tar.gz", tar_gz(repo_layout(files))), settings=net)
    changed = dict(files)
    changed.pop("mindspore/2.5/convnext_tiny_imagenet2012.md")
    changed["mindspore/2.5/killtest_model.md"] = EXTRA.encode()
    second = catalog.update(serve(nginx, "b.tar.gz", tar_gz(repo_layout(changed))), settings=net)
    assert second.report.added == [f"{CATALOG}:mindspore/2.5/killtest_model.md"]
    assert second.report.removed == [f"{CATALOG}:mindspore/2.5/convnext_tiny_imagenet2012.md"]
    assert not first.folder.exists() and second.folder.exists()
    with Registry(settings=net) as reg:
        assert reg.resolve("killtest_model").record.metric("top1") == 81.28


def _link(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


HOSTILE = {
    "traversal": lambda ok: tar_gz({**ok, "hub-master/../../evil.md": b"# x\n"}),
    "absolute": lambda ok: tar_gz({**ok, "/tmp/evil.md": b"# x\n"}),
    "symlink": lambda ok: tar_gz(ok, [_link("hub-master/mshub_res/assets/l.md", tarfile.SYMTYPE, "/etc/passwd")]),
    "hardlink": lambda ok: tar_gz(ok, [_link("hub-master/mshub_res/assets/h.md", tarfile.LNKTYPE, "/etc/passwd")]),
    "device": lambda ok: tar_gz(ok, [_link("hub-master/dev.md", tarfile.CHRTYPE, "")]),
    "zip traversal": lambda ok: zip_bytes({**ok, "../evil.md": b"# x\n"}),
    "a card bigger than any card": lambda ok: zip_bytes({**ok, "hub-master/mshub_res/assets/big.md":
                                                         b"a" * (5 << 20)}),
    "truncated": lambda ok: tar_gz(ok)[: len(tar_gz(ok)) // 2],
    "not an archive": lambda ok: b"<html>not found</html>",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_and_broken_archives_are_refused_with_nothing_changed(nginx, net, corpus, kind, tmp_path):
    ok = repo_layout(dict(list(cards(corpus).items())[:20]))
    first = catalog.update(serve(nginx, "good.tar.gz", tar_gz(ok)), settings=net)
    before = catalog_state(net)
    with pytest.raises(ArchiveError) as e:
        catalog.update(serve(nginx, f"bad-{kind.replace(' ', '-')}.tar.gz", HOSTILE[kind](ok)), settings=net)
    assert "nothing was changed" in str(e.value)
    assert catalog_state(net) == before and first.folder.exists()
    assert sorted(p.name for p in first.folder.parent.iterdir() if not p.name.startswith(".")) == [first.folder.name]
    assert not (tmp_path / "evil.md").exists() and not Path("/tmp/evil.md").exists()


def test_too_many_members_and_too_many_bytes(nginx, net, corpus, monkeypatch):
    ok = repo_layout(dict(list(cards(corpus).items())[:20]))
    url = serve(nginx, "twenty.tar.gz", tar_gz(ok))
    monkeypatch.setattr(catalog, "MAX_MEMBERS", 10)
    with pytest.raises(ArchiveError, match="more than 10 members"):
        catalog.update(url, settings=net)
    monkeypatch.setattr(catalog, "MAX_MEMBERS", 1000)
    monkeypatch.setattr(catalog, "MAX_CARDS_BYTES", 10_000)
    with pytest.raises(ArchiveError, match="exceed 10000 bytes"):
        catalog.update(url, settings=net)
    assert catalog_state(net) == (None, 0)


@pytest.mark.slow
def test_kill_9_during_update_leaves_the_previous_catalogue(nginx, net, corpus, tmp_path):
    old = catalog.update(serve(nginx, "old.tar.gz", tar_gz(repo_layout(cards(corpus)))), settings=net)
    new_url = serve(nginx, "new.tar.gz", tar_gz(repo_layout(cards(corpus, extra=True))))
    for delay in (0.4, 0.7, 1.0, 1.3, 1.6, 2.0):
        proc = subprocess.Popen([sys.executable, "-m", "hub_client.cli", "update", "--from", new_url, "-q"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        about, n = catalog_state(net)
        with Registry(settings=net) as reg:
            try:
                reg.resolve("killtest_model")
                has_new = True
            except UnknownModelError:
                has_new = False
        assert about["sha256"] in (old.sha256, catalog.hashlib.sha256((nginx.root / "catalog/new.tar.gz")
                                                                       .read_bytes()).hexdigest())
        assert has_new == (about["sha256"] != old.sha256) and n == about["cards"]
        if has_new:
            break
    done = catalog.update(new_url, settings=net)
    assert done.cards == 601 and catalog_state(net)[1] == 601


def test_mirrors_come_first_and_the_origin_is_not_needed(nginx, net, corpus):
    """HUB_MIRRORS applies to the catalogue as to assets: the archive's path on the mirror, then the origin."""
    files = dict(list(cards(corpus).items())[:30])
    serve(nginx, "mirrored/hub-master.tar.gz", tar_gz(repo_layout(files)))
    net = net.but(mirrors=(f"{nginx.url}/catalog",), catalog_url="https://catalog.invalid/mirrored/hub-master.tar.gz")
    done = catalog.update(settings=net)
    assert done.cards == 30 and done.url == "https://catalog.invalid/mirrored/hub-master.tar.gz"
    assert [r[:2] for r in nginx.requests_for("/catalog/mirrored/hub-master.tar.gz")] == [("GET", 200)]
    net = net.but(offline=True)
    from registry.errors import OfflineError

    with pytest.raises(OfflineError):
        catalog.update(settings=net)
