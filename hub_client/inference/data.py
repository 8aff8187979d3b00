"""Evaluation data and what a card's training set implies: class names, preprocessing, the images themselves.

Two sources: scikit-learn's handwritten digits (1,797 real 8x8 scans that the package ships) with a fixed
held-out split, and any ImageFolder tree (``root/<class>/<image>``), so ``hub eval convnext_tiny --dataset
/path/to/imagenet/val`` checks an ImageNet claim where a user has ImageNet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from hub_client.models.labels import imagenet1k_synsets, label_key
from registry.errors import UsageError

DIGITS = "sklearn-digits"
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")


def digit_image(pixels: NDArray[Any]) -> Image.Image:
    """One 8x8 digit (values 0..16) as the greyscale image a scanner would give."""
    return Image.fromarray(np.round(np.asarray(pixels) * (255 / 16)).astype(np.uint8), mode="L")


def digits_split() -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """(train images, train targets, held-out images, held-out targets): every 4th scan is held out (450)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise UsageError("the sklearn-digits dataset needs scikit-learn: pip install scikit-learn") from None
    d = load_digits()
    held = np.arange(len(d.target)) % 4 == 0
    return d.images[~held], d.target[~held], d.images[held], d.target[held]


@dataclass(frozen=True)
class Sample:
    name: str
    target: int
    image: Image.Image | Path


def digits_heldout() -> list[Sample]:
    _, _, images, targets = digits_split()
    return [Sample(f"digits[{4 * i}]", int(t), digit_image(img)) for i, (img, t) in enumerate(zip(images, targets,
                                                                                                   strict=True))]


def image_folder(root: Path, labels: Sequence[str]) -> tuple[list[Sample], str]:
    """``root/<class>/<image>`` with each folder matched to a label id; returns samples and how they matched.

    Folder names are matched, in this order, as: ImageNet synsets (``n01440764``), the model's class names
    (``cat``, or the first name of ``tench, Tinca tinca``), label ids (``0``..``9``); else an error that lists
    the folders that match nothing, rather than a silent alphabetical guess.
    """
    if not root.is_dir():
        raise UsageError(f"--dataset {root}: not a folder (give sklearn-digits or an ImageFolder tree)")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise UsageError(f"{root} has no class folders: an ImageFolder tree is root/<class>/<image>")
    synsets = {s: i for i, s in enumerate(imagenet1k_synsets())} if len(labels) == 1000 else {}
    by_label = {label_key(lab): i for i, lab in enumerate(labels)}
    by_label.update({label_key(lab.split(",")[0]): i for i, lab in enumerate(labels) if label_key(lab.split(",")[0])
                     not in by_label})
    how, mapping, unmatched = set(), {}, []
    for f in folders:
        if f.name in synsets:
            mapping[f], kind = synsets[f.name], "synset"
        elif label_key(f.name) in by_label:
            mapping[f], kind = by_label[label_key(f.name)], "class name"
        elif f.name.isdigit() and int(f.name) < len(labels):
            mapping[f], kind = int(f.name), "label id"
        else:
            unmatched.append(f.name)
            continue
        how.add(kind)
    if unmatched:
        raise UsageError(f"{root}: {len(unmatched)} class folder(s) match no label of the model: "
                         f"{', '.join(unmatched[:5])}; name folders by synset, class name or label id")
    samples = [Sample(str(p), target, p) for f, target in mapping.items() for p in sorted(f.rglob("*"))
               if p.suffix.lower() in _IMAGE_SUFFIXES]
    if not samples:
        raise UsageError(f"{root}: no images in the class folders ({', '.join(_IMAGE_SUFFIXES)})")
    return samples, ", ".join(sorted(how))


def batches(samples: Sequence[Sample], size: int) -> Iterator[list[Sample]]:
    for start in range(0, len(samples), size):
        yield list(samples[start:start + size])
