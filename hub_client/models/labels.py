"""Class names: ImageNet-1k's, bundled (synset and WordNet lemmas), or a Hugging Face config's ``id2label``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

#: The reference model's classes: scikit-learn's handwritten digits.
DIGITS_LABELS = tuple(str(i) for i in range(10))


@lru_cache(maxsize=1)
def imagenet1k() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in label-id order (``tench, Tinca tinca``, ...)."""
    text = resources.files("hub_client").joinpath("data/imagenet1k_classes.tsv").read_text(encoding="utf-8")
    return tuple(line.split("\t", 1)[1] for line in text.splitlines() if line)


@lru_cache(maxsize=1)
def imagenet1k_synsets() -> tuple[str, ...]:
    text = resources.files("hub_client").joinpath("data/imagenet1k_classes.tsv").read_text(encoding="utf-8")
    return tuple(line.split("\t", 1)[0] for line in text.splitlines() if line)


def config_labels(cfg: dict[str, Any]) -> tuple[tuple[str, ...] | None, int]:
    """A transformers ``config.json``'s class names in label-id order (None when it names none, or names another
    number than it has) and its number of classes (``num_labels``, else the names', else 1,000)."""
    id2label = cfg.get("id2label") or {}
    labels = tuple(str(v) for _, v in sorted((int(k), v) for k, v in id2label.items())) if id2label else None
    num_classes = int(cfg.get("num_labels") or (len(labels) if labels else 1000))
    return (labels if labels is None or len(labels) == num_classes else None), num_classes


def default_labels(num_classes: int) -> tuple[str, ...]:
    """ImageNet-1k's names for a 1,000-class head, else ``class_0`` ... so every output has a name."""
    if num_classes == 1000:
        return imagenet1k()
    return tuple(f"class_{i}" for i in range(num_classes))


def label_key(name: str) -> str:
    """Lower-case letters and digits only, so ``sklearn-digits``, ``Sklearn_Digits`` and a folder ``Cat`` match."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def is_digits(name: str) -> bool:
    """Whether a dataset name is scikit-learn's digits (the reference model's training set)."""
    return label_key(name) in ("sklearndigits", "digits")


def labels_for_dataset(names: Sequence[str], num_classes: int) -> tuple[str, ...] | None:
    """Class names a card's training set implies, when they fit the head."""
    for n in names:
        key = label_key(n)
        if is_digits(n) and num_classes == 10:
            return DIGITS_LABELS
        if key.startswith("imagenet") and "21k" not in key and "22k" not in key and num_classes == 1000:
            return imagenet1k()
    return None
