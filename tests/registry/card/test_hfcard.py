import pytest
from helpers import CARDS, corpus_files

from registry import analyze_file, analyze_text, load_card
from registry.record import Dialect

CATS = CARDS / "huggingface" / "efederici__convnext-base-224-22k-1k-orig-cats-vs-dogs.md"


def rules(result):
    return [d.rule for d in result.diagnostics]


def test_cats_vs_dogs_card_record():
    rec = load_card(CATS)
    assert rec.dialect is Dialect.HUGGINGFACE
    assert rec.uid == "efederici/convnext-base-224-22k-1k-orig-cats-vs-dogs"
    assert rec.name == "convnext-base-224-22k-1k-orig-cats-vs-dogs"
    assert rec.base_model == "facebook/convnext-base-224-22k-1k"
    assert rec.architecture == "convnext"
    assert rec.task == "image-classification"
    assert rec.datasets == ["cats_vs_dogs"]
    assert rec.metric("accuracy") == pytest.approx(0.9973333333333333)
    assert rec.license == "Apache-2.0"
    assert analyze_file(CATS).diagnostics == []


def test_seed_004_as_delivered_has_no_front_matter_and_says_why(seeds):
    [d] = analyze_file(seeds / "convnext-base-cats-vs-dogs-hf-card.txt").diagnostics
    assert d.rule == "front-matter-missing"
    assert "looks like metadata" in d.message


def hf(yaml_text, body="# card\n"):
    return analyze_text(f"---\n{yaml_text}---\n{body}")


def test_model_index_as_dict():
    r = hf("model-index:\n  name: x\n")
    [d] = r.diagnostics
    assert (d.rule, d.line) == ("model-index-invalid", 3)
    assert "must be a list" in d.message


def test_result_without_dataset_and_metric_without_value():
    r = hf("model-index:\n- name: m\n  results:\n  - task:\n      type: image-classification\n"
           "    metrics:\n    - type: accuracy\n    - value: 0.5\n")
    msgs = [(d.line, d.message) for d in r.diagnostics if d.rule == "model-index-invalid"]
    assert any("without dataset" in m for _, m in msgs)
    assert (8, "metric has no 'value': add the measured figure") in msgs
    assert any(line == 9 and "no 'type'" in m for line, m in msgs)


def test_datasets_null():
    r = hf("datasets:\n- null\n- imagenet-1k\n")
    assert [(d.rule, d.line) for d in r.diagnostics] == [("datasets-null", 3)]
    assert r.record.datasets == ["imagenet-1k"]


@pytest.mark.parametrize(("key", "hint"), [("model_index", "model-index"), ("licence", "license"),
                                           ("pipeline-tag", "pipeline_tag")])
def test_unknown_keys_did_you_mean(key, hint):
    [d] = hf(f"{key}: x\n").diagnostics
    assert d.rule == "unknown-key" and f"did you mean '{hint}'" in d.message


def test_norway_problem_hint():
    [d] = hf("language:\n- en\n- no\n").diagnostics
    assert d.rule == "wrong-type" and "quote it, 'no'" in d.message and d.line == 4


def test_block_after_title_is_misplaced_for_hf():
    r = analyze_text("# Title\n---\nlicense: mit\n---\nbody\n")
    assert rules(r) == ["front-matter-misplaced"]
    assert r.diagnostics[0].line == 2


def test_tab_indentation_flagged():
    r = hf("widget:\n- text: [\n\t\t'a']\n")
    assert "yaml-syntax" in rules(r)


def test_model_index_agrees_with_huggingface_hub(corpus):
    """Differential: on every real card, huggingface_hub's ModelCard reads the model-index we accept,
    and raises on what we reject; and we extract the same results."""
    from huggingface_hub import ModelCard

    compared = 0
    for path in corpus_files("huggingface"):
        ours = analyze_file(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.lstrip().startswith("---") or "model-index" not in text or ours.record is None:
            continue
        if any(d.rule in ("yaml-syntax", "front-matter-unclosed") for d in ours.diagnostics):
            continue
        invalid = any(d.rule == "model-index-invalid" for d in ours.diagnostics)
        try:
            theirs = ModelCard(text).data
        except ValueError:
            assert invalid, f"{path.name}: huggingface_hub rejects the model-index but we accept it"
            continue
        if invalid:
            assert not theirs.eval_results, f"{path.name}: we reject a model-index huggingface_hub reads"
            continue
        mine = [(m.name, m.value, m.dataset) for m in ours.record.metrics]
        hub = [(e.metric_type, e.metric_value, e.dataset_type) for e in theirs.eval_results or []
               if isinstance(e.metric_value, (int, float, str)) and not isinstance(e.metric_value, bool)]
        assert mine == hub, path.name
        compared += 1
    assert compared > 1000


def test_numbers_where_model_index_means_names():
    """Found by the 100k fuzz run: YAML reads `type: 80` as a number."""
    r = hf("model-index:\n- name: m\n  results:\n  - task:\n      type: 7\n    dataset:\n      type: 80\n"
           "      name: eighty\n    metrics:\n    - type: 12\n      value: 0.5\n")
    [m] = r.record.metrics
    assert (m.name, m.dataset, m.value) == ("12", "80", 0.5)
