"""Train the reference model: a narrow ConvNeXt V2 on scikit-learn's handwritten digits, published both ways.

    python training/train_digits.py [--epochs 60] [--seed 0] [--out models/convnextv2_digits]

Real data (the 1,797 scans scikit-learn ships), a fixed held-out split (every 4th scan, 450 images; see
``hub_client.inference.data.digits_split``), and the exact preprocessing ``hub eval`` uses. Trained in PyTorch with
MindSpore-compatible numerics (tanh GELU, LayerNorm eps 1e-6, 32-pixel inputs, where MindSpore's 'same'
padding pads nothing), so the MindSpore checkpoint and the Hugging Face repo are the same function. Writes:

- ``<out>/convnextv2_digits-<sha8>.ckpt``: MindCV parameter names, written by ``mindspore.save_checkpoint``;
- ``<out>/hf/``: ``config.json``, ``model.safetensors``, ``preprocessor_config.json``, ``README.md`` (the HF card);
- ``cards/mindspore/2.5/convnextv2_digits.md`` and ``cards/huggingface/hub-project__convnextv2-digits.md``,
  with the measured held-out accuracy and the files' real sha256s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub_client.inference.data import digit_image, digits_split  # noqa: E402
from hub_client.models.labels import DIGITS_LABELS  # noqa: E402
from hub_client.models.preprocess import DIGITS_PREPROCESS  # noqa: E402
from hub_client.weights.naming import hf_to_mindcv  # noqa: E402

DEPTHS = [2, 2, 2, 2]
DIMS = [16, 32, 64, 128]
HF_REPO = "hub-project/convnextv2-digits"
ASSET_BASE = "https://download-mindspore.osinfra.cn/toolkits/hub/convnextv2_digits"


def tensors(images: np.ndarray) -> np.ndarray:
    return np.stack([DIGITS_PREPROCESS.image(digit_image(img)) for img in images])


def train(epochs: int, seed: int):  # noqa: ANN201 (torch types stay local to this script)
    import torch
    import transformers

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(seed)
    xtr, ytr, xte, yte = digits_split()
    xtr_t, xte_t = torch.from_numpy(tensors(xtr)), torch.from_numpy(tensors(xte))
    ytr_t = torch.from_numpy(ytr).long()
    cfg = transformers.ConvNextV2Config(
        depths=DEPTHS, hidden_sizes=DIMS, num_labels=10, id2label=dict(enumerate(DIGITS_LABELS)),
        label2id={v: i for i, v in enumerate(DIGITS_LABELS)}, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
        drop_path_rate=0.0, image_size=32)
    model = transformers.ConvNextV2ForImageClassification(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.05)
    steps_per_epoch = -(-len(ytr) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.1)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(ytr)))
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            x = xtr_t[idx]
            # shift by up to 2 pixels: the scans are centred, the held-out ones not always exactly
            dx, dy = (int(v) for v in rng.integers(-2, 3, 2))
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            loss = torch.nn.functional.cross_entropy(model(pixel_values=x).logits, ytr_t[idx],
                                                     label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1}: loss {loss.item():.3f} held-out top-1 {accuracy(model, xte_t, yte)[0]:.2f}% "
                  f"({time.time() - start:.0f} s)", flush=True)
    return model.eval(), xte_t, yte


def accuracy(model, x, y) -> tuple[float, float]:  # noqa: ANN001
    import torch

    model.eval()
    with torch.inference_mode():
        logits = model(pixel_values=x).logits.numpy()
    top5 = np.argsort(-logits, axis=1)[:, :5]
    return float((top5[:, 0] == y).mean() * 100), float((top5 == y[:, None]).any(axis=1).mean() * 100)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


MS_CARD = """# convnextv2_digits

---

model-name: convnextv2_digits

backbone-name: convnextv2

module-type: cv-classification

fine-tunable: true

model-version: "1.0"

train-dataset: sklearn-digits

evaluation: top1acc{top1:.2f} | top5acc{top5:.2f}

author: hub project

update-time: {date}

repo-link: <https://github.com/hub-project/hub/tree/main/training>

user-id: hub-project

used-for: inference

mindspore-version: "2.5"

asset:

- file-format: ckpt
  asset-link: <{link}>
  asset-sha256: {sha}

license: Apache-2.0

