"""``hub publish``: a checkpoint and its card, written where a team pulls from."""

from .mshub_files import CardOptions, Published, publish_ckpt
from .package import Package, inspect
from .targets import DirTarget, S3Target

__all__ = ["CardOptions", "DirTarget", "Package", "Published", "S3Target", "inspect", "publish_ckpt"]
