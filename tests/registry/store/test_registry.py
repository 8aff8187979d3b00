"""The SQLite registry: sync, resolution, queries, migrations, crash safety and concurrent readers."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import CARDS, ROOT, corpus_files

from registry import InvalidCardError, Registry, UnknownModelError, config
from registry.settings import Settings
from registry.store.migrations import MIGRATIONS, applied

CARD = (CARDS / "mindspore" / "2.5" / "convnext_tiny_imagenet2012.md").read_text()
N_BUNDLED = len(list(CARDS.rglob("*.md")))


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "r.db")
    yield r
    r.close()


@pytest.fixture
def ms_reg(reg, corpus):
    reg.add_source(corpus / "mindspore-hub")
    reg.sync()
    return reg


def write_card(folder: Path, name: str, text: str) -> Path:
    p = folder / f"{name}.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


# location --------------------------------------------------------------------------------------

def test_default_location_is_under_hub_home_in_a_checkout_too(tmp_path):
    """The committed registry.db is the bundled catalogue, read only; the user's registry is under HUB_HOME."""
    assert Settings.from_env({"HUB_HOME": str(tmp_path)}).registry == tmp_path / "registry.db"
    assert config.bundled_registry() == ROOT / "registry.db"


def test_default_location_outside_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "checkout_root", lambda: None)
    assert Settings.from_env({"HUB_HOME": str(tmp_path)}).registry == tmp_path / "registry.db"
    assert config.bundled_registry() is None


def test_a_new_user_registry_starts_from_the_committed_one_and_never_writes_it(tmp_path, corpus):
    committed = (ROOT / "registry.db").read_bytes()
    with Registry(settings=Settings(home=tmp_path / "home")) as reg:
        assert reg.path == tmp_path / "home" / "registry.db"
        assert not reg.sync().changed  # the copy is current: nothing to analyze on first use
        assert len(reg.list()) == N_BUNDLED
        reg.add_source(corpus / "mindspore-hub")
        assert len(reg.sync().added) == len(corpus_files("mindspore-hub"))
    assert (ROOT / "registry.db").read_bytes() == committed


def test_env_override_read_at_call_time(tmp_path):
    assert Settings.from_env({"HUB_HOME": str(tmp_path), "HUB_REGISTRY": str(tmp_path / "x.db")}).registry == \
        tmp_path / "x.db"


def test_committed_registry_db_is_in_sync_with_cards(tmp_path):
    """registry.db at the root is built from cards/: editing a card without rebuilding it fails here."""
    copy = tmp_path / "committed.db"
    shutil.copy(ROOT / "registry.db", copy)
    with Registry(copy) as r:
        report = r.sync()
        assert not report.changed, f"{report}: run `HUB_REGISTRY=registry.db hub index --rebuild`"
        assert [s.kind for s in r.sources()] == ["bundled"]
        assert len(r.list()) == N_BUNDLED


# bundled cards, migrations ---------------------------------------------------------------------

def test_bundled_cards_indexed_on_first_use(reg):
    names = sorted(x.name for x in reg.list())
    assert names == ["convnext-base-224-22k-1k-orig-cats-vs-dogs", "convnext_base", "convnext_small",
                     "convnext_tiny", "convnextv2-digits", "convnextv2_digits", "convnextv2_tiny"]
    assert {x.source for x in reg.list()} == {"bundled"}


def test_migrations_named_once(tmp_path):
    path = tmp_path / "m.db"
    Registry(path).close()
    with Registry(path) as r:
        assert applied(r.conn) == [name for name, _ in MIGRATIONS]
    names = [n for n, _ in MIGRATIONS]
    assert names == sorted(names) and len(set(names)) == len(names)


def test_wal_mode(reg):
    assert reg.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# resolution ------------------------------------------------------------------------------------

def test_resolve_by_name_uid_and_hf_ids(reg):
    assert reg.resolve("convnext_small").record.assets[0].filename == "convnext_small-e23008f3.ckpt"
    assert reg.resolve("mindspore/2.5/convnext_base_imagenet2012").record.name == "convnext_base"
    hf = "efederici/convnext-base-224-22k-1k-orig-cats-vs-dogs"
    for spec in (hf, f"hf:{hf}"):
        res = reg.resolve(spec)
        assert res.record.uid == hf and res.record.base_model == "facebook/convnext-base-224-22k-1k"
        assert res.reason is None


