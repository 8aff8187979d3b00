"""The image preprocessing a checkpoint was evaluated with, in Pillow + numpy (no framework).

MindCV evaluates ImageNet models with: shorter side to 256 (bicubic), center crop 224, ImageNet mean/std.
Hugging Face repos say theirs in ``preprocessor_config.json``; ConvNeXt's processor resizes the shorter
side to ``shortest_edge / crop_pct`` and crops ``shortest_edge`` below 384, and warps to a square at 384
and above. Same steps, same rounding as transformers' Pillow backend, so logits match.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from registry.errors import UsageError
from registry.record import Dialect, ModelRecord

from .labels import is_digits

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_RESAMPLE = {0: Image.Resampling.NEAREST, 1: Image.Resampling.LANCZOS, 2: Image.Resampling.BILINEAR,
             3: Image.Resampling.BICUBIC, 4: Image.Resampling.BOX, 5: Image.Resampling.HAMMING}
_RESAMPLE_NAMES = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to ``resize``, center-crop ``crop`` (or warp to ``crop`` when ``crop_pct`` is None;
    with ``warp``, warp to that square first, then center-crop ``crop``, as DeiT's processor does)."""

    crop: int = 224
    crop_pct: float | None = 0.875
    resample: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    rescale: float = 1 / 255
    channels: int = 3
    warp: int | None = None

    @property
    def resize(self) -> int:
        if not self.crop_pct:
            return self.crop
        exact = self.crop / self.crop_pct  # a crop_pct written as crop/shortest_edge gives that edge back
        return round(exact) if abs(exact - round(exact)) < 1e-6 else int(exact)

    def image(self, img: Image.Image) -> NDArray[Any]:
        """One image as a (C, H, W) float32 array."""
        img = img.convert("RGB" if self.channels == 3 else "L")
        method = _RESAMPLE.get(self.resample, Image.Resampling.BICUBIC)
        if self.warp:
            arr = np.asarray(img.resize((self.warp, self.warp), method), dtype=np.uint8)
            arr = _center_crop(arr.reshape(arr.shape[0], arr.shape[1], -1), self.crop)
        elif self.crop_pct:
            w, h = img.size
            short, long = (w, h) if w <= h else (h, w)
            new_short, new_long = self.resize, int(self.resize * long / short)
            size = (new_short, new_long) if w <= h else (new_long, new_short)
            img = img.resize(size, method)
            arr = np.asarray(img, dtype=np.uint8)
            arr = _center_crop(arr.reshape(arr.shape[0], arr.shape[1], -1), self.crop)
        else:
            arr = np.asarray(img.resize((self.crop, self.crop), method), dtype=np.uint8)
            arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
        x = arr.astype(np.float32) * np.float32(self.rescale)
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def __call__(self, images: Iterable[Image.Image | str | Path]) -> NDArray[Any]:
        """A batch (N, C, H, W) float32 from images or image paths."""
        arrays = [self.image(open_image(i) if isinstance(i, (str, Path)) else i) for i in images]
        if not arrays:
            raise UsageError("no images to preprocess")
        return np.stack(arrays)


def _center_crop(arr: NDArray[Any], size: int) -> NDArray[Any]:
    h, w = arr.shape[:2]
    if h < size or w < size:  # pad with zeros, as transformers does, then crop
        padded = np.zeros((max(h, size), max(w, size), arr.shape[2]), arr.dtype)
        top, left = (padded.shape[0] - h) // 2, (padded.shape[1] - w) // 2
        padded[top:top + h, left:left + w] = arr
        arr, h, w = padded, padded.shape[0], padded.shape[1]
    top, left = (h - size) // 2, (w - size) // 2
    return arr[top:top + size, left:left + size]


def open_image(path: str | Path) -> Image.Image:
    """Open an image file fully (so the file handle is released), with an error a user can act on."""
    try:
        with Image.open(path) as img:
            img.load()
            return img
    except FileNotFoundError:
        raise UsageError(f"image not found: {path}") from None
    except (OSError, Image.DecompressionBombError, SyntaxError) as e:
        raise UsageError(f"cannot read {path} as an image ({e}); give a JPEG, PNG, BMP, TIFF or WebP file") from None


def mindcv_imagenet(image_size: int = 224) -> Preprocess:
    """MindCV's ImageNet evaluation transform (resize 256 bicubic, crop 224, ImageNet mean/std)."""
    return Preprocess(crop=image_size, crop_pct=0.875)


def mindcv_default(image_size: int = 224) -> Preprocess:
    """MindCV's own evaluation default (``transforms_imagenet_eval``): shorter side to ``image_size / 0.875``
    bilinear, center crop ``image_size``, ImageNet mean/std; what its zoo's networks are evaluated with unless
    their config says otherwise."""
    return Preprocess(crop=image_size, crop_pct=0.875, resample=2)


