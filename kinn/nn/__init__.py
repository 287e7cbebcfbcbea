"""Networks: KAN layers (B-spline in matrix form, Chebyshev), KAN and MLP."""

from .activations import ACTIVATIONS, activation_derivatives
from .bspline import bspline_basis, bspline_basis_general, bspline_matrix, uniform_grid
from .chebyshev import chebyshev_basis
from .features import FourierFeatures
from .layers import BSplineKANLayer, ChebyshevKANLayer, KANLayer
from .networks import HIDDEN_DOMAIN, KAN, MLP

__all__ = [
    "FourierFeatures",
    "ACTIVATIONS",
    "HIDDEN_DOMAIN",
    "KAN",
    "MLP",
    "BSplineKANLayer",
    "ChebyshevKANLayer",
    "KANLayer",
    "activation_derivatives",
    "bspline_basis",
    "bspline_basis_general",
    "bspline_matrix",
    "chebyshev_basis",
    "uniform_grid",
]
