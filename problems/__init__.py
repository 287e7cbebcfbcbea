"""Ready problems, installed as ``kinn.problems``: each module has a factory returning a
:class:`kinn.pde.Problem`.

The ``kinn`` command builds them like a user's own problem, from the ``_target_`` of their
configs in ``conf/problem/`` (``kinn.problems.poisson1d`` ...).
"""

from .inverse_diffusion import inverse_diffusion
from .plate_hole import plate_hole
from .poisson1d import poisson1d
from .poisson2d import poisson2d

__all__ = ["inverse_diffusion", "plate_hole", "poisson1d", "poisson2d"]
