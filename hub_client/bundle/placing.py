"""``hub bundle import``: a bundle checked whole (archive, manifest, cards, trust policy), then placed where a
pull would have put it (the cache, the HF cache, the registry), so the models load offline.

Every check comes before the first write: a refused bundle changes nothing. Placing is idempotent: a blob
already stored is kept, links and cards are replaced atomically with the same content.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hub_client.fetch.cache import Cache, link, safe_component
from hub_client.fetch.digests import Address, address_digest
from hub_client.fetch.pull import check_digest
from hub_client.fetch.signed import trust_rule
from hub_client.provenance import SIGNATURE_FILE, compare, first_holding, skipped
from registry.atomic import write_text
from registry.errors import IntegrityError, SignatureError
from registry.record import Dialect, ModelRecord
from registry.settings import Settings

from .manifest import BundleModel
from .reading import Staged, read_bundle

#: Where imported MindSpore Hub cards are kept in a home: a source of its registry.
BUNDLED_CARDS = "bundles"


@dataclass(frozen=True)
class Checked:
    """A model of a bundle that passed every check, with the record its card gives."""

    entry: BundleModel
    record: ModelRecord
    card_path: Path | None
    card_text: str | None


def staging_folder(settings: Settings) -> Path:
    return settings.home / "incomplete" / f"bundle-{uuid.uuid4().hex[:12]}"


def check_models(staged: Staged, settings: Settings) -> list[Checked]:
    """Each model of ``staged`` against its card and the trust policy (``settings.trust_file``).

    Raises:
        ArchiveError: a card with no usable record or another uid than the manifest's, an asset the bundle lacks
            or holds with bytes other than the card's, a path that could leave the model's folder, a Hugging Face
            file whose address is not its bytes', or a signature a trust rule asks for that does not hold.
    """
    return [_check(staged, m, settings) for m in staged.manifest.models]


def _check(staged: Staged, m: BundleModel, settings: Settings) -> Checked:
    from registry.card.analyze import analyze_text

    for f in m.files:
        rel = PurePosixPath(f.name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or "\\" in f.name:
            raise staged.refuse(f"{m.name}: the file name {f.name!r} could leave the model's folder")
    by_name = {f.name: f for f in m.files}
    card_path, card_text = None, None
    if m.dialect == "mindspore-hub":
        parts = [safe_component(p) for p in m.uid.split("/") if p.strip()]
        card_path = settings.home / BUNDLED_CARDS / "assets" / Path(*parts).with_suffix(".md")
        card_text = staged.cards[m.card or ""]
        record = analyze_text(card_text, path=str(card_path)).record
        if record is None or record.name != m.name:
            said = "no usable record" if record is None else f"the name {record.name}"
            raise staged.refuse(f"{m.name}: its card gives {said}, the manifest says {m.name}")
        for asset in record.assets:
            held = by_name.get(asset.filename)
            if held is None:
                raise staged.refuse(f"{m.name}: its card names {asset.filename}, which the bundle does not hold")
            try:
                check_digest(held.sha256, asset, f"{staged.source}: {asset.filename}")
            except IntegrityError as e:
                raise staged.refuse(f"{m.name}: {asset.filename} is not the file its card names ({e.expected} "
                                    f"expected, {e.actual} held)") from None
    else:
        record = ModelRecord(name=m.name, uid=m.uid, dialect=Dialect.HUGGINGFACE, revision=m.revision, refs=m.refs)
        if not m.revision:
            raise staged.refuse(f"{m.name}: a Hugging Face repo with no commit")
        for f in m.files:
            if f.address is None or address_digest(staged.blobs[f.sha256], _kind(f.address)) != f.address:
                raise staged.refuse(f"{m.name}: {f.name} is not the file its address {f.address} names")
    rule = trust_rule(record, settings)
    if rule is not None:
        sig = by_name.get(SIGNATURE_FILE)
        try:
            if sig is None:
                raise SignatureError(m.uid, f"the bundle holds no {SIGNATURE_FILE} for it", rule=rule.where)
            signed, anchor = first_holding(staged.blobs[sig.sha256], rule.anchors, model=m.uid, rule=rule.where)
            compare(signed, {f.name: f.sha256 for f in m.files if not skipped(f.name)}, model=m.uid,
                    signer=anchor.describe(), partial=True, rule=rule.where)
        except SignatureError as e:
            raise staged.refuse(str(e)) from None
    return Checked(m, record, card_path, card_text)


def _kind(address: str) -> Address:
    return "sha256" if len(address) == 64 else "git blob id"


def place(source: Path, dest: Path) -> None:
    """``source``'s bytes at ``dest`` (a hard link where the file system allows, else a copy), atomically; an
    existing ``dest`` is kept (its name is its digest: the same bytes)."""
    if dest.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.bundle.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o444)
    os.replace(tmp, dest)


def import_bundle(path: Path, *, settings: Settings) -> list[Checked]:
    """Check the bundle ``path`` whole, then place its models in the home of ``settings`` (and its HF cache), so
    they resolve and load with ``HUB_OFFLINE=1``.

    Raises:
        ArchiveError: any check fails (see :func:`read_bundle` and :func:`check_models`); nothing was changed.
    """
    staging = staging_folder(settings)
    try:
        staged = read_bundle(path, staging)
        checked = check_models(staged, settings)
        place_models(checked, staged, settings)
        return checked
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def place_models(checked: list[Checked], staged: Staged, settings: Settings, *, repos: bool = True) -> None:
    """Place checked models in the home of ``settings`` (with ``repos=False``, the MindSpore Hub ones only), and
    make the bundled cards a source of its registry."""
    for c in checked:
        if repos or c.card_path is not None:
            _place_model(c, staged, settings)
    if any(c.card_path is not None for c in checked):
        from registry.store.db import Registry

        with Registry(settings=settings) as reg:
            reg.add_source(settings.home / BUNDLED_CARDS)
            reg.sync()


def _place_model(c: Checked, staged: Staged, settings: Settings) -> None:
    cache = Cache(settings.home)
    if c.card_path is not None:  # a MindSpore Hub card: its assets in the cache, linked as a pull links them
        folder = cache.model_dir(c.record)
        for f in c.entry.files:
            blob = cache.blob_path(f.sha256)
            place(staged.blobs[f.sha256], blob)
            cache.mark_verified(blob, "sha256", f.sha256)
            link(folder / safe_component(f.name), blob)
        write_text(c.card_path, c.card_text or "")
        return
    from hub_client.fetch.hf import remember_listing
    from hub_client.fetch.hf_files import repo_folder, snapshot_file, write_ref
    from hub_client.fetch.remote import keep_card

    m = c.entry
    sha = m.revision or ""
    files = {}
    for f in m.files:
        blob = repo_folder(settings.hf_cache, m.uid) / "blobs" / (f.address or f.sha256)
        place(staged.blobs[f.sha256], blob)
        cache.mark_verified(blob, "hf", f.address or f.sha256)
        files[f.name] = link(snapshot_file(settings.hf_cache, m.uid, sha, f.name), blob)
    for ref in m.refs or ["main"]:
        write_ref(settings.hf_cache, m.uid, ref, sha)
    remember_listing(settings.listings, m.uid, sha, sorted(files))
    keep_card(m.uid, sha, refs=[*m.refs, "HEAD"] if "main" in m.refs else m.refs, names=sorted(files),
              readme=files.get("README.md"), config=files.get("config.json"), endpoint=m.endpoint or "bundle",
              settings=settings)
