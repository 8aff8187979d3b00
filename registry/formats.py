"""Weight file formats: which file name endings are which format, and which to prefer when there are several.

The one table that lint (weights links in a card's results table), Hugging Face pulls (one set of weights
from a repo) and the loader (which pulled file to read, and with which reader) all read.
"""

from __future__ import annotations

#: Format → file name endings, in order of preference: safetensors and ckpt are read without running any
#: code; a PyTorch pickle only through torch's weights-only loader; the rest have no loader here.
WEIGHT_FORMATS: dict[str, tuple[str, ...]] = {
    "safetensors": (".safetensors",),
    "ckpt": (".ckpt",),
    "bin": (".bin", ".pth", ".pt"),
    "h5": (".h5",),
    "msgpack": (".msgpack",),
    "onnx": (".onnx",),
    "mindir": (".mindir",),
    "air": (".air",),
    "mslite": (".ms",),
}
#: The formats ``load_model`` reads, best first.
LOADABLE = ("safetensors", "ckpt", "bin")
#: What ``hub export`` writes (each checked by its own runtime): known before anything heavy is imported.
EXPORT_FORMATS = ("onnx", "openvino")
WEIGHT_SUFFIXES = tuple(s for suffixes in WEIGHT_FORMATS.values() for s in suffixes)


def weight_format(name: str) -> str | None:
    """The format of a weights file by its name (``model.safetensors`` → ``safetensors``); None for other files."""
    lower = name.lower()
    return next((fmt for fmt, suffixes in WEIGHT_FORMATS.items() if lower.endswith(suffixes)), None)
