"""``load_model``: a registry name to a framework-native network with the card's weights, ready for inference.

The steps, written once for every model: resolve the name, pull and verify the files, work out the network
(``spec.spec_for``), its labels and preprocessing, then a backend builds it and loads the weights strictly
(``backend.build_and_load``). Everything but the last step is framework-free, so :func:`model_info` answers
without importing MindSpore or PyTorch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub_client.fetch.pull import ProgressFactory, pull_record, resolve
from hub_client.weights.state import pick_weights
from registry.errors import CheckpointError, DamagedFileError, NoLoaderError, UsageError
from registry.record import Dialect
from registry.settings import Settings, or_env

from .auto_spec import AutoSpec
from .backend import build_and_load, get_backend, pick_backend
from .labels import default_labels
from .preprocess import Preprocess, mindcv_default, mindcv_imagenet, preprocess_for
from .spec import ConvNeXtSpec, NetSpec, spec_for, supported
from .support import record_backends
from .zoo import ZooSpec, candidates, unrunnable

log = logging.getLogger("hub")


@dataclass
class ModelInfo:
    """What a loaded network is: its card, architecture, numerics, labels, preprocessing and files."""

    name: str
    card: str | None
    spec: NetSpec
    labels: tuple[str, ...]
    preprocess: Preprocess
    files: list[Path] = field(default_factory=list)
    weights: Path | None = None
    claims: dict[str, float] = field(default_factory=dict)
    #: The card's top-1 accuracy in percent and the metric it came from (``ModelRecord.top1``).
    top1_claim: tuple[float, str] | None = None
    backend: str = ""
    device: str = ""
    ignored_keys: list[str] = field(default_factory=list)
    head_reinitialised: bool = False
    #: The precision check that let a reduced precision run (``engine.Check``); None when it runs in fp32 unchecked.
    check: Any = None


def model_info(name: str, *, pretrained: bool = True, progress: ProgressFactory | None = None,
               settings: Settings | None = None) -> ModelInfo:
    """Resolve, pull, and work out the network, its labels and its preprocessing, without a framework import.

    Args:
        name: a model name, ``name@version``, a MindSpore Hub uid, or ``hf:org/repo``.
        pretrained: pull the weights too (a Hugging Face repo's configuration is pulled either way).
        progress: a factory of per-transfer progress sinks.
        settings: the home, mirrors, tokens and time-outs; None reads the environment.

    Returns:
        The :class:`ModelInfo` ``load_model`` builds from.

    Raises:
        NoLoaderError: the card describes no network this loader builds, or no weights were pulled.
        and every error of ``hub_client.pull``.
    """
    settings = or_env(settings)
    record = resolve(name, settings=settings)
    backends = record_backends(record)
    if backends == ():  # known from the card alone: say so before any weights are fetched
        names = candidates(record)
        why = unrunnable(names[0]) if names else None
        raise NoLoaderError(record.name, f"MindCV's {names[0]}: {why}" if names and why else
                            record.architecture or record.name, [], supported())
    if backends is None and pretrained:  # a repo whose config.json says what it is: read that first
        spec_for(record, pull_record(record, fmt="config", progress=progress, settings=settings), None)
    files: list[Path] = []
    if pretrained or record.dialect is Dialect.HUGGINGFACE:
        files = pull_record(record, fmt=None if pretrained else "config", progress=progress, settings=settings)
    wpath = pick_weights(files) if pretrained else None
    spec = spec_for(record, files, wpath)
    if pretrained and wpath is None:
        raise NoLoaderError(record.name, "no weights file among the pulled assets", files, supported())
    preprocess = preprocess_for(record, files)
    if isinstance(spec, ZooSpec) and preprocess == mindcv_imagenet():
        preprocess = mindcv_default(spec.image_size)
    return ModelInfo(name=record.name, card=record.card_path, spec=spec,
                     labels=spec.labels or default_labels(spec.num_classes), preprocess=preprocess,
                     files=files, weights=wpath, claims=record.numeric_metrics(), top1_claim=record.top1())


def _name_the_damage(error: CheckpointError, name: str, settings: Settings) -> None:
    """A weights file that will not load may be a cached file damaged since it was verified: hash it, and when it
    no longer matches its address, say that (and the cure) instead of blaming the card or the network."""
    from hub_client.fetch.cache import Cache

    found = Cache(settings.home).damage(Path(error.path))
    if found is not None:
        what, expected, actual = found
        problem = str(error).removeprefix(f"{error.path}: ").split("; ")[0]
        raise DamagedFileError(error.path, expected=expected, actual=actual, what=what, name=name,
                               problem=problem) from error


#: The most classes a fresh head may have: past it the classifier alone would take gigabytes (ImageNet-21k has
#: 21,841; a head of 10**9 classes exhausts memory before any error could be raised).
MAX_CLASSES = 100_000


def load_model(name: str, *, device: str = "cpu", pretrained: bool = True, num_classes: int | None = None,
               backend: str = "auto", precision: str | None = None, seed: int | None = None,
               progress: ProgressFactory | None = None, settings: Settings | None = None) -> Any:
    """The network ``name`` names, with its card's weights, in inference mode on ``device``.

    Args:
        name: a model name, ``name@version``, a MindSpore Hub uid, or ``hf:org/repo``.
        device: ``cpu``, ``cuda[:N]`` (or ``gpu``), ``ascend[:N]``.
        pretrained: load the card's weights; False builds a freshly initialised network and downloads no weights.
        num_classes: another number of classes than the checkpoint's builds a fresh classifier (with a warning),
            for fine-tuning (at most ``MAX_CLASSES``); such a network always runs fp32.
        backend: ``mindspore`` returns a ``mindspore.nn.Cell``, ``torch`` a transformers
            ``ConvNext(V2)ForImageClassification``, ``openvino`` an ``OpenVinoNet`` (numpy in, logits out);
            ``auto`` picks the fastest installed for the device (OpenVINO on a CPU, PyTorch on CUDA, MindSpore on
            Ascend).
        precision: ``auto`` runs bf16 where the hardware computes it natively, once a check on the model showed
            it keeps the answers (``hub_info.check``); ``fp32`` forces exact; ``bf16`` or ``fp16`` asks for it
            (still checked). None (the default) is ``auto`` with ``backend="auto"`` and ``fp32`` with a backend
            named: a caller who names the framework gets the numerics the weights were trained with.
        seed: makes a fresh initialisation repeatable.
        progress: a factory of per-transfer progress sinks.
        settings: the home, mirrors, tokens and time-outs; None reads the environment.

    Returns:
        The network, carrying ``hub_info`` (:class:`ModelInfo`): labels, preprocessing, numerics, files; the engine
        and precision it runs at are ``hub_info.spec.engine`` and ``hub_info.spec.precision``.

    Raises:
        UsageError: a bad ``num_classes``, backend, precision or device name.
        BackendUnavailableError: the backend's framework is not installed.
        DeviceUnavailableError: the device is not here (``available`` lists those that are).
        CheckpointError: the weights file is unreadable or does not fit the network (each key named).
        DamagedFileError: the cached weights changed on disk since they were verified (the next pull re-fetches).
        NoLoaderError: the card describes no network this loader builds.
        and every error of ``hub_client.pull``.
    """
    from . import accelerate
    from .precision import check_precision

    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                    or not 1 <= num_classes <= MAX_CLASSES):
        raise UsageError(f"num_classes must be a whole number from 1 to {MAX_CLASSES:,}, got {num_classes!r}")
    if precision is None:
        precision = "auto" if backend.strip().lower() == "auto" else "fp32"
    precision = check_precision(precision)
    chosen = pick_backend(backend, device)
    if chosen == "openvino" and (not pretrained or num_classes is not None):
        if backend.strip().lower() == "openvino":
            raise UsageError("OpenVINO runs trained weights as they are; for a fresh or re-headed network (to "
                             "fine-tune) use backend='torch'")
        chosen = pick_backend("torch", device)
    if chosen == "mindspore":
        _fp32_on_mindspore(precision)
    check, run = None, "fp32"
    settings = or_env(settings)
    try:
        info = model_info(name, pretrained=pretrained, progress=progress, settings=settings)
        size = info.preprocess.crop
        if isinstance(info.spec, ZooSpec):
            chosen = _zoo_backend(info.spec, backend, device, precision)
        elif isinstance(info.spec, AutoSpec):
            chosen = _auto_backend(info.spec, backend, device)
            if chosen == "mindspore":
                info.spec = on_mindspore(info.spec)
        step = accelerate.steps_of(progress)
        if chosen == "openvino" and info.weights is not None and isinstance(info.spec, ConvNeXtSpec):
            net, check, run = accelerate.load_openvino(info.spec, info.weights, precision, size, settings.engines,
                                                       step)
            ignored: list[str] = []
            reinit, used_device = False, "CPU"
        else:
            with step(f"building {info.spec.name} on {chosen}"):
                net, ignored, reinit, used_device = build_and_load(get_backend(chosen), info.spec, info.weights,
                                                                   device=device, num_classes=num_classes, seed=seed)
            if chosen == "torch" and not reinit and not isinstance(info.spec, ZooSpec):
                net, check, run = accelerate.torch_precision(net, info.spec, info.weights, precision, used_device,
                                                             size, settings.engines, step)
    except CheckpointError as e:
        _name_the_damage(e, name, settings)
        raise
    if ignored:
        log.info("set aside %d training-state entries of %s (optimizer moments, step counters)", len(ignored),
                 info.weights)
    if reinit and num_classes is not None:
        info.spec = info.spec.with_classes(num_classes)
        info.labels = default_labels(num_classes)
    info.spec = accelerate.with_engine(info.spec, chosen, run)
    info.backend, info.device, info.ignored_keys, info.head_reinitialised = chosen, used_device, ignored, reinit
    info.check = check
    log.info("%s runs on %s (%s) in %s%s", info.name, chosen, used_device, run,
             f"; precision check: max relative logit error {check.max_rel_error:.2g}, top-1 agreement "
             f"{check.top1_agreement:.0%}" if check else "")
    net.hub_info = info
    return net


def _auto_backend(spec: AutoSpec, backend: str, device: str) -> str:
    """transformers' image classifiers run on PyTorch: ``auto`` picks it; MindSpore named runs a repo of a MindCV
    family with a map in MindCV's network (``on_mindspore`` says when it cannot); OpenVINO named is refused with the
    way out (OpenVINO's conversion is checked for ConvNeXt only)."""
    asked = backend.strip().lower()
    if asked == "mindspore":
        return pick_backend("mindspore", device)
    if asked not in ("auto", "torch"):
        raise UsageError(f"{spec.name} is transformers' {spec.model_type}: it loads with backend='torch' here "
                         f"(backend={backend!r} builds ConvNeXt and MindCV's zoo)")
    return pick_backend("torch", device)


def on_mindspore(spec: AutoSpec) -> ZooSpec:
    """The MindCV network a transformers repo's weights fill, by the family's map in reverse, when MindCV's network
    computes what the repo's config says (a repo ``hub convert`` wrote; transformers' RegNet, ...), or can be told
    to (``zoo_hf.mindspore_changes``: transformers' ViT with its exact GELU and epsilon 1e-12).

    Raises:
        UsageError: no MindCV architecture with a map has the repo's structure, or it computes otherwise (which
            numerics differ; ``backend='torch'`` runs the repo as it is).
    """
    import json

    from . import zoo_hf
    from .zoo import spec_for_arch
    from .zoo_torch import mindcv_head

    cfg = json.loads((spec.folder / "config.json").read_text(encoding="utf-8"))
    arch = zoo_hf.arch_for_config(cfg)
    if arch is None:
        raise UsageError(f"{spec.name} is transformers' {spec.model_type}, and no network of MindCV's zoo with a "
                         "PyTorch map has its structure: load it with backend='torch'")
    gaps = zoo_hf.numerics_gaps(arch, cfg, changeable=True)
    if gaps:
        raise UsageError(f"{spec.name} has the structure of MindCV's {arch}, which computes otherwise than the repo "
                         f"says ({'; '.join(gaps)}): load it with backend='torch' for the repo's own logits")
    base = spec_for_arch(arch)
    return ZooSpec(name=arch, family=base.family, num_classes=spec.num_classes, in_channels=spec.in_channels,
                   head=mindcv_head(arch) or base.head, image_size=base.image_size, origin="huggingface",
                   changes=tuple(sorted(zoo_hf.mindspore_changes(arch, cfg).items())), labels=spec.labels)


def _zoo_backend(spec: ZooSpec, backend: str, device: str, precision: str) -> str:
    """MindCV's zoo runs on MindSpore, with its own numerics: ``auto`` picks it; PyTorch for a family with a name
    map (``zoo_torch``); another backend named is refused with the way out."""
    from .zoo_torch import supports

    asked = backend.strip().lower()
    if asked == "torch" and supports(spec.name):
        return pick_backend("torch", device)
    if asked not in ("auto", "mindspore"):
        raise UsageError(f"{spec.name} is MindCV's {spec.family}: it loads with backend='mindspore' here; its "
                         f"PyTorch network is not mapped yet (backend={backend!r})")
    _fp32_on_mindspore(precision)
    return pick_backend("mindspore", device)


def _fp32_on_mindspore(precision: str) -> None:
    if precision in ("bf16", "fp16"):
        raise UsageError(f"precision={precision!r} runs on the torch or openvino backend; MindSpore runs fp32 here")
