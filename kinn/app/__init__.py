"""The ``kinn`` command-line application (Hydra configs in ``conf/``, installed as
``kinn.conf``)."""

from kinn.app.cli import main

__all__ = ["main"]
