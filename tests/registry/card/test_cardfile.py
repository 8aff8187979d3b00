import pytest

from registry.card import cardfile
from registry.card.cardfile import Placement
from registry.errors import CardTooLargeError


def test_hf_block_at_top():
    cf = cardfile.parse("---\nlicense: mit\n---\n# Title\nbody\n")
    assert cf.placement is Placement.TOP
    assert cf.front_matter == "license: mit"
    assert (cf.fm_open_line, cf.fm_close_line, cf.body_line) == (1, 3, 4)
    assert cf.body.startswith("# Title")


def test_mindspore_block_after_title():
    cf = cardfile.parse("# convnext_tiny\n\n---\n\nmodel-name: x\n\n---\n\n# body\n")
    assert cf.placement is Placement.AFTER_TITLE
    assert cf.title == "convnext_tiny"
    assert cf.title_line == 1
    assert cf.yaml_line_offset == 3
    assert "model-name: x" in cf.front_matter


def test_block_after_other_text_is_later():
    cf = cardfile.parse("Hugging Face's logo\n---\nlanguage: am\n---\n# body\n")
    assert cf.placement is Placement.LATER
    assert cf.fm_open_line == 2
    assert "Hugging Face's logo" in cf.body


def test_dashes_in_code_fence_are_not_front_matter():
    text = "# Title\n\nSome text\n\n```yaml\n---\nkey: value\n---\n```\n"
    assert cardfile.parse(text).placement is Placement.NONE


def test_markdown_rule_is_not_front_matter():
    assert cardfile.parse("# T\n\ntext\n\n---\n\nmore text\n").placement is Placement.NONE


def test_unclosed_block():
    cf = cardfile.parse("---\nlicense: mit\ntags:\n- a\n")
    assert cf.placement is Placement.TOP
    assert cf.fm_close_line is None
    assert cf.front_matter.startswith("license: mit")


def test_crlf_and_bom():
    cf = cardfile.parse("\ufeff---\r\nlicense: mit\r\n---\r\nbody\r\n")
    assert cf.placement is Placement.TOP
    assert cf.front_matter == "license: mit"


def test_oversized_card_refused(tmp_path):
    p = tmp_path / "big.md"
    p.write_bytes(b"x" * (cardfile.MAX_CARD_BYTES + 1))
    with pytest.raises(CardTooLargeError) as e:
        cardfile.read(p)
    assert e.value.size == cardfile.MAX_CARD_BYTES + 1
