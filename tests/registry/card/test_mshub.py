import datetime as dt

import pytest
from helpers import CARDS

from registry import analyze_file, analyze_text, load_card
from registry.card.mshub_evaluation import parse
from registry.record import Dialect, metric_key

BASE = (CARDS / "mindspore" / "2.5" / "convnext_tiny_imagenet2012.md").read_text()


def rules(result, severity=None):
    return {d.rule for d in result.diagnostics if severity is None or d.severity.value == severity}


def line_of(text, needle):
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_seed_000_record(seeds):
    rec = load_card(seeds / "convnext_tiny-mindspore-card.txt")
    assert rec.dialect is Dialect.MINDSPORE_HUB
    assert (rec.name, rec.architecture, rec.framework) == ("convnext_tiny", "convnext", "mindspore")
    assert rec.mindspore_version == "2.5" and rec.version == "2.5"
    assert rec.updated == dt.date(2025, 3, 10)
    assert rec.metric("top1") == 81.28 and rec.metric("top5") == 95.61
    assert rec.evaluation_raw == "top1acc81.28 | top5acc95.61"
    assert (rec.license, rec.license_raw) == ("Apache-2.0", "Apache2.0")
    [asset] = rec.assets
    assert asset.filename == "convnext_tiny-db11dc82-910v2.ckpt"
    assert asset.url.startswith("https://download-mindspore.osinfra.cn/") and not asset.url.endswith(">")
    assert (asset.sha256, asset.sha256_kind, asset.name_hash) == ("db11dc82", "prefix", "db11dc82")
    assert [v.name for v in rec.variants] == ["convnext_tiny", "convnext_small", "convnext_base"]
    small = rec.variants[1]
    assert small.metrics["Top-1 (%)"] == 83.40
    assert small.weights == ["https://download-mindspore.osinfra.cn/toolkits/mindcv/convnext/convnext_small-e23008f3.ckpt"]


def test_seed_000_front_matter_vs_table_warning_names_both(seeds):
    path = seeds / "convnext_tiny-mindspore-card.txt"
    result = analyze_file(path)
    [top1] = [d for d in result.diagnostics if d.rule == "evaluation-table-mismatch" and "top1" in d.message]
    assert "81.28" in top1.message and "81.91" in top1.message
    assert top1.severity.value == "warning"
    assert top1.line == line_of(path.read_text(), "evaluation:")
    assert f"line {line_of(path.read_text(), '| convnext_tiny  |')}" in top1.message


def test_version_text_survives_yaml_float():
    rec = analyze_text(BASE.replace('mindspore-version: "2.5"', "mindspore-version: 1.10")).record
    assert rec.mindspore_version == "1.10"


def test_project_card_is_clean():
    r = analyze_text(BASE)
    assert rules(r, "error") == set()
    assert rules(r) == {"sha256-prefix"}


FULL = "a" * 64