def test_ambiguous_name_picks_for_installed_mindspore(ms_reg):
    res = ms_reg.resolve("convnext_tiny", mindspore_version="2.3.1")
    assert res.record.uid == "mindspore/2.3/convnext_tiny_imagenet2012"
    assert len(res.candidates) == 3 and "installed MindSpore 2.3.1" in res.reason
    assert ms_reg.resolve("convnext_tiny", mindspore_version="2.10.0").record.mindspore_version == "2.5"
    res = ms_reg.resolve("convnext_tiny", mindspore_version=None)
    assert res.record.mindspore_version == "2.5" and "not installed" in res.reason
    res = ms_reg.resolve("convnext_tiny", mindspore_version="2.2")
    assert res.record.mindspore_version == "2.5" and "none targets" in res.reason


def test_pin(ms_reg):
    res = ms_reg.resolve("convnext_tiny@2.3")
    assert res.record.uid == "mindspore/2.3/convnext_tiny_imagenet2012" and res.reason is None
    with pytest.raises(UnknownModelError) as e:
        ms_reg.resolve("convnext_tiny@9.9")
    assert e.value.suggestions == ["convnext_tiny@2.3", "convnext_tiny@2.5"]


@pytest.mark.parametrize("typed", ["convnext-tiny", "ConvNeXt_Tiny", "convnxt_tiny", "CONVNEXT-TINY"])
def test_did_you_mean(reg, typed):
    with pytest.raises(UnknownModelError) as e:
        reg.resolve(typed)
    assert e.value.suggestions[0] == "convnext_tiny"
    assert isinstance(e.value, LookupError) and "did you mean 'convnext_tiny'" in str(e.value)


def test_did_you_mean_hf_id(reg):
    with pytest.raises(UnknownModelError) as e:
        reg.resolve("efederici/convnext-base-224-22k-1k-orig-cats-vs-dog")
    assert e.value.suggestions == ["efederici/convnext-base-224-22k-1k-orig-cats-vs-dogs"]


def test_card_with_errors_is_indexed_and_explained(reg, tmp_path):
    src = tmp_path / "src"
    write_card(src, "broken", CARD.replace("asset:", "assets:"))
    reg.add_source(src)
    reg.sync()
    row = reg.cards(relpath="broken.md")[0]
    assert row["status"] == "errors" and row["record"] is None and row["name"] == "convnext_tiny"
    # the bundled convnext_tiny still resolves; the broken card is reported by its own name
    write_card(src, "broken", CARD.replace("asset:", "assets:").replace("model-name: convnext_tiny",
                                                                        "model-name: my_net"))
    reg.sync()
    with pytest.raises(InvalidCardError) as e:
        reg.resolve("my_net")
    assert "required key 'asset' is missing" in str(e.value)
    assert any(d["rule"] == "unknown-key" for d in e.value.diagnostics)


def test_lint_and_index_walk_the_same_cards(reg, tmp_path):
    """One walk for both: the same folders skipped, a README.md at the top left out, an HF repo's
    org/repo/README.md taken as its card (the index used to skip every README.md)."""
    from helpers import HF_CARD

    from registry import lint_paths

    src = tmp_path / "src"
    write_card(src, "m1", CARD.replace("convnext_tiny", "model_one"))
    write_card(src, "README", "# what this folder holds\n")
    write_card(src, "acme/convnext-cats/README", HF_CARD.format(name="convnext-cats"))
    for skipped in (".git", ".venv", "node_modules", "__pycache__"):
        write_card(src, f"{skipped}/x", CARD)
    linted = sorted(Path(r.path).relative_to(src).as_posix() for r in lint_paths([src]))
    reg.add_source(src)
    added = sorted(a.split(":", 1)[1] for a in reg.sync().added if a.startswith(str(src.resolve())))
    assert linted == added == ["acme/convnext-cats/README.md", "m1.md"]
    assert reg.resolve("hf:acme/convnext-cats").record.uid == "acme/convnext-cats"