summary: A narrow ConvNeXt V2 (depths 2-2-2-2, widths 16-32-64-128) trained on scikit-learn's handwritten digits

---

# convnextv2_digits

The project's reference model: trained for real by `training/train_digits.py` on the 1,347 training scans of
scikit-learn's handwritten digits, evaluated on the 450 held-out scans (every 4th), upscaled from 8 to 32 pixels.
The architecture is read from the checkpoint: ConvNeXt V2, depths 2-2-2-2, widths 16-32-64-128, 10 classes.

| model | top-1 (%) | top-5 (%) | params | weights |
|---|---|---|---|---|
| convnextv2_digits | {top1:.2f} | {top5:.2f} | {params} | [ckpt]({link}) |

The file ships in the project's repository (`models/convnextv2_digits/`); the quickstart serves it from a local
mirror (`HUB_MIRRORS`), as a company mirror of the MindSpore download server would.
"""

HF_CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: image-classification
tags:
- image-classification
- convnextv2
datasets:
- sklearn-digits
metrics:
- accuracy
model-index:
- name: convnextv2-digits
  results:
  - task:
      type: image-classification
      name: Image Classification
    dataset:
      name: scikit-learn handwritten digits (held-out every 4th scan)
      type: sklearn-digits
      split: test
    metrics:
    - type: accuracy
      value: {acc:.4f}
      name: Accuracy
---

# convnextv2-digits

A narrow ConvNeXt V2 (depths 2-2-2-2, widths 16-32-64-128) trained by `training/train_digits.py` on the 1,347
training scans of scikit-learn's handwritten digits; {top1:.2f}% top-1 on the 450 held-out scans. Inputs are the
8x8 scans upscaled to 32x32 (bicubic), grey replicated to RGB, normalised with mean 0.5 and std 0.5.
The same weights are published as a MindSpore checkpoint under the MindSpore Hub card `convnextv2_digits`.

| file | sha256 |
|---|---|
| model.safetensors | {sha_safetensors} |
| config.json | {sha_config} |
| preprocessor_config.json | {sha_preprocessor} |
"""


def publish(model, out: Path, top1: float, top5: float, date: str) -> dict[str, str]:  # noqa: ANN001
    import mindspore as ms
    from safetensors.torch import save_file

    hf = out / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    model.config.to_json_file(str(hf / "config.json"))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(hf / "model.safetensors"), metadata={"format": "pt"})
    pre = {"image_processor_type": "ConvNextImageProcessor", "do_resize": True, "size": {"shortest_edge": 32},
           "crop_pct": 1.0, "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    (hf / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")
    (hf / "README.md").write_text(HF_CARD.format(
        acc=top1 / 100, top1=top1, sha_safetensors=sha256(hf / "model.safetensors"),
        sha_config=sha256(hf / "config.json"), sha_preprocessor=sha256(hf / "preprocessor_config.json")))
    for old in out.glob("convnextv2_digits-*.ckpt"):
        old.unlink()
    tmp = out / "convnextv2_digits.ckpt"
    ms.save_checkpoint([{"name": hf_to_mindcv(k), "data": ms.Tensor(v.numpy())} for k, v in state.items()],
                       str(tmp))
    tmp.chmod(0o644)  # MindSpore writes its checkpoints read-only
    digest = sha256(tmp)
    ckpt = tmp.rename(out / f"convnextv2_digits-{digest[:8]}.ckpt")
    params = sum(v.numel() for v in state.values())
    link = f"{ASSET_BASE}/{ckpt.name}"
    cards = ROOT / "cards"
    (cards / "mindspore" / "2.5" / "convnextv2_digits.md").write_text(
        MS_CARD.format(top1=top1, top5=top5, date=date, link=link, sha=digest, params=f"{params / 1e6:.2f}M"))
    (cards / "huggingface" / f"{HF_REPO.replace('/', '__')}.md").write_text((hf / "README.md").read_text())
    return {"ckpt": str(ckpt.relative_to(ROOT)), "sha256": digest, "params": str(params)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "convnextv2_digits")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    args = ap.parse_args()
    model, xte, yte = train(args.epochs, args.seed)
    top1, top5 = accuracy(model, xte, yte)
    print(f"held-out (450 scans): top-1 {top1:.2f}%  top-5 {top5:.2f}%")
    print(json.dumps(publish(model, args.out, top1, top5, args.date), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
