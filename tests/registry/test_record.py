"""The shared record's rules: metric keys and the one top-1 rule that `hub list` and `hub eval` both use."""

from __future__ import annotations

import pytest
from helpers import CARDS

from registry import Registry, load_card
from registry.record import Dialect, MetricRecord, ModelRecord, benchmark_key, metric_key, top1_percent


def _record(*metrics: tuple[str, float | str], task: str | None = None, datasets: tuple[str, ...] = ()) -> ModelRecord:
    return ModelRecord(name="m", dialect=Dialect.HUGGINGFACE, task=task, datasets=list(datasets),
                       metrics=[MetricRecord(name=n, value=v) for n, v in metrics])


def test_top1_spellings_fractions_and_plain_accuracy():
    assert top1_percent({"Top-1 (%)": 81.9}) == (81.9, "Top-1 (%)")
    assert top1_percent({"acc@top1": 0.815}) == (pytest.approx(81.5), "acc@top1")
    assert top1_percent({"top5acc": 95.6, "accuracy": 90.0}) == (90.0, "accuracy")
    assert top1_percent({"accuracy": 0.9}, classification=False) is None
    assert top1_percent({"f1": 0.5}) is None


def test_plain_accuracy_is_top1_only_for_a_classifier():
    assert _record(("accuracy", 0.9), task="image-classification").top1() == (pytest.approx(90.0), "accuracy")
    assert _record(("accuracy", 0.9), datasets=("cifar10",)).top1() == (pytest.approx(90.0), "accuracy")
    assert _record(("accuracy", 0.9), task="automatic-speech-recognition").top1() is None
    assert _record(("top1", "n/a"), ("top1acc", 80.0)).top1() == (80.0, "top1acc")  # text values are no figure


def test_hub_list_and_hub_eval_read_the_same_top1(tmp_path):
    """`acc@top1` used to count for `hub list --min-top1` while `hub eval` said the card claims no top-1."""
    src = tmp_path / "cards"
    src.mkdir()
    text = (CARDS / "mindspore" / "2.5" / "convnext_tiny_imagenet2012.md").read_text()
    card = src / "m.md"
    card.write_text(text.replace("model-name: convnext_tiny", "model-name: acc_at_top1_model").replace(
        "evaluation: top1acc81.28 | top5acc95.61", "evaluation: acc@top1 81.5 | top5acc95.61"))
    record = load_card(card)
    assert metric_key("acc@top1") == "top1" and record.top1() == (81.5, "acc@top1")
    with Registry(tmp_path / "r.db") as reg:
        reg.add_source(src)
        assert [x.top1 for x in reg.list(min_top1=81.4) if x.name == "acc_at_top1_model"] == [81.5]
        assert [x.name for x in reg.list(min_top1=81.6) if x.name == "acc_at_top1_model"] == []


@pytest.mark.parametrize(("dataset", "key"), [
    ("ImageNet2012", "imagenet-1k"), ("imagenet-1k", "imagenet-1k"), ("ILSVRC2012", "imagenet-1k"),
    ("imagenet", "imagenet-1k"), ("imagenet-22k", "imagenet-22k"), ("ImageNet-21K", "imagenet-22k"),
    ("cats_vs_dogs", "cats_vs_dogs"), ("sklearn-digits", "sklearn-digits"),
])
def test_benchmark_key(dataset, key):
    assert benchmark_key(dataset) == key


def test_top1_benchmark_is_the_metrics_own_dataset():
    rec = ModelRecord(name="m", dialect=Dialect.HUGGINGFACE, task="image-classification", datasets=["imagenet-1k"],
                      metrics=[MetricRecord(name="accuracy", value=0.99, dataset="cats_vs_dogs")])
    assert rec.top1_benchmark() == "cats_vs_dogs"  # not the pre-training set the card also lists
    assert _record(("top1acc", 81.0), datasets=("ImageNet2012",)).top1_benchmark() == "imagenet-1k"
    assert _record(("top1acc", 81.0)).top1_benchmark() is None
    assert _record(("f1", 0.5), datasets=("ImageNet2012",)).top1_benchmark() is None


def test_min_top1_compares_like_with_like(tmp_path):
    """`--min-top1 83` is an ImageNet-1k top-1; a cats-vs-dogs binary accuracy of 99.73 is not one. A registry
    made before the benchmark was stored gets it on its next read."""
    with Registry(tmp_path / "r.db") as reg:
        assert {x.name for x in reg.list(min_top1=83)} == {"convnext_small", "convnext_base"}
        assert [x.name for x in reg.list(min_top1=99, dataset="cats_vs_dogs")] == [
            "convnext-base-224-22k-1k-orig-cats-vs-dogs"]
        assert {x.name for x in reg.list(min_top1=99, dataset="sklearn-digits")} == {
            "convnextv2_digits", "convnextv2-digits"}
        assert {x.name for x in reg.list(min_top1=83, dataset="ImageNet2012")} == {"convnext_small", "convnext_base"}
        reg.conn.execute("ALTER TABLE models DROP COLUMN top1_benchmark")
        reg.conn.execute("DELETE FROM _migrations WHERE name = '0004_top1_benchmark'")
        reg.conn.commit()
    with Registry(tmp_path / "r.db") as reg:
        assert {x.name for x in reg.list(min_top1=83)} == {"convnext_small", "convnext_base"}
