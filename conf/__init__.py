"""Hydra configs of the kinn command, installed as ``kinn.conf`` (a package, so that an
installed ``kinn`` finds them)."""
