"""A Hugging Face repo folder published to any HF endpoint (the Hub, or a ``hub serve`` mirror that takes
uploads) through huggingface_hub's own upload API: ``create_repo``, then one ``create_commit``.

huggingface_hub skips files whose content the endpoint already has, and a commit with nothing left in it, so
publishing the same folder twice uploads nothing. Off the Hub, uploads go over the LFS protocol: an endpoint
other than huggingface.co is not a Xet store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from registry.errors import InvalidCardError, PublishError, UsageError

from .mshub_files import CardOptions, Published
from .package import Package, check_name

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from hub_client.provenance import SigningKey


@contextlib.contextmanager
def _lfs_uploads(endpoint: str) -> Iterator[None]:
    """huggingface_hub uploads through Xet whenever hf_xet is installed; an endpoint that is not the Hub takes
    the LFS protocol only, so Xet is turned off for the call (its own switch, read at call time)."""
    from huggingface_hub import constants

    hub = (urlsplit(endpoint).hostname or "").endswith("huggingface.co")
    before = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = before or not hub
    try:
        yield
    finally:
        constants.HF_HUB_DISABLE_XET = before


def _readme(pkg: Package, repo_id: str, opts: CardOptions) -> bytes | None:
    """The folder's own README when it has one (checked as lint --strict checks it); else one written here."""
    from registry.card.analyze import analyze_file
    from registry.card.diagnostics import Severity

    readme = pkg.path / "README.md"
    if readme.is_file():
        failing = [d for d in analyze_file(readme).diagnostics if d.severity in (Severity.ERROR, Severity.WARNING)]
        if failing:
            raise InvalidCardError(repo_id, str(readme), [f"{d.rule}: {d.message}" for d in failing],
                                   [d.as_dict() for d in failing])
        return None
    from hub_client.convert.readme import hf_readme
    from registry.card import mshub_evaluation

    found = mshub_evaluation.parse(opts.evaluation) if opts.evaluation else None
    if found is not None and (found.unparsed or not found.ok):
        raise UsageError(f"evaluation {opts.evaluation!r} does not read as metrics: write 'top1acc81.28 | "
                         "top5acc95.61'")
    metrics = [(k, v, None) for k, v in found.metrics.items()] if found else []
    return hf_readme(repo_id, license_id=opts.license, datasets=[opts.dataset] if opts.dataset else [],
                     metrics=metrics, tags=["convnextv2" if pkg.spec.version == 2 else "convnext"],
                     intro=opts.summary or pkg.architecture).encode()


def publish_hf(pkg: Package, repo_id: str, opts: CardOptions, *, private: bool = False,
               endpoint: str, token: str | None = None, signer: SigningKey | None = None) -> Published:
    """Publish an HF repo folder as ``repo_id`` at ``endpoint`` with ``token`` (None: huggingface_hub's own);
    with ``signer``, a ``model.sig`` over every file of the commit (from the digests the upload computes).

    Raises:
        UsageError: a ``.ckpt`` (it is published with a MindSpore Hub card, to a folder or a bucket).
        InvalidCardError: the folder's README fails a lint rule.
        PublishError: the endpoint refused or failed; a retry uploads only what is missing.
    """
    if pkg.kind != "hf":
        raise UsageError(f"{pkg.path.name} is a MindSpore checkpoint, published with a MindSpore Hub card to a folder "
                         "or a bucket; for a Hugging Face repo, convert it to a repo folder first")
    check_name(pkg, repo_id)
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    endpoint = endpoint.rstrip("/")
    api = HfApi(endpoint=endpoint, token=token)
    ops = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(pkg.path / f)) for f in pkg.files]
    readme = _readme(pkg, repo_id, opts)
    if readme is not None:
        ops.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme))
    if signer is not None:
        from hub_client.provenance import SIGNATURE_FILE, sign_digests

        ops = [op for op in ops if op.path_in_repo != SIGNATURE_FILE]
        digests = {op.path_in_repo: op.upload_info.sha256.hex() for op in ops}
        ops.append(CommitOperationAdd(path_in_repo=SIGNATURE_FILE,
                                      path_or_fileobj=sign_digests(repo_id.split("/")[-1], digests, signer)))
    try:
        with _lfs_uploads(endpoint):
            api.create_repo(repo_id, exist_ok=True, private=private)
            before = _head(api, repo_id)
            info = api.create_commit(repo_id, ops, commit_message=f"Publish {pkg.architecture}")
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        raise PublishError(f"{endpoint} ({repo_id})", f"HTTP {status}: {e}") from None
    except Exception as e:
        if not _transport(e):
            raise
        raise PublishError(f"{endpoint} ({repo_id})", f"{type(e).__name__}: {e}; publishing again uploads only "
                           "what is missing") from None
    weights = next((op for op in ops if op.path_in_repo.endswith((".safetensors", ".bin", ".ckpt"))), ops[0])
    changed = info.oid != before
    return Published(repo_id, endpoint, weights.upload_info.sha256.hex(),
                     f"{endpoint}/{repo_id}/resolve/{info.oid}/{weights.path_in_repo}", f"{endpoint}/{repo_id}",
                     sum(op.upload_info.size for op in ops) if changed else 0,
                     [op.path_in_repo for op in ops] if changed else [])


def _transport(e: Exception) -> bool:
    """A network failure under huggingface_hub (its HTTP client's errors, or the OS's), not a bug of ours."""
    module = type(e).__module__.split(".")[0]
    return isinstance(e, OSError) or module in ("httpx", "httpx2", "httpcore", "requests", "urllib3",
                                                "huggingface_hub")


def _head(api: HfApi, repo_id: str) -> str | None:
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return str(api.model_info(repo_id).sha)
    except HfHubHTTPError:
        return None
