"""The Hugging Face card dialect: metadata checks, model-index, and its record.

``model-index`` is read by huggingface_hub's own ``ModelCardData``/``EvalResult``
(so we agree with the Hub on what it means); before that, a structural walk
with positions says *where* a malformed index is wrong, which the library's
``KeyError`` cannot.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from registry.record import Dialect, MetricRecord, ModelRecord

from . import licenses
from .cardfile import CardFile
from .diagnostics import Collector
from .validation import report_validation, split_unknown
from .yamlnodes import Path, YamlDoc

#: The Hub accepts a single string where a list is meant (``license: mit``); one error per bad value.
StrOrList = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class HfCardData(BaseModel):
    """Model-card metadata keys the Hugging Face Hub documents, typed as the Hub accepts them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    language: StrOrList | None = None
    license: StrOrList | None = None
    license_name: str | None = None
    license_link: str | None = None
    library_name: str | None = None
    tags: list[str] | None = None
    datasets: StrOrList | None = None
    metrics: StrOrList | None = None
    base_model: StrOrList | None = None
    base_model_relation: str | None = None
    new_version: str | None = None
    pipeline_tag: str | None = None
    model_index: list[dict[str, Any]] | None = Field(default=None, alias="model-index")
    model_name: str | None = None
    widget: Any = None
    inference: Any = None
    thumbnail: str | None = None
    co2_eq_emissions: Any = None
    mask_token: str | None = None
    language_details: str | None = None
    extra_gated_prompt: str | None = None
    extra_gated_fields: Any = None
    extra_gated_heading: str | None = None
    extra_gated_description: str | None = None
    extra_gated_button_content: str | None = None
    gated: Any = None


KNOWN_KEYS = tuple(f.alias or n for n, f in HfCardData.model_fields.items())


