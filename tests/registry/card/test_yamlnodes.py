import time

import pytest

from registry.card import yamlnodes
from registry.errors import YamlLimitError, YamlSyntaxError


def test_positions_are_one_based_and_offset():
    doc = yamlnodes.load("a: 1\nlist:\n- k: v\n", line_offset=10)
    assert doc.pos[("a",)] == yamlnodes.Pos(11, 4)
    assert doc.key_pos[("list",)] == yamlnodes.Pos(12, 1)
    assert doc.pos[("list", 0, "k")] == yamlnodes.Pos(13, 6)


def test_scalar_source_text_kept_where_yaml_types_it():
    doc = yamlnodes.load("v: 1.10\nh: 00123456\nq: '1.10'\nd: 2025-3-10\n")
    assert doc.data["v"] == 1.1  # what YAML does ...
    assert doc.raw[("v",)] == "1.10"  # ... and what the author wrote
    assert doc.plain_tag[("v",)] == "float"
    assert doc.raw[("h",)] == "00123456"
    assert ("q",) not in doc.plain_tag  # quoted: not typed by the resolver
    assert doc.data["d"] == "2025-3-10"  # not a YAML timestamp


def test_duplicate_keys_reported_with_both_positions():
    doc = yamlnodes.load("a: 1\nb: 2\na: 3\n")
    assert doc.data["a"] == 3
    [dup] = doc.duplicates
    assert dup.path == ("a",)
    assert (dup.first.line, dup.second.line) == (1, 3)


def test_syntax_error_position_in_file_lines():
    with pytest.raises(YamlSyntaxError) as e:
        yamlnodes.load("model-name: x\nevaluation: -\nauthor: y\n", line_offset=3)
    assert (e.value.line, e.value.col) == (5, 13)
    assert isinstance(e.value, ValueError)


def test_invalid_timestamp_kept_as_text():
    assert yamlnodes.load("d: 2025-13-45\n").data["d"] == "2025-13-45"


def test_billion_laughs_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    start = time.perf_counter()
    with pytest.raises(YamlLimitError):
        yamlnodes.load("\n".join(lines))
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 200))])
def test_deep_nesting_refused(text):
    with pytest.raises((YamlLimitError, YamlSyntaxError)):
        yamlnodes.load(text)


def test_huge_scalar_in_a_card_is_bounded():
    from registry import analyze_text

    text = "---\nlicense: mit\nsummary: " + "x" * 3_000_000 + "\n---\n# t\n"
    start = time.perf_counter()
    result = analyze_text(text)
    assert time.perf_counter() - start < 5
    assert result.record is not None  # parsed, not crashed


def test_card_over_the_size_limit_is_refused_unread():
    from registry import analyze_text
    from registry.card.cardfile import MAX_CARD_BYTES

    [d] = analyze_text("---\nsummary: " + "x" * MAX_CARD_BYTES + "\n---\n").diagnostics
    assert d.rule == "file-unreadable" and "limit" in d.message
