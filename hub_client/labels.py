"""Class names: ImageNet-1k's, bundled (synset and WordNet lemmas), or a Hugging Face config's ``id2label``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def imagenet1k() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in label-id order (``tench, Tinca tinca``, ...)."""
    text = resources.files("hub_client").joinpath("data/imagenet1k_classes.tsv").read_text(encoding="utf-8")
    return tuple(line.split("\t", 1)[1] for line in text.splitlines() if line)


@lru_cache(maxsize=1)
def imagenet1k_synsets() -> tuple[str, ...]:
    text = resources.files("hub_client").joinpath("data/imagenet1k_classes.tsv").read_text(encoding="utf-8")
    return tuple(line.split("\t", 1)[0] for line in text.splitlines() if line)


def default_labels(num_classes: int) -> tuple[str, ...]:
    """ImageNet-1k's names for a 1,000-class head, else ``class_0`` ... so every output has a name."""
    if num_classes == 1000:
        return imagenet1k()
    return tuple(f"class_{i}" for i in range(num_classes))