CASES = [
    # (mutation old, new, expected rule, line needle in the mutated text)
    ('fine-tunable: true', 'fine-tunable: "yes"', "wrong-type", "fine-tunable:"),
    ("module-type: cv-classification", "module-type: vision", "value-not-allowed", "module-type:"),
    ("used-for: inference", "used-for: inference/serving", "value-not-allowed", "used-for:"),
    ("file-format: ckpt", "file-format: pickle", "value-not-allowed", "file-format:"),
    ("summary: ConvNeXt-tiny", "sumary: ConvNeXt-tiny", "unknown-key", "sumary:"),
    ("summary: ConvNeXt-tiny", "sumary: ConvNeXt-tiny", "required-key-missing", "---"),
    ("license: Apache-2.0", "licence: Apache-2.0", "unknown-key", "licence:"),
    ('model-version: "2.5"', "model-version: 1.10", "version-as-float", "model-version:"),
    ("asset-sha256: db11dc82", "asset-sha256: db11dc8z", "sha256-not-hex", "asset-sha256:"),
    ("asset-sha256: db11dc82", "asset-sha256: db11d", "sha256-prefix-short", "asset-sha256:"),
    ("asset-sha256: db11dc82", f"asset-sha256: {FULL}0", "sha256-length", "asset-sha256:"),
    ("asset-sha256: db11dc82", "asset-sha256: 0badc0de", "asset-hash-mismatch", "asset-sha256:"),
    ("asset-link: <https://", "asset-link: <http://", "insecure-link", "asset-link:"),
    ("repo-link: <https://github.com", "repo-link: <github.com", "bad-link", "repo-link:"),
    ("evaluation: top1acc81.28 | top5acc95.61", "evaluation: -", "yaml-syntax", "evaluation:"),
    ("evaluation: top1acc81.28 | top5acc95.61", "evaluation: -", "evaluation-unparseable", "evaluation:"),
    ("evaluation: top1acc81.28 | top5acc95.61", "evaluation: top1acc80.00 | top5acc95.61",
     "evaluation-table-mismatch", "evaluation:"),
    ("update-time: 2025-03-10", "update-time: 2025-3-10", "date-not-iso", "update-time:"),
    ("evaluation: top1acc81.28 | top5acc95.61", "evaluation: top1acc81.28 | top1acc95.61",
     "evaluation-duplicate-metric", "evaluation:"),
    ("update-time: 2025-03-10", "update-time: 2025-02-30", "date-invalid", "update-time:"),
    ("license: Apache-2.0", "license: Tongyi Qianwen License", "license-unknown", "license:"),
    ("license: Apache-2.0", "license: Apache2.0", "license-alias", "license:"),
    ("author: MindSpore team", "author: MindSpore team\n\nauthor: someone", "duplicate-key", "author: someone"),
    ("summary: ConvNeXt-tiny image classifier trained on ImageNet-1K with MindCV", "summary:", "empty-value",
     "summary:"),
]