def from_hf_config(cfg: dict[str, Any]) -> Preprocess:
    """A ``preprocessor_config.json`` as transformers' processor applies it: ``ConvNextImageProcessor``'s
    ``shortest_edge``/``crop_pct`` (absent keys take that class's defaults), or the resize-then-crop of the others
    (ViT's warp to ``size``; MobileNet's and BiT's shorter side then ``crop_size``; DeiT's warp then crop)."""
    kind = str(cfg.get("image_processor_type", ""))
    if not kind.startswith("ConvNext") and "crop_pct" not in cfg and "size" in cfg:
        return _resize_then_crop(cfg)
    size = cfg.get("size", {"shortest_edge": 384})
    edge = int(size.get("shortest_edge") or size.get("height") or 384) if isinstance(size, dict) else int(size)
    crop_pct = float(cfg.get("crop_pct") or 224 / 256)
    mean, std, rescale, resample = _normalisation(cfg, resample=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    return Preprocess(crop=edge, crop_pct=crop_pct if edge < 384 else None, resample=resample, mean=mean,
                      std=std, rescale=rescale, channels=len(mean))


def _normalisation(cfg: dict[str, Any], *, resample: int = 2, mean: tuple[float, ...] = IMAGENET_MEAN,
                   std: tuple[float, ...] = IMAGENET_STD) -> tuple[tuple[float, ...], tuple[float, ...], float, int]:
    """(mean, std, rescale, resampling) of a processor config; the defaults are its class's."""
    given = cfg.get("resample", resample)
    if isinstance(given, str):
        given = _RESAMPLE_NAMES.get(given.lower(), resample)
    mean = tuple(float(v) for v in cfg.get("image_mean", mean))
    std = tuple(float(v) for v in cfg.get("image_std", std))
    if not cfg.get("do_normalize", True):
        mean, std = (0.0,) * len(mean), (1.0,) * len(std)
    rescale = float(cfg.get("rescale_factor", 1 / 255)) if cfg.get("do_rescale", True) else 1.0
    return mean, std, rescale, int(given)


def _side(value: Any) -> tuple[int | None, int | None]:
    """(shortest edge, square side) of a processor's ``size``/``crop_size``; a non-square one is refused."""
    if isinstance(value, int):
        return None, value
    if not isinstance(value, dict):
        raise ValueError(f"size {value!r} is not a number or a mapping")
    if "shortest_edge" in value:
        return int(value["shortest_edge"]), None
    if int(value["height"]) != int(value["width"]):
        raise ValueError(f"a {value['height']}x{value['width']} input is not square; only square inputs are taken")
    return None, int(value["height"])


def _resize_then_crop(cfg: dict[str, Any]) -> Preprocess:
    mean, std, rescale, resample = _normalisation(cfg)
    edge, square = _side(cfg["size"])
    crop = None
    if cfg.get("do_center_crop") and cfg.get("crop_size") is not None:
        crop = _side(cfg["crop_size"])[1]
    common: dict[str, Any] = dict(resample=resample, mean=mean, std=std, rescale=rescale, channels=len(mean))
    if edge is not None:  # the shorter side to edge, then the crop (or the edge itself)
        size = crop or edge
        return Preprocess(crop=size, crop_pct=size / edge, **common)
    if square is None:
        raise ValueError("size gives neither a shortest edge nor a square")
    if crop is not None and crop != square:
        return Preprocess(crop=crop, crop_pct=None, warp=square, **common)
    return Preprocess(crop=square, crop_pct=None, **common)


def load_hf_preprocessor(path: Path) -> Preprocess:
    try:
        return from_hf_config(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise UsageError(f"{path}: not a usable preprocessor_config.json ({e})") from None


#: Digits are upscaled 8 → 32 pixels (the smallest size ConvNeXt's 32x reduction keeps), grey → RGB.
DIGITS_PREPROCESS = Preprocess(crop=32, crop_pct=1.0, resample=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def preprocess_for_dataset(names: Sequence[str]) -> Preprocess:
    """MindCV's ImageNet transform unless the card trains on a set with its own (the digits)."""
    if any(is_digits(n) for n in names):
        return DIGITS_PREPROCESS
    return mindcv_imagenet()


def preprocess_for(record: ModelRecord, files: list[Path]) -> Preprocess:
    """What a card's weights were evaluated with: a Hugging Face repo's ``preprocessor_config.json`` (the
    processor's defaults without one), else what the card's training set implies."""
    if record.dialect is Dialect.HUGGINGFACE:
        found = next((p for p in files if p.name == "preprocessor_config.json"), None)
        return load_hf_preprocessor(found) if found else Preprocess()
    return preprocess_for_dataset(record.datasets)
