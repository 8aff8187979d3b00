"""hub lint on every real card of the shared corpus, golden diagnostics for chosen ones, and a fuzz slice."""

import json
from pathlib import Path

import helpers
import pytest
from helpers import CORPUS, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import analyze_file, analyze_text, lint_paths
from registry.card.diagnostics import RULES

GOLDEN = json.loads((helpers.GOLDEN / "corpus_golden.json").read_text(encoding="utf-8"))


def test_every_corpus_card_gets_a_result(corpus):
    files = corpus_files()
    assert len(files) == 600 + 2587
    results = lint_paths([corpus], exclude=["README.md"])
    assert [Path(r.path) for r in results] == files
    for r in results:
        assert r.record is not None or r.errors > 0, f"{r.path}: no record and no error saying why"
        for d in r.diagnostics:
            assert d.rule in RULES and d.line >= 1 and d.col >= 1 and d.message


def test_mindspore_corpus_records(corpus):
    recs = [r.record for r in lint_paths([corpus / "mindspore-hub"]) if r.record]
    assert len(recs) >= 560
    prefixes = [a for r in recs for a in r.assets if a.sha256_kind == "prefix"]
    assert len(prefixes) == 118  # the 8- and 9-hex cards; the "116" counts only the 8-hex ones
    assert {len(a.sha256) for a in prefixes} == {8, 9}
    assert all(a.name_hash is None or a.sha256.startswith(a.name_hash) or a.name_hash.startswith(a.sha256)
               for a in prefixes)
    by_uid = {r.uid: r for r in recs}
    assert by_uid["mindspore/1.10/convnext_imagenet2012"].mindspore_version == "1.10"
    assert by_uid["mindspore/2.3/convnext_tiny_imagenet2012"].metric("top1") == 81.28


@pytest.mark.parametrize("rel", sorted(GOLDEN), ids=lambda r: r.split("/")[-1])
def test_golden(corpus, rel):
    got = [f"{d.line}:{d.col} {d.severity.value} {d.rule}" for d in analyze_file(corpus / rel).diagnostics]
    assert got == GOLDEN[rel]["diagnostics"], GOLDEN[rel]["why"]


def test_golden_covers_every_rule_the_corpus_triggers(corpus):
    """Each rule that fires anywhere in the corpus is pinned, position and all, on at least one real card, and
    cards of both dialects are pinned."""
    pinned = {(rel.split("/")[0], line.split()[2]) for rel, entry in GOLDEN.items() for line in entry["diagnostics"]}
    fired = {(Path(r.path).relative_to(corpus).parts[0], d.rule)
             for r in lint_paths([corpus], exclude=["README.md"]) for d in r.diagnostics}
    by_rule = {rule for _, rule in fired}
    assert by_rule <= {rule for _, rule in pinned}, sorted(by_rule - {rule for _, rule in pinned})
    assert {"mindspore-hub", "huggingface"} <= {dialect for dialect, _ in pinned}


def _seed_texts():
    if not CORPUS.is_dir():
        return ["---\nlicense: mit\n---\n"]
    files = corpus_files()
    return [files[i].read_text(encoding="utf-8", errors="replace")[:3000] for i in range(0, len(files), 97)]


SEEDS = _seed_texts()


@st.composite
def mutated_card(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "dup_line", "swap"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "insert":
            junk = draw(st.sampled_from(["-", ":", "\n", "---\n", "'", '"', "[", "{", "\t", "&a ", "*a",
                                         "!!python/object:os.system ", "# ", "｜", "：", "\x00"]))
            text = text[:pos] + junk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        elif op == "dup_line":
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        else:
            lines = text.split("\n")
            if len(lines) > 2:
                a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_card())
def test_fuzz_mutated_real_cards_never_raise(text):
    r = analyze_text(text)
    for d in r.diagnostics:
        assert d.rule in RULES and d.line >= 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_arbitrary_text_never_raises(text):
    analyze_text(text)
    analyze_text("---\n" + text + "\n---\n")
    analyze_text("# t\n---\n" + text + "\n---\n")
