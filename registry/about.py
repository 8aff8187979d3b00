"""The distribution's name and version.

The command is ``hub`` and the packages are ``registry`` and ``hub_client``, but the name ``hub`` on PyPI
belongs to an unrelated project, so the distribution is published as ``hub-registry``: every install hint
names that.
"""

from __future__ import annotations

DISTRIBUTION = "hub-registry"


def install_hint(*extras: str) -> str:
    """The pip command that installs this distribution with ``extras``."""
    return f"pip install '{DISTRIBUTION}[{','.join(extras)}]'" if extras else f"pip install {DISTRIBUTION}"


def version() -> str | None:
    """The installed version, or None when running from a checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DISTRIBUTION)
    except PackageNotFoundError:
        return None