# sync ------------------------------------------------------------------------------------------

def test_sync_follows_edits_additions_deletions(reg, tmp_path):
    reg.sync()  # the bundled cards
    src = tmp_path / "src"
    card = write_card(src, "a/m1", CARD.replace("convnext_tiny", "model_one"))
    reg.add_source(src)
    assert len(reg.sync().added) == 1
    assert reg.resolve("model_one").record.summary.startswith("ConvNeXt-tiny")

    card.write_text(card.read_text().replace("summary: ConvNeXt-tiny", "summary: Zebrafish-detector"))
    report = reg.sync()
    assert report.updated == [f"{src.resolve()}:a/m1.md"] and not report.added
    assert reg.resolve("model_one").record.summary.startswith("Zebrafish")
    assert [x.name for x in reg.search("zebrafish")] == ["model_one"]

    write_card(src, "b/m2", CARD.replace("convnext_tiny", "model_two"))
    assert len(reg.sync().added) == 1

    card.unlink()
    report = reg.sync()
    assert report.removed == [f"{src.resolve()}:a/m1.md"]
    with pytest.raises(UnknownModelError):
        reg.resolve("model_one")
    assert reg.search("zebrafish") == []
    assert reg.db.execute("SELECT count(*) FROM assets a LEFT JOIN models m ON m.id = a.model_id "
                          "WHERE m.id IS NULL").fetchone()[0] == 0


def test_new_analyzer_reindexes_unchanged_cards(reg, monkeypatch):
    from registry.store import db as store

    reg.sync()
    before = {r["relpath"]: r["indexed_at"] for r in reg.cards()}
    assert not reg.sync().changed
    monkeypatch.setattr(store, "ANALYZER_VERSION", store.ANALYZER_VERSION + 1)
    report = reg.sync()
    assert len(report.updated) == N_BUNDLED
    assert not reg.sync().changed
    assert set(before) == {r["relpath"] for r in reg.cards()}


def test_touch_without_change_is_not_reindexed(reg, tmp_path):
    src = tmp_path / "src"
    card = write_card(src, "m", CARD)
    reg.add_source(src)
    reg.sync()
    before = reg.cards(relpath="m.md")[0]
    os.utime(card, ns=(before["mtime_ns"] + 10**9, before["mtime_ns"] + 10**9))
    report = reg.sync()
    after = reg.cards(relpath="m.md")[0]
    assert not report.changed and after["indexed_at"] == before["indexed_at"]
    assert after["mtime_ns"] == before["mtime_ns"] + 10**9  # the new stat is remembered
    assert reg.sync().unchanged == N_BUNDLED + 1


def test_reads_resync_without_a_manual_step(tmp_path):
    src = tmp_path / "src"
    reg = Registry(tmp_path / "r.db")
    reg.add_source(src.mkdir() or src)
    reg.close()
    write_card(src, "m", CARD.replace("convnext_tiny", "fresh_model"))
    with Registry(tmp_path / "r.db") as again:  # a new process would do the same
        assert [x.name for x in again.list() if x.name == "fresh_model"] == ["fresh_model"]


def test_no_change_check_is_cheap(ms_reg):
    ms_reg.sync()
    start = time.perf_counter()
    report = ms_reg.sync()
    assert not report.changed and report.unchanged == 600 + N_BUNDLED
    # The target is < 100 ms (bench/registry_index.py measures it); this only catches a gross regression.
    assert time.perf_counter() - start < 2.0


# queries ---------------------------------------------------------------------------------------

