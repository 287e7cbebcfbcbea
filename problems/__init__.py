"""Ready problems: each module has a factory returning a :class:`kinn.pde.Problem`.

``REGISTRY`` maps a problem name to its factory (what the app lists and builds).
"""

from .inverse_diffusion import inverse_diffusion
from .plate_hole import plate_hole
from .poisson1d import poisson1d
from .poisson2d import poisson2d

REGISTRY = {
    "poisson1d": poisson1d,
    "poisson2d": poisson2d,
    "inverse_diffusion": inverse_diffusion,
    "plate_hole": plate_hole,
}

__all__ = ["REGISTRY", "inverse_diffusion", "plate_hole", "poisson1d", "poisson2d"]
