"""A ConvNeXt (or a network of MindCV's zoo) written as a MindSpore checkpoint with MindCV's parameter names,
which MindCV's own network loads strictly (``mindspore.load_checkpoint`` then
``load_param_into_net(..., strict_load=True)``).

MindCV's network has one set of numerics (tanh GELU, final LayerNorm eps 1e-6); weights trained with others
(Hugging Face's erf GELU, eps 1e-12) load all the same, and the notes say what to set for the same logits.
"""

from __future__ import annotations

from pathlib import Path

from hub_client.models.spec import ConvNeXtSpec, mindcv_shapes
from hub_client.models.zoo import ZooSpec
from hub_client.weights import ckpt
from registry.atomic import staged_file

from .output import Converted
from .source import Source


def numerics_notes(src: Source) -> list[str]:
    """What MindCV's network must be told to run ``src``'s weights with the numerics they were trained with."""
    notes: list[str] = []
    if not isinstance(src.spec, ConvNeXtSpec):
        return notes
    if src.spec.gelu == "erf":
        notes.append("these weights were trained with the exact (erf) GELU and MindCV's ConvNeXt uses the tanh "
                     "approximation: set approximate=False on its nn.GELU cells (block.act) for the same logits")
    if src.spec.head_eps != 1e-6:
        notes.append(f"the final LayerNorm was trained with eps={src.spec.head_eps:g} and MindCV's is 1e-6 "
                     "(the logits differ by less than 1e-5 either way)")
    return notes


def to_mindspore(src: Source, out: str | Path, *, overwrite: bool = False) -> Converted:
    """Write ``src`` as a MindCV-layout ``.ckpt`` at ``out`` (with MindSpore's CRC-32 trailer).

    Args:
        src: an opened source (:func:`hub_client.convert.open_source`).
        out: the file to create; it must not exist unless ``overwrite``.
        overwrite: replace ``out`` once the new file is complete.

    Returns:
        What was written, with the numerics notes for MindCV's network.

    Raises:
        UsageError: ``out`` exists and ``overwrite`` is False.
        CheckpointError: a tensor of a dtype MindSpore has no type for.
    """
    out = Path(out)
    if isinstance(src.spec, ZooSpec):  # opened in MindCV's names and order, filling MindCV's network exactly
        order = list(src.state)
        notes = list(src.notes)
    else:
        order = list(mindcv_shapes(src.spec))  # in MindCV's own order
        notes = numerics_notes(src)
    with staged_file(out, overwrite=overwrite) as tmp:
        size = ckpt.write(tmp, {k: src.state[k] for k in order})
    if src.set_aside:
        notes.append(f"left out {len(src.set_aside)} training-state entries (optimizer moments, step counters)")
    return Converted(out, [out], size, notes)
