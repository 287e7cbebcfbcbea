"""Ready problems, installed as ``kinn.problems``: each module has a factory returning a
:class:`kinn.pde.Problem`.

The ``kinn`` command builds them like a user's own problem, from the ``_target_`` of their
configs in ``conf/problem/`` (``kinn.problems.poisson1d`` ...).
"""

from .beam_neohookean import beam_neohookean
from .composite import composite
from .crack import crack
from .heat_multiscale import heat_multiscale
from .inverse_diffusion import inverse_diffusion
from .koch import koch
from .plate_hole import plate_hole, plate_hole_inverse
from .poisson1d import poisson1d
from .poisson2d import poisson2d

__all__ = [
    "beam_neohookean",
    "composite",
    "crack",
    "heat_multiscale",
    "inverse_diffusion",
    "koch",
    "plate_hole",
    "plate_hole_inverse",
    "poisson1d",
    "poisson2d",
]
