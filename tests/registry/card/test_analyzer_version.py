"""The declared analyzer version against a golden digest of the analysis: it tells when a bump is due."""

from __future__ import annotations

import json

from helpers.analysis import GOLDEN_FILE, analysis_digest

from registry.card.version import ANALYZER_VERSION


def test_analyzer_version_changes_exactly_when_the_analysis_does(corpus):
    golden = json.loads(GOLDEN_FILE.read_text())
    digest, n = analysis_digest()
    changed = digest != golden["digest"]
    if golden["analyzer_version"] == ANALYZER_VERSION:
        assert not changed, (
            f"the analysis of the {n} corpus and bundled cards changed, but ANALYZER_VERSION is still "
            f"{ANALYZER_VERSION}: bump it in registry/card/version.py (so every registry re-indexes), run "
            "`python tests/support/helpers/analysis.py`, and rebuild registry.db with "
            "`HUB_REGISTRY=registry.db hub index --rebuild`")
    else:
        assert golden["analyzer_version"] < ANALYZER_VERSION, "ANALYZER_VERSION went backwards"
        raise AssertionError(f"ANALYZER_VERSION is {ANALYZER_VERSION} but {GOLDEN_FILE.name} was made with "
                             f"{golden['analyzer_version']}: run `python tests/support/helpers/analysis.py`")
    assert golden["cards"] == n


def test_a_changed_analysis_is_noticed(corpus, monkeypatch):
    """The digest really depends on what the analysis says: one diagnostic fewer per card changes it."""
    from registry.card import analyze

    before, _ = analysis_digest()
    real = analyze.analyze_file

    def one_fewer(path, **kw):
        result = real(path, **kw)
        result.diagnostics = result.diagnostics[:-1]
        return result

    monkeypatch.setattr(analyze, "analyze_file", one_fewer)
    assert analysis_digest()[0] != before
