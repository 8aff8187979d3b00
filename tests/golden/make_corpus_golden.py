"""Regenerate ``corpus_golden.json`` after a deliberate change to lint, then review the diff by hand.

    python tests/golden/make_corpus_golden.py

Each entry pins (line, col, severity, rule) for one real card; messages are checked by unit tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import CORPUS  # noqa: E402

from registry import analyze_file  # noqa: E402

#: Chosen for what each shows; the reason is kept next to the file in the golden file.
CHOSEN = {
    "mindspore-hub/mindspore/2.5/convnext_tiny_imagenet2012.md": "seed 000's corpus twin: 8-hex prefix",
    "mindspore-hub/mindspore/2.3/convnext_tiny_imagenet2012.md": "same checkpoint for 2.3: 8-hex prefix, non-ISO date",
    "mindspore-hub/mindspore/2.5/convnextv2_tiny_imagenet2012.md": "acc@top1 table header agrees with evaluation",
    "mindspore-hub/mindspore/1.10/convnext_imagenet2012.md": "1.10 written as a float, full sha256",
    "mindspore-hub/mindspore/1.10/cgan_G_mnist.md": "evaluation: - is a YAML syntax error, repaired",
    "mindspore-hub/mindspore/1.10/apdrawinggan_generator_apdrawingdb.md": "evaluation: - again",
    "mindspore-hub/mindspore/2.3/nasnet_a_4x1056_imagenet2012.md": "9-hex prefix",
    "mindspore-hub/mindspore/2.5/nasnet_a_4x1056_imagenet2012.md": "9-hex prefix, 2.5",
    "mindspore-hub/mindspore/1.10/hrnet_cityscapes.md": "module-type cvtmodel not allowed",
    "mindspore-hub/mindspore/1.10/moleculardynamics_water.md": "module-type hpc not allowed",
    "mindspore-hub/mindspore/2.5/animatediff.md": "no asset",
    "mindspore-hub/mindspore/2.5/mobilenet_v3_large_100_imagenet2012.md": "top1acc named twice in evaluation",
    "mindspore-hub/mindspore/2.5/dbnet_resnet50_icdar2015.md": "'---' inside a code fence in the body",
    "mindspore-hub/mindspore/2.5/bit_resnet50_imagenet2012.md": "evaluation disagrees with the body's table",
    "mindspore-hub/mindspore/2.5/qwen2_vl.md": "a license that is no SPDX id",
    "mindspore-hub/noah-cvlab/ascend/0.7/ghostnet_ssd_v1.0.md": "missing train-dataset and asset, mAP key",
    "mindspore-hub/noah-cvlab/ascend/0.7/ghostnet_ssd_v1.0_cn.md": "full-width colons: front matter is a string",
    "mindspore-hub/noah-cvlab/ascend/1.8/adabin_cifar10.md": "bare links, accuracy key, full hash",
    "mindspore-hub/noah-cvlab/ascend/1.1/ipt_v1.0_Set14_SR_x2.md": "noah-cvlab 1.1 card",
    "huggingface/nateraw__vit-base-beans.md": "clean vision card with model-index",
    "huggingface/nates-test-org__cait_xxs36_384.md": "vision card, timm",
    "huggingface/Abirate__gpt_3_finetuned_multi_x_science.md": "a list as front matter",
    "huggingface/lewtun__xlm-roberta-base-finetuned-marc-500-samples.md": "a string as front matter",
    "huggingface/abhijithneilabraham__longformer_covid_qa.md": "empty block after a title",
    "huggingface/Doogie__Waynehills-STT-doogie.md": "model-index given as a dict",
    "huggingface/edumunozsala__RuPERTa_base_sentiment_analysis_es.md": "model-index empty",
    "huggingface/Amrrs__indian-foods.md": "result without dataset",
    "huggingface/RuudVelo__wav2vec2-large-xls-r-1b-cv8-mt-lm.md": "metric value empty",
    "huggingface/AndrewMcDowell__wav2vec2-xls-r-1b-japanese-hiragana-katakana.md": "model-index name ''",
    "huggingface/microsoft__wavlm-base-plus-sv.md": "datasets: - null",
    "huggingface/Davlan__bert-base-multilingual-cased-finetuned-amharic.md": "block after a logo line",
    "huggingface/dbernsohn__roberta-go.md": "block after a title: Hugging Face ignores it",
    "huggingface/shivam__mbart-large-50-finetuned-en-mr.md": "never closed, several YAML errors",
    "huggingface/lighteternal__stsb-xlm-r-greek-transfer.md": "tab indentation",
    "huggingface/osanseviero__test_tag.md": "YAML errors, repaired twice",
    "huggingface/Helsinki-NLP__opus-mt-no-fi.md": "language 'no' read as False",
    "huggingface/Aleksandar__electra-srb-ner.md": "model_index instead of model-index",
    "huggingface/m3hrdadfi__wav2vec2-large-xlsr-estonian.md": "'---' lines in a code fence in the body",
    "huggingface/huggingface_hub-fixture__sample_windows_line_breaks.md": "CRLF line breaks",
    "huggingface/huggingface_hub-fixture__sample_invalid_model_index.md": "huggingface_hub's invalid fixture",
    "huggingface/huggingface_hub-fixture__sample_invalid_card_data.md": "huggingface_hub's invalid card data",
    "huggingface/huggingface_hub-fixture__sample_no_metadata.md": "no front matter",
    "huggingface/huggingface_hub-fixture__sample_simple_model_index.md": "huggingface_hub's valid fixture",
    "huggingface/huggingface_hub-fixture__sample_template.md": "template placeholders",
}


def snapshot(rel: str) -> list[str]:
    r = analyze_file(CORPUS / rel)
    return [f"{d.line}:{d.col} {d.severity.value} {d.rule}" for d in r.diagnostics]


def main() -> None:
    golden = {rel: {"why": why, "diagnostics": snapshot(rel)} for rel, why in CHOSEN.items()}
    out = Path(__file__).with_name("corpus_golden.json")
    out.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
