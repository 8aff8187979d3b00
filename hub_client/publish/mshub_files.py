"""A MindCV checkpoint published with a MindSpore Hub card: the asset by content, then its card, then the
target's catalogue (``catalog.tar.gz`` of every card there, which ``update --from URL`` reads).

The order is what makes a failure harmless: until the card is written, nothing points at the new asset; a
retry finds the asset already stored (same size, same hash) and uploads nothing.
"""

from __future__ import annotations

import datetime as dt
import getpass
import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from registry.card.compose import MsCardFields, mindspore_card
from registry.errors import UsageError
from registry.record import benchmark_key

from .package import Package, check_name

if TYPE_CHECKING:
    from hub_client.provenance import SigningKey
from .targets import CHUNK, AssetTarget, final_name

CATALOG = "catalog.tar.gz"


@dataclass(frozen=True)
class CardOptions:
    """The card fields a publisher may set; what is None is worked out (see :func:`card_fields`)."""

    license: str = "Apache-2.0"
    author: str | None = None
    dataset: str | None = None
    evaluation: str | None = None
    summary: str | None = None
    model_version: str = "1.0"
    mindspore_version: str | None = None
    user_id: str | None = None
    repo_link: str | None = None
    updated: dt.date | None = None


@dataclass
class Published:
    name: str
    where: str
    sha256: str
    link: str
    card: str
    uploaded: int
    wrote: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _mindspore_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version("mindspore").split(".")[:2])
    except PackageNotFoundError:
        return "2.5"


def card_fields(pkg: Package, name: str, opts: CardOptions, link: str, sha: str, repo_link: str) -> MsCardFields:
    """Every field of the card, from the options and the checkpoint; a dataset that contradicts the head is refused.

    Raises:
        UsageError: no training set given for a head that is not ImageNet-1k's, or one that contradicts it.
    """
    classes = pkg.spec.num_classes
    dataset = opts.dataset or ("ImageNet2012" if classes == 1000 else None)
    if dataset is None:
        raise UsageError(f"the checkpoint has a {classes}-class head: say what it was trained on (its dataset)")
    if benchmark_key(dataset) == "imagenet-1k" and classes != 1000:
        raise UsageError(f"the dataset {dataset!r} is ImageNet-1k (1000 classes), but the checkpoint's head has "
                         f"{classes}: give the dataset it was trained on")
    author = opts.author or getpass.getuser()
    summary = opts.summary or (f"{pkg.architecture} ({classes} classes), trained on {dataset}")
    return MsCardFields(
        model_name=name, backbone_name="convnextv2" if pkg.spec.version == 2 else "convnext",
        train_dataset=dataset, author=author, repo_link=opts.repo_link or repo_link, asset_link=link,
        asset_sha256=sha, license=opts.license, summary=summary, model_version=opts.model_version,
        mindspore_version=opts.mindspore_version or _mindspore_version(), user_id=opts.user_id or author,
        evaluation=opts.evaluation, updated=opts.updated or dt.date.today())


def _card_date(text: bytes | None, sha: str) -> dt.date | None:
    """The update-time of a card already published for the same bytes (so publishing again changes nothing)."""
    if not text or sha not in text.decode("utf-8", "replace"):
        return None
    from registry.card.analyze import analyze_text

    record = analyze_text(text.decode("utf-8", "replace")).record
    return record.updated if record else None


def catalog_archive(cards: dict[str, bytes]) -> bytes:
    """A reproducible ``.tar.gz`` of the cards (sorted, no times, no owners): the same cards, the same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(cards):
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(cards[rel]), 0o644, 0
            tar.addfile(info, io.BytesIO(cards[rel]))
    return gzip.compress(raw.getvalue(), mtime=0)


def publish_ckpt(pkg: Package, name: str, target: AssetTarget, opts: CardOptions,
                 signer: SigningKey | None = None) -> Published:
    """Publish a ``.ckpt`` and its card to ``target``; with ``signer``, its OpenSSF signature beside it
    (``<asset>.sig``), which the card names (``signature-link``).

    Raises:
        UsageError: a name or dataset that contradicts the checkpoint.
        InvalidCardError: a field that makes the card fail a lint rule (nothing is uploaded then).
        PublishError: the upload failed; nothing points at a partial asset, and a retry completes it.
    """
    check_name(pkg, name)
    folder = f"{name}/"
    # Check the card's fields before a byte moves: a placeholder link and digest stand in for the real ones.
    placeholder = final_name(folder, name, "0" * 64)
    mindspore_card(replace(card_fields(pkg, name, opts, target.url(placeholder), "0" * 64, target.url("")),
                           signature_link=target.url(f"{placeholder}.sig") if signer else None))
    sha, rel, uploaded = "", "", 0
    same_size = [r for r, size in target.sizes(folder).items() if size == pkg.size]
    if same_size:  # maybe this very file: hash it (the one read), and upload only if it is not there
        sha = sha256_file(pkg.path)
        rel = final_name(folder, name, sha)
        if rel not in same_size:
            sha, rel, uploaded = target.upload(pkg.path, folder, name)
    else:
        sha, rel, uploaded = target.upload(pkg.path, folder, name)
    card_rel = f"cards/{name}.md"
    old = target.read(card_rel)
    opts = replace(opts, updated=opts.updated or _card_date(old, sha))
    wrote = [rel] if uploaded else []
    signature = None
    if signer is not None:  # signed from the digest the upload computed: the asset is not read again
        from hub_client.provenance import sign_digests

        sig_rel = f"{rel}.sig"
        target.write(sig_rel, sign_digests(name, {rel.rsplit("/", 1)[-1]: sha}, signer), "application/json")
        wrote.append(sig_rel)
        signature = target.url(sig_rel)
    fields = replace(card_fields(pkg, name, opts, target.url(rel), sha, target.url("")), signature_link=signature)
    text = mindspore_card(fields).encode()
    if text != old:
        target.write(card_rel, text, "text/markdown; charset=utf-8")
        wrote.append(card_rel)
    cards = {r: target.read(r) or b"" for r in target.listing("cards/") if r.endswith(".md")}
    archive = catalog_archive(cards)
    if archive != target.read(CATALOG):
        target.write(CATALOG, archive, "application/gzip")
        wrote.append(CATALOG)
    return Published(name, target.where, sha, target.url(rel), target.url(card_rel), uploaded, wrote)
