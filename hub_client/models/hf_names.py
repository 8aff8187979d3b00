"""A transformers network's parameter names as the Hub holds them and as the network has them in memory.

A repo's ``model.safetensors`` keeps the names ``save_pretrained`` writes, which every transformers release reads.
transformers 5 renames some networks' parameters in memory (ViT's ``attention.attention.query`` is
``attention.q_proj``, Swin's ``attention.self.query`` too) and converts at ``from_pretrained``/``save_pretrained``
with its own conversion mapping; a state dict loaded by hand must be converted the same way. This module asks
transformers for that mapping (nothing is written here) and applies its renamings; on a release without one the
names are the same and nothing changes.
"""

from __future__ import annotations

from typing import Any

from registry.errors import CheckpointError


def to_model(model: Any, state: dict[str, Any], path: Any = "<weights>") -> dict[str, Any]:
    """``state`` (the Hub's names) by ``model``'s in-memory names.

    Raises:
        CheckpointError: a tensor transformers would convert, not only rename (joined or split on load), which a
            hand load cannot reproduce.
    """
    try:
        from transformers.conversion_mapping import get_model_conversion_mapping
        from transformers.core_model_loading import WeightConverter, WeightRenaming, rename_source_key
    except ImportError:  # transformers 4: the names in memory are the Hub's
        return state
    transforms = get_model_conversion_mapping(model, add_legacy=False)
    renamings = [t for t in transforms if isinstance(t, WeightRenaming)]
    converters = [t for t in transforms if isinstance(t, WeightConverter)]
    out: dict[str, Any] = {}
    for key, value in state.items():
        renamed, converted = rename_source_key(key, renamings, converters)
        if converted is not None:
            raise CheckpointError(path, f"{key} is converted by transformers on load ({converted}), not only "
                                  "renamed; this loader takes networks whose tensors load as they are")
        out[renamed] = value
    return out
