"""Derivatives for PDE losses: autograd operators and one-pass Taylor-mode jets."""

from kinn.nn.taylor import RowLayout

from .jet import DERIVATIVES, Jet, jet, jet_of
from .operators import divergence, grad, hessian, laplacian, partial
from .rules import autograd_rows, push_rows, register_jet_rule, supports_jet

__all__ = [
    "DERIVATIVES",
    "Jet",
    "RowLayout",
    "autograd_rows",
    "divergence",
    "grad",
    "hessian",
    "jet",
    "jet_of",
    "laplacian",
    "partial",
    "push_rows",
    "register_jet_rule",
    "supports_jet",
]
