"""The ``hub`` command: the app and its error handling (``app``), shared options and output, a module per
command group. Re-exports only."""

from .app import app, main

__all__ = ["app", "main"]
