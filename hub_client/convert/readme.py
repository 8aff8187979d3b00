"""A Hugging Face README for a ConvNeXt repo: front matter with ``model-index``, written by huggingface_hub's own
``ModelCardData`` (so the Hub and every tool read it back), and a body that says how to load it."""

from __future__ import annotations

from collections.abc import Iterable

from registry.record import benchmark_key, metric_key

#: (metric name as the source wrote it, value, the dataset it was measured on or None)
Metric = tuple[str, float, str | None]


def hf_readme(name: str, *, license_id: str | None, datasets: Iterable[str], metrics: Iterable[Metric],
              tags: Iterable[str], intro: str) -> str:
    """The README's text: ``model-index`` holds one image-classification result per metric (top-1 as
    ``accuracy``), on the dataset it was measured on (else the first training set)."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    sets = list(datasets)
    results = []
    for metric_name, value, dataset in metrics:
        key = metric_key(metric_name)
        where = dataset or (sets[0] if sets else "unknown")
        results.append(EvalResult(
            task_type="image-classification", dataset_type=benchmark_key(where), dataset_name=where,
            metric_type="accuracy" if key == "top1" else key, metric_name=metric_name, metric_value=value))
    data = ModelCardData(
        license=(license_id or "other").lower(), library_name="transformers", pipeline_tag="image-classification",
        tags=["image-classification", *tags], datasets=[benchmark_key(d) for d in sets] or None,
        model_name=name if results else None, eval_results=results or None)
    body = (f"# {name}\n\n{intro}\n\n"
            "```python\nfrom transformers import AutoImageProcessor, AutoModelForImageClassification\n\n"
            f'model = AutoModelForImageClassification.from_pretrained("{name}")\n'
            f'processor = AutoImageProcessor.from_pretrained("{name}")\n```\n')
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))
