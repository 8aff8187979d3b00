"""The settings a test's environment gives, as the CLI reads them: what library calls below the edges take."""

from __future__ import annotations

from hub_client.fetch.cache import Cache
from registry.settings import Settings


def env_settings() -> Settings:
    """``Settings.from_env()``, read now (after the test's ``monkeypatch.setenv``)."""
    return Settings.from_env()


def env_cache() -> Cache:
    """The cache under the test's ``HUB_HOME``."""
    return Cache(Settings.from_env().home)
