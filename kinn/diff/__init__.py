"""Derivatives for PDE losses: autograd operators and one-pass Taylor-mode jets."""

from .jet import Jet, jet, jet_of, supports_jet
from .operators import divergence, grad, hessian, jacobian, laplacian, partial

__all__ = [
    "Jet",
    "divergence",
    "grad",
    "hessian",
    "jacobian",
    "jet",
    "jet_of",
    "laplacian",
    "partial",
    "supports_jet",
]