def test_list_filters(ms_reg):
    convnext = ms_reg.list(backbone="ConvNeXt")
    assert {x.name for x in convnext} == {"convnext", "convnext_tiny", "convnext_small", "convnext_base",
                                          "convnext-base-224-22k-1k-orig-cats-vs-dogs"}
    assert {x.dialect for x in ms_reg.list(source="huggingface")} == {"huggingface"}
    assert {x.source for x in ms_reg.list(source="bundled")} == {"bundled"}
    assert len(ms_reg.list(source=str(CARDS.parent.parent / "shared" / "corpus" / "mindspore-hub"))) >= 560
    assert all("imagenet2012" in [d.lower() for d in x.datasets] for x in ms_reg.list(dataset="imagenet2012"))
    assert {x.framework for x in ms_reg.list(framework="transformers")} == {"transformers"}
    top = ms_reg.list(min_top1=83.35, backbone="convnext")
    assert {x.name for x in top} == {"convnext_small"}  # ImageNet-1k; the cats-vs-dogs 99.73 is not one


def test_search_ranked_and_robust(ms_reg):
    assert ms_reg.search("convnext tiny")[0].name == "convnext_tiny"
    assert ms_reg.search("convnext-tiny")[0].name == "convnext_tiny"
    for weird in ['a"b', "AND", "OR NOT", "*", "convnext*", "NEAR(x y)", "-tiny", "c++", "'", "(", "^x"]:
        ms_reg.search(weird)  # never an FTS syntax error
    from registry.errors import UsageError

    with pytest.raises(UsageError):
        ms_reg.search('"')


def test_search_ranks_the_exact_name_then_name_prefixes(ms_reg):
    """`resnet50` used to come fifth, behind resnet50_bam; `convnext tiny` put convnextv2_tiny first."""
    names = [x.name for x in ms_reg.search("resnet50", limit=50)]
    exact = names.count("resnet50")
    assert exact >= 1 and names[:exact] == ["resnet50"] * exact
    prefixed = [n for n in names if n.lower().startswith("resnet50") and n != "resnet50"]
    assert prefixed and names[exact:exact + len(prefixed)] == prefixed
    tiny = [x.name for x in ms_reg.search("convnext tiny", limit=50)]
    assert set(tiny[: tiny.count("convnext_tiny")]) == {"convnext_tiny"} and "convnextv2_tiny" in tiny
    assert [x.name for x in ms_reg.search("RESNET50")][:exact] == ["resnet50"] * exact


def test_search_says_why_a_result_matched_when_not_by_its_name(ms_reg):
    from registry.store.fulltext import MARK_END, MARK_START

    found = {x.name: x.matched for x in ms_reg.search("convnext", limit=50)}
    assert found["convnext_tiny"] is None and found["convnext"] is None  # by the name, or its start
    why = found["yolov7_tiny"]  # a detector whose card compares itself with ConvNeXt-XL
    assert why.startswith("card: ") and f"{MARK_START}ConvNeXt{MARK_END}-XL" in why
    assert {x.name: x.matched for x in ms_reg.search("tiny", limit=200)}["convnextv2_tiny"] == "name"
    from registry.store.fulltext import tier

    hits = ms_reg.search("convnext", limit=50)  # the tier each result was ranked in, and the same rule by name
    assert [h.tier for h in hits] == sorted(h.tier for h in hits) and hits[0].tier == 0
    assert all(h.tier == tier(h.name, "convnext") for h in hits)
    assert (tier("ConvNeXt-Tiny", "convnext_tiny"), tier("convnext_tiny", "convnext"), tier("yolo", "convnext")) == (
        0, 1, 2)


def test_the_note_tells_every_candidate_apart(ms_reg, corpus):
    """The bundled convnext_tiny and the corpus's have one uid: the note says where each comes from."""
    res = ms_reg.resolve("convnext_tiny", mindspore_version="2.3.1")
    assert "mindspore/2.5/convnext_tiny_imagenet2012 (bundled, MindSpore 2.5)" in res.reason
    assert "mindspore/2.5/convnext_tiny_imagenet2012 (indexed from mindspore-hub/, MindSpore 2.5)" in res.reason


def test_hf_duplicates_are_not_chosen_by_mindspore(reg, tmp_path):
    from helpers import HF_CARD

    for folder in ("one", "two"):
        write_card(tmp_path / folder, "acme__twin", HF_CARD.format(name="twin"))
        reg.add_source(tmp_path / folder)
    res = reg.resolve("hf:acme/twin", mindspore_version="2.5")
    assert len(res.candidates) == 2 and "MindSpore" not in res.reason and "chose the newest" in res.reason


