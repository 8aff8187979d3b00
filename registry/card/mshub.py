"""The MindSpore Hub card dialect: its schema, its checks, and its record.

Allowed values follow MindSpore Hub's own card checker,
widened by what the published cards really use (``mm`` and ``gnn`` module types).
Its required-field list names ``input-shape`` and ``infer-backend``, but 563 of the
600 published cards have neither, so we require what every published card has.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePath
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from registry.record import AssetRecord, Dialect, MetricRecord, ModelRecord, VariantRecord, metric_key

from . import hashes, licenses, mshub_evaluation, tables
from .cardfile import CardFile
from .diagnostics import Collector, Severity
from .links import unbracket, unbracket_value
from .validation import as_text, report_validation, split_unknown
from .yamlnodes import YamlDoc

MODULE_TYPES = ("cv", "nlp", "audio", "recommend", "mm", "gnn", "other")
USED_FOR = ("inference", "extract-feature", "transfer-learning")
BACKENDS = ("cpu", "gpu", "ascend")
FileFormat = Literal["ckpt", "air", "onnx", "mindir", "mslite"]

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value.lower() not in allowed:
        raise PydanticCustomError(
            "value_not_allowed", "{what} not allowed", {"expected": " | ".join(allowed), "what": what}
        )
    return value.lower()


def _split_slash(value: Any, allowed: tuple[str, ...], what: str) -> Any:
    if not isinstance(value, str):
        return value  # the list type then reports the wrong type
    return [_one_of(v.strip(), allowed, what) for v in value.split("/") if v.strip()]


class MsAsset(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    file_format: FileFormat = Field(alias="file-format")
    asset_link: str = Field(alias="asset-link", min_length=1)
    asset_sha256: str = Field(alias="asset-sha256", min_length=1)

    @field_validator("file_format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    # Cards write links as markdown autolinks: <https://...>
    unbracket_links = field_validator("asset_link", mode="before")(unbracket_value)


class MindSporeCardData(BaseModel):
    """The front matter of a MindSpore Hub card, typed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    model_name: str = Field(alias="model-name", min_length=1)
    backbone_name: str = Field(alias="backbone-name", min_length=1)
    module_type: str = Field(alias="module-type", min_length=1)
    fine_tunable: bool = Field(alias="fine-tunable")
    model_version: str = Field(alias="model-version", min_length=1)
    train_dataset: str = Field(alias="train-dataset", min_length=1)
    evaluation: str | None = None
    accuracy: float | None = None
    mAP: float | None = None  # noqa: N815 - the card key
    author: str = Field(min_length=1)
    update_time: dt.date = Field(alias="update-time")
    repo_link: str = Field(alias="repo-link", min_length=1)
    user_id: str = Field(alias="user-id", min_length=1)
    used_for: list[str] = Field(alias="used-for", min_length=1)
    mindspore_version: str = Field(alias="mindspore-version", min_length=1)
    asset: list[MsAsset] = Field(min_length=1)
    license: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    input_shape: list[int | list[int]] | None = Field(default=None, alias="input-shape")
    train_backend: list[str] | None = Field(default=None, alias="train-backend")
    infer_backend: list[str] | None = Field(default=None, alias="infer-backend")
    mindspore_lite: bool | None = Field(default=None, alias="mindspore-lite")
    allow_cache_ckpt: bool | None = Field(default=None, alias="allow-cache-ckpt")
    featured_image: str | None = Field(default=None, alias="featured-image")
    #: Where the assets' OpenSSF model signature (``model.sig``) lies; not a MindSpore Hub key, but ``hub publish
    #: --sign-key`` writes it, and a trust policy (``HUB_TRUST``) asks for it.
    signature_link: str | None = Field(default=None, alias="signature-link")

    @field_validator("module_type")
    @classmethod
    def _module_type(cls, v: str) -> str:
        _one_of(v.split("-", 1)[0], MODULE_TYPES, "module-type")
        return v

    @field_validator("used_for", mode="before")
    @classmethod
    def _used_for(cls, v: Any) -> Any:
        return _split_slash(v, USED_FOR, "used-for")

    @field_validator("train_backend", "infer_backend", mode="before")
    @classmethod
    def _backend(cls, v: Any) -> Any:
        return _split_slash(v, BACKENDS, "backend")

    unbracket_links = field_validator("repo_link", "featured_image", "signature_link", mode="before")(unbracket_value)

    @field_validator("update_time", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _DATE.match(v.strip())
            if m:
                try:
                    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    raise PydanticCustomError("date_invalid", "not a calendar date") from None
        return v


ALIASES = tuple(f.alias or n for n, f in MindSporeCardData.model_fields.items())
ASSET_ALIASES = tuple(f.alias or n for n, f in MsAsset.model_fields.items())
_TEXT_KEYS = (
    "model-name", "backbone-name", "module-type", "model-version", "train-dataset", "evaluation", "author",
    "repo-link", "user-id", "used-for", "mindspore-version", "license", "summary", "train-backend",
    "infer-backend", "featured-image", "signature-link",
)
_ASSET_TEXT_KEYS = ("file-format", "asset-link", "asset-sha256")
_VERSION_KEYS = ("model-version", "mindspore-version")
MS_ONLY_KEYS = frozenset({"model-name", "backbone-name", "module-type", "mindspore-version", "asset", "user-id"})


def check(doc: YamlDoc, cf: CardFile, out: Collector) -> MindSporeCardData | None:
    """Validate a MindSpore Hub front matter; report every problem; return the data when it is usable."""
    block_line = cf.fm_open_line or 1
    data = split_unknown(doc.data, ALIASES, doc, out, (), "a MindSpore Hub card")
    data = as_text(data, _TEXT_KEYS, doc, ())
    if isinstance(data.get("asset"), list):
        assets = []
        for i, item in enumerate(data["asset"]):
            if isinstance(item, dict):
                item = split_unknown(item, ASSET_ALIASES, doc, out, ("asset", i), "an asset entry")
                item = as_text(item, _ASSET_TEXT_KEYS, doc, ("asset", i))
            assets.append(item)
        data["asset"] = assets
    _check_versions(doc, out)
    _check_date_text(doc, out)
    try:
        card = MindSporeCardData.model_validate(data)
    except ValidationError as e:
        report_validation(e, doc, out, (), "the front matter", block_line)
        card = None
    # Checks of single values run whatever the schema said of the rest, so all problems show at once.
    _check_assets(data.get("asset"), doc, out)
    _check_links(doc, out)
    if isinstance(data.get("license"), str) and data["license"].strip():
        _check_license(data["license"], doc, out)
    if isinstance(data.get("evaluation"), str):
        name = data.get("model-name")
        _check_evaluation(data["evaluation"], name if isinstance(name, str) else None, cf, doc, out)
    return card


def _check_versions(doc: YamlDoc, out: Collector) -> None:
    for key in _VERSION_KEYS:
        p = (key,)
        if doc.plain_tag.get(p) in ("float", "int"):
            raw = doc.raw[p]
            read = repr(float(raw)) if doc.plain_tag[p] == "float" else str(int(raw))
            pos = doc.pos[p]
            if read != raw:
                out.add("version-as-float",
                        f"'{key}: {raw}' is read by YAML as the number {read}; quote it: {key}: \"{raw}\"",
                        pos.line, pos.col)
            else:  # harmless today, but tools that compare it as a number get 2.10 < 2.9
                out.add("version-as-float", f"'{key}: {raw}' is a YAML number, not text; quote it so every tool "
                        f"reads the version as written: {key}: \"{raw}\"", pos.line, pos.col, Severity.INFO)


def _check_date_text(doc: YamlDoc, out: Collector) -> None:
    p = ("update-time",)
    raw = doc.raw.get(p)
    if raw is not None and _DATE.match(raw.strip()) and not _ISO_DATE.match(raw.strip()):
        y, m, d = (int(x) for x in raw.strip().split("-"))
        pos = doc.pos[p]
        out.add("date-not-iso", f"update-time '{raw}' is not ISO 8601: write {y:04d}-{m:02d}-{d:02d}",
                pos.line, pos.col)


def _check_assets(assets: Any, doc: YamlDoc, out: Collector) -> None:
    if not isinstance(assets, list):
        return
    for i, item in enumerate(assets):
        if not isinstance(item, dict):
            continue
        sha = item.get("asset-sha256")
        link = item.get("asset-link")
        if not isinstance(sha, str) or not sha.strip():
            continue
        pos = doc.pos.get(("asset", i, "asset-sha256")) or doc.where(("asset", i))
        spec = hashes.parse_sha256(sha)
        if spec.kind is hashes.HashKind.INVALID:
            if spec.problem and "non-hex" in spec.problem:
                rule = "sha256-not-hex"
            elif len(spec.text) < hashes.MIN_PREFIX:
                rule = "sha256-prefix-short"
            else:
                rule = "sha256-length"
            out.add(rule, f"asset-sha256 '{sha}' is not usable: {spec.problem}; "
                    "write the file's full sha256 (64 hex digits, `sha256sum FILE`)", pos.line, pos.col)
            continue
        if spec.kind is hashes.HashKind.PREFIX:
            out.add("sha256-prefix", f"asset-sha256 '{sha}' is only a prefix ({len(spec.text)} hex digits): downloads "
                    "can be checked only against it; publish the full 64-digit sha256", pos.line, pos.col)
        if isinstance(link, str):
            url = unbracket(link)
            in_name = hashes.hash_in_name(hashes.file_name(url))
            if in_name and not hashes.agree(in_name, spec.text):
                out.add("asset-hash-mismatch", f"the file name {hashes.file_name(url)!r} carries hash "
                        f"{in_name!r} but asset-sha256 is {spec.text!r}: one of them points at another file",
                        pos.line, pos.col)


def _check_links(doc: YamlDoc, out: Collector) -> None:
    for p, raw in doc.raw.items():
        if not p or p[-1] not in ("asset-link", "repo-link", "signature-link"):
            continue
        url = unbracket(raw)
        pos = doc.pos[p]
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        try:
            urlsplit(url).port  # noqa: B018 - parses the host and port, raising on malformed ones
        except ValueError as e:
            out.add("bad-link", f"{p[-1]} {raw!r} is not a valid URL ({e}): check the host part", pos.line, pos.col)
            continue
        if not scheme:
            out.add("bad-link", f"{p[-1]} {raw!r} is not an absolute URL: write https://host/path", pos.line, pos.col)
        elif scheme != "https":
            out.add("insecure-link", f"{p[-1]} uses {scheme}://, which can be tampered with in transit: "
                    f"use https://", pos.line, pos.col)


def _check_license(text: str, doc: YamlDoc, out: Collector) -> None:
    pos = doc.pos[("license",)]
    spdx = licenses.normalize(text)
    if spdx is None:
        out.add("license-unknown", f"license {text!r} is not an SPDX id: write one such as Apache-2.0 or MIT, "
                "or 'other' and describe it in the body", pos.line, pos.col)
    elif not licenses.is_canonical(text):
        out.add("license-alias", f"license {text!r} is read as SPDX {spdx!r}: write that", pos.line, pos.col)


def _check_evaluation(text: str, model_name: str | None, cf: CardFile, doc: YamlDoc, out: Collector) -> None:
    pos = doc.pos[("evaluation",)]
    ev = mshub_evaluation.parse(text)
    if not ev.ok:
        out.add("evaluation-unparseable", f"evaluation {text!r} has no metric: write name and value "
                "glued, separated by ' | ', e.g. 'top1acc81.28 | top5acc95.61'", pos.line, pos.col)
        return
    for name, first, later in ev.duplicates:
        out.add("evaluation-duplicate-metric", f"evaluation names {name} twice ({first:g}, then {later:g}); the "
                f"first is kept: rename the other (a top5acc written as top1acc?)", pos.line, pos.col)
    if not model_name:
        return
    rows = [r for r in tables.parse(cf.body, first_line=cf.body_line) if r.model.lower() == model_name.lower()]
    for row in rows:
        by_key = {metric_key(k): (k, v) for k, v in row.metrics.items()}
        for name, value in ev.metrics.items():
            hit = by_key.get(metric_key(name))
            if hit and abs(hit[1] - value) > 0.005:
                out.add("evaluation-table-mismatch",
                        f"evaluation says {name} {value:g} but the body's table (line {row.line}) says "
                        f"{hit[0]} {hit[1]:g} for {row.model}: make them agree, or say which checkpoint each "
                        "figure belongs to", pos.line, pos.col)


def _uid(path: str | None, card: MindSporeCardData) -> str:
    """``publisher/version/name`` from the file's place in an assets tree, as MindSpore Hub writes uids."""
    if path:
        parts = PurePath(path).with_suffix("").parts
        if "assets" in parts:
            return "/".join(parts[parts.index("assets") + 1 :])
        if len(parts) >= 3:
            return "/".join(parts[-3:])
    return card.model_name


def to_record(card: MindSporeCardData, cf: CardFile, uid: str | None = None) -> ModelRecord:
    ev = mshub_evaluation.parse(card.evaluation) if card.evaluation else None
    metrics = [MetricRecord(name=k, value=v, dataset=card.train_dataset) for k, v in (ev.metrics if ev else {}).items()]
    if card.accuracy is not None:
        metrics.append(MetricRecord(name="accuracy", value=card.accuracy, dataset=card.train_dataset))
    if card.mAP is not None:
        metrics.append(MetricRecord(name="mAP", value=card.mAP, dataset=card.train_dataset))
    assets = []
    for a in card.asset:
        spec = hashes.parse_sha256(a.asset_sha256)
        name = hashes.file_name(a.asset_link)
        kind: Literal["full", "prefix", "none"] = (
            "full" if spec.kind is hashes.HashKind.FULL else "prefix" if spec.kind is hashes.HashKind.PREFIX else "none"
        )
        assets.append(AssetRecord(
            filename=name, format=a.file_format, url=a.asset_link, sha256=None if kind == "none" else spec.text,
            sha256_kind=kind, name_hash=hashes.hash_in_name(name),
        ))
    variants = [
        VariantRecord(name=r.model, metrics=r.metrics, weights=list(r.weights), line=r.line)
        for r in tables.parse(cf.body, first_line=cf.body_line) if r.weights
    ]
    return ModelRecord(
        name=card.model_name, uid=uid or _uid(cf.path, card), dialect=Dialect.MINDSPORE_HUB, title=cf.title,
        architecture=card.backbone_name.lower(), framework="mindspore", task=card.module_type,
        datasets=[card.train_dataset], metrics=metrics, evaluation_raw=card.evaluation, assets=assets,
        license=licenses.normalize(card.license), license_raw=card.license, version=card.model_version,
        mindspore_version=card.mindspore_version, updated=card.update_time, summary=card.summary,
        author=card.author, card_path=cf.path, body=cf.body, variants=variants, signature_url=card.signature_link,
    )
