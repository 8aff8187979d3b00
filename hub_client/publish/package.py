"""What ``hub publish`` is given: a MindCV ``.ckpt`` (published with a MindSpore Hub card) or a Hugging Face repo
folder (published to an HF endpoint with its README), with the architecture read off it before anything moves.

The architecture of a ``.ckpt`` comes from its record headers (the tensor bytes are skipped), so the one full
read of the file is the pass that hashes and uploads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hub_client.convert.source import checkpoint_spec, repo_spec
from hub_client.models.spec import ConvNeXtSpec, variant_by_shape
from hub_client.models.support import variant_name
from registry.errors import UsageError

Kind = Literal["ckpt", "hf"]


@dataclass(frozen=True)
class Package:
    path: Path
    kind: Kind
    spec: ConvNeXtSpec
    size: int
    #: Every file of an HF repo folder, relative to it (the ``.ckpt`` alone otherwise).
    files: list[str] = field(default_factory=list)

    @property
    def architecture(self) -> str:
        return variant_by_shape(self.spec.version, self.spec.depths, self.spec.dims) or (
            f"convnext{'v2' if self.spec.version == 2 else ''} (depths {list(self.spec.depths)}, widths "
            f"{list(self.spec.dims)})")


def inspect(path: str | Path) -> Package:
    """Read what ``path`` holds and which ConvNeXt it is, without reading its tensors.

    Raises:
        UsageError: neither a ``.ckpt`` file nor a folder with a ``config.json``.
        ConversionError: not a ConvNeXt (a checkpoint of another architecture).
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"{path} has no config.json: publish a Hugging Face repo folder or a .ckpt file")
        spec = repo_spec(path)
        files = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
        return Package(path, "hf", spec, sum((path / f).stat().st_size for f in files), files)
    if not path.is_file():
        raise UsageError(f"{path} does not exist: give a .ckpt file or a Hugging Face repo folder")
    if not path.name.lower().endswith(".ckpt"):
        raise UsageError(f"{path.name} is not a .ckpt: a MindSpore Hub card publishes a MindSpore checkpoint")
    return Package(path, "ckpt", checkpoint_spec(path), path.stat().st_size, [path.name])


def check_name(pkg: Package, name: str) -> None:
    """A name that says another variant than the weights hold is a conflict, not a typo to publish.

    Raises:
        UsageError: the name mentions a ConvNeXt variant the checkpoint is not.
    """
    said = variant_name(name)
    held = variant_by_shape(pkg.spec.version, pkg.spec.depths, pkg.spec.dims)
    if said and said != held:
        raise UsageError(f"the name {name!r} says {said}, but {pkg.path.name} holds {pkg.architecture}: "
                         "name it after what it is")