def _as_list(v: list[str] | str | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [x for x in v if isinstance(x, str)]


def check(doc: YamlDoc, cf: CardFile, out: Collector) -> tuple[HfCardData | None, list[Any]]:
    """Validate Hugging Face front matter; return the data and huggingface_hub's EvalResults."""
    block_line = cf.fm_open_line or 1
    data = split_unknown(doc.data, KNOWN_KEYS, doc, out, (), "Hugging Face card metadata")
    data = _drop_null_datasets(data, doc, out)
    index_ok = "model-index" not in data or _walk_model_index(data["model-index"], doc, out)
    if not index_ok:
        data.pop("model-index")
    try:
        card = HfCardData.model_validate(data)
    except ValidationError as e:
        report_validation(e, doc, out, (), "the front matter", block_line)
        return None, []
    for lic in _as_list(card.license):
        _check_license(lic, doc, out)
    results: list[Any] = []
    if card.model_index:
        from huggingface_hub.repocard_data import ModelCardData

        try:
            index: dict[str, Any] = {"model-index": card.model_index}
            results = ModelCardData(**index).eval_results or []
        except (ValueError, KeyError, TypeError) as e:
            pos = doc.where(("model-index",))
            out.add("model-index-invalid", f"huggingface_hub cannot read model-index: {e}", pos.line, pos.col)
    return card, results


def _drop_null_datasets(data: dict[str, Any], doc: YamlDoc, out: Collector) -> dict[str, Any]:
    ds = data.get("datasets", "absent")
    if isinstance(ds, list) and any(x is None for x in ds):
        for i, x in enumerate(ds):
            if x is None:
                pos = doc.where(("datasets", i))
                out.add("datasets-null", "datasets has an empty entry ('- ' with nothing after it): "
                        "name a dataset id, or remove the line", pos.line, pos.col)
        data = {**data, "datasets": [x for x in ds if x is not None] or None}
    elif "datasets" in data and ds is None:
        pos = doc.where(("datasets",))
        out.add("datasets-null", "datasets is empty: list dataset ids under it, or remove the key", pos.line, pos.col)
        data = {k: v for k, v in data.items() if k != "datasets"}
    return data


def _walk_model_index(mi: Any, doc: YamlDoc, out: Collector) -> bool:
    """Report every structural problem of model-index; True when huggingface_hub can read it."""
    errors = 0

    def bad(path: Path, msg: str) -> None:
        nonlocal errors
        errors += 1
        pos = doc.where(path)
        out.add("model-index-invalid", msg, pos.line, pos.col)

    def empty(path: Path, msg: str) -> None:
        # Present but empty: huggingface_hub reads it, yet the figure means nothing.
        pos = doc.where(path)
        out.add("empty-value", msg, pos.line, pos.col)

    root: Path = ("model-index",)
    if mi is None:
        bad(root, "model-index is empty: list models with their results, or remove the key")
        return False
    if not isinstance(mi, list):
        bad(root, f"model-index must be a list of models, not {type(mi).__name__}: "
            "start the entry with '- name: ...'")
        return False
    for i, model in enumerate(mi):
        mp = (*root, i)
        if not isinstance(model, dict):
            bad(mp, "each model-index entry must be a mapping with 'name' and 'results'")
            continue
        name = model.get("name")
        if name is None:
            bad(mp, "model-index entry has no 'name': add the model's name")
        elif not isinstance(name, str) or not name.strip():
            # huggingface_hub reads it, but leaderboards then show an empty name.
            pos = doc.where((*mp, "name"))
            out.add("empty-value", f"model-index name is {name!r}: give the model's name", pos.line, pos.col)
        results = model.get("results")
        if not isinstance(results, list):
            bad((*mp, "results") if "results" in model else mp,
                "model-index entry needs 'results', a list of {task, dataset, metrics}")
            continue
        for j, res in enumerate(results):
            rp = (*mp, "results", j)
            if not isinstance(res, dict):
                bad(rp, "a result must be a mapping with task, dataset and metrics")
                continue
            _need_mapping(res, rp, "task", ("type",), bad, empty)
            _need_mapping(res, rp, "dataset", ("type", "name"), bad, empty)
            metrics = res.get("metrics")
            if not isinstance(metrics, list) or not metrics:
                bad((*rp, "metrics") if "metrics" in res else rp,
                    "result has no metrics: add a list of {type, value}")
                continue
            for k, met in enumerate(metrics):
                kp = (*rp, "metrics", k)
                if not isinstance(met, dict):
                    bad(kp, "a metric must be a mapping with 'type' and 'value'")
                    continue
                if "type" not in met:
                    bad(kp, "metric has no 'type': add the metric id, e.g. 'accuracy'")
                elif not met["type"]:
                    empty((*kp, "type"), "metric type is empty: give the metric id, e.g. 'accuracy'")
                value = met.get("value")
                if "value" not in met:
                    bad(kp, "metric has no 'value': add the measured figure")
                elif value is None:
                    pos = doc.where((*kp, "value"))
                    out.add("empty-value", "metric value is empty: add the measured figure", pos.line, pos.col)
                elif isinstance(value, (list, dict)):
                    # huggingface_hub keeps any value; a list or mapping is never a figure.
                    pos = doc.where((*kp, "value"))
                    out.add("wrong-type", f"metric value is {type(value).__name__} {value!r}: give a number "
                            "(or a string such as '20.0 ± 1.2')", pos.line, pos.col)
    return errors == 0


def _need_mapping(
    res: dict[str, Any], rp: Path, key: str, fields: tuple[str, ...], bad: Any, empty: Any
) -> None:
    v = res.get(key)
    if v is None:
        bad(rp, f"result without {key}: add '{key}:' with {' and '.join(fields)}")
    elif not isinstance(v, dict):
        bad((*rp, key), f"result's {key} must be a mapping with {' and '.join(fields)}")
    else:
        for f in fields:
            if f not in v:
                bad((*rp, key), f"result's {key} has no '{f}': add it")
            elif v[f] is None or v[f] == "":
                empty((*rp, key, f), f"result's {key} {f} is empty: give it a value")


def _check_license(text: str, doc: YamlDoc, out: Collector) -> None:
    pos = doc.where(("license",))
    if licenses.normalize(text) is None:
        out.add("license-unknown", f"license {text!r} is not a Hugging Face license id: use one such as "
                "apache-2.0 or mit, or 'other' with license_name and license_link", pos.line, pos.col)


_HEADING = re.compile(r"^#\s+(.+)$", re.M)
_BASE_IN_BODY = re.compile(r"fine-tuned version of \[?([\w.-]+/[\w.-]+)")
_FRAMEWORK_TAGS = {"pytorch": "pytorch", "tf": "tensorflow", "tensorflow": "tensorflow", "jax": "jax",
                   "keras": "keras", "mindspore": "mindspore", "onnx": "onnx"}


def repo_id_from_path(path: str | None) -> str | None:
    """``org__repo.md`` (as the corpus and ``cards/`` name them) or ``org/repo/README.md``."""
    if not path:
        return None
    p = PurePath(path)
    if "__" in p.stem:
        org, _, name = p.stem.partition("__")
        return f"{org}/{name}"
    if p.name.lower() == "readme.md" and len(p.parts) >= 3:
        return f"{p.parts[-3]}/{p.parts[-2]}"
    return None


def _architecture(*texts: str) -> str | None:
    joined = " ".join(texts).lower()
    for arch in ("convnextv2", "convnext-v2", "convnext"):
        if arch in joined:
            return arch.replace("-v2", "v2")
    return None


def to_record(card: HfCardData, results: list[Any], cf: CardFile) -> ModelRecord:
    uid = repo_id_from_path(cf.path)
    index_name = str(card.model_index[0].get("name")) if card.model_index else None
    heading = _HEADING.search(cf.body)
    title = cf.title or (heading.group(1).strip() if heading else None)
    name = index_name or (uid.split("/", 1)[1] if uid else None) or title or PurePath(cf.path or "card").stem
    tags = [str(t) for t in card.tags or []]
    base = _as_list(card.base_model)
    if not base:
        m = _BASE_IN_BODY.search(cf.body)
        base = [m.group(1)] if m else []
    framework = card.library_name or next((_FRAMEWORK_TAGS[t] for t in tags if t in _FRAMEWORK_TAGS), None)
    def text(v: Any) -> str | None:  # YAML may give a number where a name is meant (dataset type: 80)
        return None if v is None else str(v)

    metrics = [
        MetricRecord(name=str(r.metric_type), value=r.metric_value, dataset=text(r.dataset_type),
                     split=text(r.dataset_split), source="model-index")
        for r in results if isinstance(r.metric_value, (int, float, str)) and not isinstance(r.metric_value, bool)
    ]
    datasets = _as_list(card.datasets) or sorted({str(r.dataset_type) for r in results})
    lic = _as_list(card.license)
    return ModelRecord(
        name=name, uid=uid, dialect=Dialect.HUGGINGFACE, title=title,
        architecture=_architecture(name, " ".join(tags), " ".join(base)), framework=framework,
        task=card.pipeline_tag or (text(results[0].task_type) if results else None), datasets=datasets,
        metrics=metrics, license=licenses.normalize(lic[0]) if lic else None, license_raw=lic[0] if lic else None,
        base_model=base[0] if base else None, tags=tags, card_path=cf.path, body=cf.body,
    )