def test_info_record_has_card_path_on_disk(reg):
    rec = reg.resolve("convnext_tiny").record
    assert Path(rec.card_path).is_file() and rec.body.startswith("\n# convnext_tiny")


# crash safety and concurrency ------------------------------------------------------------------

INDEXER = textwrap.dedent("""
    import sys
    from registry import Registry
    reg = Registry(sys.argv[1])
    for src in sys.argv[2:]:
        reg.add_source(src)
    print("indexing", flush=True)
    reg.sync(force=True)
    print("done", flush=True)
""")


def _consistent(db_path: Path) -> tuple[int, int]:
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cards, models = con.execute("SELECT (SELECT count(*) FROM cards), (SELECT count(*) FROM models)").fetchone()
        with_record = con.execute("SELECT count(*) FROM cards WHERE record IS NOT NULL").fetchone()[0]
        assert with_record == models
        orphans = con.execute("SELECT count(*) FROM assets WHERE model_id NOT IN (SELECT id FROM models)").fetchone()
        assert orphans[0] == 0
        fts = con.execute("SELECT count(*) FROM models_fts").fetchone()[0]
        assert fts == models
        return cards, models
    finally:
        con.close()


FULL = N_BUNDLED + 600 + 2587


def _baseline(db: Path) -> tuple[int, int]:
    """A registry with only the bundled cards, checked consistent."""
    with Registry(db) as r:
        r.sync()
    return _consistent(db)


def _start_indexer(db: Path, corpus: Path) -> subprocess.Popen:
    """Another process re-indexing the whole corpus into ``db``, in one transaction."""
    return subprocess.Popen([sys.executable, "-c", INDEXER, str(db), str(corpus / "mindspore-hub"),
                             str(corpus / "huggingface")], stdout=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.mark.slow
def test_killed_indexer_leaves_previous_state(corpus, tmp_path):
    db = tmp_path / "crash.db"
    baseline = _baseline(db)
    full = FULL
    outcomes = []
    wal = Path(f"{db}-wal")
    for attempt in range(6):
        proc = _start_indexer(db, corpus)
        assert proc.stdout.readline().strip() == "indexing"
        if attempt % 2 == 0:
            # Kill inside the write transaction: wait until the WAL starts growing.
            start_size = wal.stat().st_size if wal.exists() else 0
            deadline = time.monotonic() + 30
            while (not wal.exists() or wal.stat().st_size <= start_size + 65536) and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.002)
        else:
            time.sleep(0.05 * attempt)  # kill while cards are still being analyzed
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cards, models = _consistent(db)
        assert cards in (baseline[0], full), (cards, baseline, full)
        outcomes.append(cards)
        if cards == full:  # the kill came after the commit: start the next attempt from the baseline again
            for p in db.parent.glob(db.name + "*"):
                p.unlink()
            assert _baseline(db) == baseline
    assert baseline[0] in outcomes  # at least one kill really interrupted an index
    with Registry(db) as r:  # and the next run completes
        r.sync()
    assert _consistent(db)[0] == full


@pytest.mark.slow
def test_readers_never_see_half_an_index(corpus, tmp_path):
    db = tmp_path / "read.db"
    before = _baseline(db)
    full = FULL
    proc = _start_indexer(db, corpus)
    seen = set()
    reads = 0
    try:
        while proc.poll() is None:
            con = sqlite3.connect(db, timeout=1, isolation_level=None)
            try:
                with con:  # one read transaction: the three counts come from one snapshot
                    con.execute("BEGIN")
                    cards = con.execute("SELECT count(*) FROM cards").fetchone()[0]
                    models = con.execute("SELECT count(*) FROM models").fetchone()[0]
                    ok = con.execute("SELECT count(*) FROM cards WHERE record IS NOT NULL").fetchone()[0]
            finally:
                con.close()
            assert cards in (before[0], full) and models == ok, (cards, models, ok)
            seen.add(cards)
            reads += 1
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert reads > 10 and before[0] in seen
    assert _consistent(db)[0] == full