@pytest.mark.parametrize(("old", "new", "rule", "needle"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_fires_at_its_line(old, new, rule, needle):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    result = analyze_text(text)
    hits = [d for d in result.diagnostics if d.rule == rule]
    assert hits, f"{rule} not reported; got {[(d.rule, d.message) for d in result.diagnostics]}"
    assert hits[0].line == line_of(text, needle)
    assert hits[0].message  # every diagnostic says something


def test_every_problem_reported_not_only_the_first():
    text = (BASE.replace("evaluation: top1acc81.28 | top5acc95.61", "evaluation: -")
                .replace("license: Apache-2.0", "licence: Apache-2.0")
                .replace("asset-link: <https://", "asset-link: <http://")
                .replace("update-time: 2025-03-10", "update-time: 2025-3-10"))
    got = rules(analyze_text(text))
    assert {"yaml-syntax", "evaluation-unparseable", "unknown-key", "required-key-missing", "insecure-link",
            "date-not-iso"} <= got


@pytest.mark.parametrize(("value", "says"), [
    ("[ImageNet2012", "the '[' opened here is never closed"),
    ("{a: ImageNet2012", "the '{' opened here is never closed"),
    ('"ImageNet2012', "the quote opened here is not closed on its line"),
    ("'ImageNet2012", "the quote opened here is never closed"),  # no other ' to end it: YAML reads to the end
])
def test_an_unclosed_bracket_or_quote_is_one_error_where_it_opens(value, says):
    """PyYAML gives up lines later (or, for a quote, at the next quote it meets); the fix is where it opened, and
    the rest of the card still parses, train-dataset included."""
    text = BASE.replace("train-dataset: ImageNet2012", f"train-dataset: {value}", 1)
    result = analyze_text(text)
    [error] = [d for d in result.diagnostics if d.severity.value == "error"]
    assert error.rule == "yaml-syntax" and says in error.message
    assert (error.line, error.col) == (line_of(text, "train-dataset:"), len("train-dataset: ") + 1)
    assert result.record is not None and result.record.name == "convnext_tiny" and result.record.datasets


def test_a_key_glued_to_a_closing_quote_is_named():
    text = BASE.replace('model-version: "2.5"', 'model-version: "2.5"train-dataset: x', 1)
    [first, *_] = [d for d in analyze_text(text).diagnostics if d.rule == "yaml-syntax"]
    assert first.line == line_of(text, "model-version:") and "put 'train-dataset:' on a line of its own" in (
        first.message)


def test_did_you_mean_in_message():
    text = BASE.replace("license: Apache-2.0", "licence: Apache-2.0")
    [d] = [d for d in analyze_text(text).diagnostics if d.rule == "unknown-key"]
    assert "did you mean 'license'" in d.message


def test_hash_prefix_nine_digits_is_prefix():
    text = BASE.replace("asset-sha256: db11dc82", "asset-sha256: db11dc82a")
    r = analyze_text(text)
    assert "asset-hash-mismatch" not in rules(r)  # db11dc82 in the name agrees with db11dc82a
    assert r.record.assets[0].sha256 == "db11dc82a"


def test_full_hash_not_flagged_as_prefix():
    text = BASE.replace("asset-sha256: db11dc82", f"asset-sha256: db11dc82{'0' * 56}")
    r = analyze_text(text)
    assert rules(r) == set()
    assert r.record.assets[0].sha256_kind == "full"


def test_numeric_sha_prefix_is_read_as_text_not_octal():
    text = BASE.replace("convnext_tiny-db11dc82-910v2.ckpt", "convnext_tiny-910v2.ckpt").replace(
        "asset-sha256: db11dc82", "asset-sha256: 00123456")
    assert analyze_text(text).record.assets[0].sha256 == "00123456"


@pytest.mark.parametrize(("text", "metrics"), [
    ("top1acc81.28 | top5acc95.61", {"top1acc": 81.28, "top5acc": 95.61}),
    ("acc92", {"acc": 92.0}),
    ("F1score61.94", {"F1score": 61.94}),
    ("whole81.97 | core77.78", {"whole": 81.97, "core": 77.78}),
    ("mAP0.241", {"mAP": 0.241}),
    ("-", {}),
    ("state of the art", {}),
])
def test_evaluation_forms(text, metrics):
    ev = parse(text)
    assert ev.metrics == metrics
    assert ev.raw == text
    assert ev.ok is bool(metrics)


def test_metric_keys_compare_across_spellings():
    assert {metric_key(k) for k in ("top1acc", "Top-1 (%)", "acc@top1", "top1_accuracy")} == {"top1"}


def test_harmless_float_version_is_info_lossy_is_warning():
    text = BASE.replace('mindspore-version: "2.5"', "mindspore-version: 2.5").replace(
        'model-version: "2.5"', "model-version: 1.10")
    got = {(d.line, d.severity.value) for d in analyze_text(text).diagnostics if d.rule == "version-as-float"}
    assert got == {(line_of(text, "model-version:"), "warning"), (line_of(text, "mindspore-version:"), "info")}


@pytest.mark.parametrize("link", ["<https://[download-mindspore.osinfra.cn/x/m-db11dc82.ckpt>",
                                  "<https://download\uff1a.mindspore.cn/x/m-db11dc82.ckpt>",
                                  "<https://download.mindspore.cn:port/x/m-db11dc82.ckpt>"])
def test_malformed_links_are_bad_links_not_crashes(link):
    """Found by bench/faults.py's 100k fuzz run: urlsplit raises on these."""
    text = BASE.replace("<https://download-mindspore.osinfra.cn/toolkits/mindcv/convnext/convnext_tiny-db11dc82-910v2"
                        ".ckpt>", link)
    assert text != BASE
    r = analyze_text(text)
    assert [d.rule for d in r.diagnostics if d.rule == "bad-link"] == ["bad-link"]
