"""The ``kinn`` command-line application (Hydra configs in ``kinn/conf``)."""

from kinn.app.cli import main

__all__ = ["main"]
