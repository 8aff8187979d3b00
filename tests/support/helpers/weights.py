"""Real MindCV-layout checkpoints for the loader tests, written by MindSpore and served by nginx."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mindspore as ms
import numpy as np

from hub_client.models import ms_convnext, zoo
from hub_client.models.ms_backend import no_draws as no_init_draws  # noqa: F401  (for the tests)
from hub_client.models.spec import spec_for_variant

from .publish import MS_CARD, index, publish, unique


def make_ckpt(path: Path, variant: str, *, seed: int = 0, extra: dict[str, np.ndarray] | None = None,
              drop: str | None = None, num_classes: int = 1000) -> dict[str, np.ndarray]:
    """A checkpoint in MindCV layout, written by mindspore.save_checkpoint, with non-trivial values everywhere."""
    net = ms_convnext.build(spec_for_variant(variant, num_classes=num_classes), init_weights=False)
    rng = np.random.default_rng(seed)
    values = {n: (rng.standard_normal(s) * 0.05).astype(np.float32) for n, s in ms_convnext.param_shapes(net).items()}
    for n in values:  # LayerNorm scales near 1, as trained networks have
        if n.endswith(".gamma") and ".grn." not in n:
            values[n] += 1.0
    if drop:
        values.pop(drop)
    values.update(extra or {})
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(v)} for n, v in values.items()], str(path))
    return values


def serve(nginx, cards, tmp_path, variant: str, **kw) -> tuple[str, dict[str, np.ndarray]]:
    """A MindCV-layout checkpoint of ``variant`` on nginx under a fresh card (prefix sha256); its name and values."""
    name = unique(variant)
    values = make_ckpt(tmp_path / "w.ckpt", variant, **kw)
    publish(nginx.root, cards, name, (tmp_path / "w.ckpt").read_bytes(), base=nginx.url, prefix=True)
    index(cards)
    return name, values


def trained_mindcv(arch: str, seed: int, **kwargs):
    """MindCV's network of ``arch`` with trained-looking weights (``trained_looking``), built without the initial
    draws those replace; in inference mode."""
    import mindcv

    with no_init_draws():
        net = mindcv.create_model(arch, pretrained=False, **kwargs)
        trained_looking(net, seed)
    net.set_train(False)
    return net


def trained_looking(net, seed: int) -> None:
    """Every parameter drawn again, BatchNorm statistics away from 0/1, as a trained network has them; what the
    network computed for itself and does not train (Swin's relative position index and window mask) is kept."""
    rng = np.random.default_rng(seed)
    for p in net.get_parameters():
        if p.has_init:  # drawn lazily by MindSpore: draw it now, to overwrite it
            p.init_data()
        if not p.requires_grad and not p.name.endswith(("moving_mean", "moving_variance")):
            continue
        shape = tuple(p.shape)
        if p.name.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, shape)
        elif p.name.endswith(("moving_mean", "beta", "bias")):
            value = rng.normal(0, 0.1, shape)
        elif p.name.endswith("gamma"):
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0, 0.05, shape)
        p.set_data(ms.Tensor(value.astype(np.float32 if p.dtype == ms.float32 else np.float16)))


def serve_zoo(nginx, cards, tmp_path, arch: str, net, *, card_name: str | None = None) -> str:
    """``net``'s parameters saved by MindSpore and served by nginx as MindCV names its assets, under a card in
    the catalogue's own form (the model name may differ from MindCV's: ``vit_b32_224``)."""
    ckpt = tmp_path / f"{arch}.ckpt"
    ms.save_checkpoint(net, str(ckpt))
    return serve_zoo_file(nginx, cards, arch, ckpt.read_bytes(), card_name=card_name)


def serve_zoo_file(nginx, cards, arch: str, data: bytes, *, card_name: str | None = None) -> str:
    """``data`` on nginx as MindCV names ``arch``'s assets, under a fresh catalogue-form card; the card's name."""
    digest = hashlib.sha256(data).hexdigest()
    name = unique(card_name or arch)
    rel = f"toolkits/mindcv/{name}/{arch}-{digest[:8]}-910v2.ckpt"
    (nginx.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (nginx.root / rel).write_bytes(data)
    card = MS_CARD.format(name=name, link=f"{nginx.url}/{rel}", sha=digest[:8])
    family = zoo.table()[arch].module
    (cards / f"{name}.md").write_text(card.replace("backbone-name: convnext", f"backbone-name: {family}"))
    index(cards)
    return name
