"""``hub convert``: a ConvNeXt checkpoint from one ecosystem written out for the other."""

from .source import Source, open_source
from .to_hf import to_hf
from .to_mindspore import to_mindspore

__all__ = ["Source", "open_source", "to_hf", "to_mindspore"]
