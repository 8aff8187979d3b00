"""Publishing test assets on the loopback servers and cards that point at them."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from registry.settings import Settings

MS_CARD = """# {name}

---

model-name: {name}
backbone-name: convnext
module-type: cv-classification
fine-tunable: true
model-version: "2.5"
train-dataset: ImageNet2012
evaluation: top1acc81.28 | top5acc95.61
author: hub tests
update-time: 2025-03-10
repo-link: https://download-mindspore.osinfra.cn/toolkits/mindcv/
user-id: tests
used-for: inference
mindspore-version: "2.5"
asset:
- file-format: ckpt
  asset-link: {link}
  asset-sha256: {sha}
license: Apache-2.0
summary: a test model served on loopback

---

# {name}
"""


HF_CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: image-classification
tags:
- image-classification
---

# {name}
"""


@dataclass
class Published:
    name: str
    data: bytes
    digest: str
    rel: str  #: path of the file under the server root, e.g. toolkits/mindcv/x/x-1234abcd-910v2.ckpt
    link: str  #: the asset-link written in the card

    @property
    def uri(self) -> str:
        return "/" + self.rel


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic incompressible bytes (a stand-in for a checkpoint; the loader tests use real ones)."""
    out = bytearray()
    block = hashlib.sha256(f"seed{seed}".encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def publish(root: Path, cards: Path, name: str, data: bytes, *, base: str, prefix: bool = False,
            sha: str | None = None) -> Published:
    """Serve ``data`` under ``root`` with a MindCV-style name and write a card for it into ``cards``."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"toolkits/mindcv/{name}/{name}-{digest[:8]}-910v2.ckpt"
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    link = f"{base}/{rel}"
    card_sha = sha if sha is not None else (digest[:8] if prefix else digest)
    (cards / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
    (cards / f"{name}.md").write_text(MS_CARD.format(name=name, link=link, sha=card_sha))
    return Published(name, data, digest, rel, link)


def index(cards: Path, settings: Settings | None = None) -> None:
    """Add ``cards`` to the registry ``settings`` name (None: the test environment's, as an edge reads it)."""
    from registry import Registry

    with Registry(settings=settings) as reg:
        reg.add_source(cards)
        reg.sync()


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest()[:6]}"


def publish_hf_repo(server, cards: Path, repo_id: str, files: dict[str, bytes]) -> str:
    """``files`` as the Hugging Face repo ``repo_id`` on the HF-compatible test server, with an HF card indexed for
    it (its README unless ``files`` has one); the repo id."""
    files = {"README.md": HF_CARD.format(name=repo_id).encode(), **files}
    server.add(repo_id, files)
    (cards / f"{repo_id.replace('/', '__')}.md").write_text(HF_CARD.format(name=repo_id))
    index(cards)
    return repo_id