# CLI -------------------------------------------------------------------------------------------

def hub(*args):
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_list_search_info_index(corpus, tmp_path):
    proc = hub("index", str(corpus / "mindspore-hub"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["added"]) == 600  # the bundled cards came indexed, with the committed registry.db
    assert json.loads(hub("index", "--json").stdout)["unchanged"] == 600 + N_BUNDLED

    rows = json.loads(hub("list", "--backbone", "convnext", "--min-top1", "83", "--json").stdout)
    # ImageNet-1k top-1 only: the cats-vs-dogs repo's 99.73 is a two-class accuracy
    assert {r["name"] for r in rows} == {"convnext_small", "convnext_base"}
    assert {r["top1_benchmark"] for r in rows} == {"imagenet-1k"}
    rows = json.loads(hub("list", "--dataset", "cats_vs_dogs", "--min-top1", "99", "--json").stdout)
    assert [r["name"] for r in rows] == ["convnext-base-224-22k-1k-orig-cats-vs-dogs"]

    found = json.loads(hub("search", "convnext", "tiny", "--json").stdout)
    assert found[0]["name"] == "convnext_tiny"

    info = hub("info", "convnext_tiny", "--json")
    data = json.loads(info.stdout)
    assert data["record"]["uid"] == "mindspore/2.5/convnext_tiny_imagenet2012"
    assert data["assets"][0]["sha256"] == "db11dc82" and data["assets"][0]["cached"] is False
    assert data["lint"]["status"] == "warnings" and len(data["candidates"]) == 3

    text = hub("info", "convnext_tiny@2.3")
    assert text.returncode == 0 and "convnext_tiny-db11dc82-910v2.ckpt" in text.stdout and "top1acc" in text.stdout

    table = hub("list", "--backbone", "convnext")
    assert table.returncode == 0 and "convnext_small" in table.stdout

    missing = hub("info", "convnext-tiny")
    assert missing.returncode == 1 and "did you mean 'convnext_tiny'" in missing.stderr

    broken = hub("info", "AnimateDiff")
    assert broken.returncode == 1 and "[required-key-missing]" in broken.stdout

    assert "up to date" in hub("index").stdout


def test_info_shows_cached_asset(settings):
    from hub_client.fetch.cache import Cache

    with Registry(settings=settings) as r:
        rec = r.resolve("convnext_small").record
    path = Cache(settings.home).asset_path(rec, rec.assets[0])
    assert path.is_relative_to(os.environ["HUB_HOME"])  # where the CLI, an edge, looks
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    data = json.loads(hub("info", "convnext_small", "--json").stdout)
    assert data["assets"][0]["cached"] is True and data["assets"][0]["cache_path"] == str(path)


def test_a_source_can_be_removed_and_a_missing_one_is_reported(tmp_path):
    src = tmp_path / "src"
    write_card(src, "a/m1", CARD.replace("convnext_tiny", "model_one"))
    env = {**os.environ, "HUB_REGISTRY": str(tmp_path / "r.db")}

    def index(*args):
        proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "index", *args], capture_output=True,
                              text=True, cwd=ROOT, env=env)
        return proc

    assert len(json.loads(index(str(src), "--json").stdout)["added"]) == 1
    moved = tmp_path / "moved"
    src.rename(moved)
    proc = index()
    assert proc.returncode == 0 and f"source {src} is missing" in proc.stdout and f"--remove {src}" in proc.stdout
    assert json.loads(index("--json").stdout)["missing"] == [str(src)]
    with Registry(tmp_path / "r.db") as reg:
        assert reg.resolve("model_one").record.name == "model_one"  # kept while the folder is away
    report = json.loads(index("--remove", str(src), "--json").stdout)
    assert report["removed"] == [f"{src}:a/m1.md"] and report["missing"] == []
    with Registry(tmp_path / "r.db") as reg:
        with pytest.raises(UnknownModelError):
            reg.resolve("model_one")
        assert [s.kind for s in reg.sources()] == ["bundled"]
    bad = index("--remove", str(moved))
    assert bad.returncode == 2 and "is not a source" in bad.stderr
