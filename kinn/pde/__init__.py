"""PDE problems in strong, energy and inverse form.

A :class:`Problem` is a geometry, named inputs and fields, and a list of terms:
:class:`Residual` (strong form), :class:`Energy` (Deep Energy Method), conditions
(:class:`Dirichlet`, soft or hard; :class:`Neumann`, :class:`Robin`,
:class:`Periodic`, :class:`Initial`, :class:`Interface`) and observations (:class:`Data`),
plus :class:`InverseParameter` unknowns. ``problem.objective(model, form)`` is what
:class:`kinn.train.Trainer` trains; ``problem.evaluate`` and ``problem.evaluation_set``
give fields, derived fields and errors. See docs/pde.md.
"""

from . import elasticity
from .fields import Fields
from .inverse import InverseParameter, load_observations
from .model import ProblemModel
from .objective import PDEObjective
from .problem import EvaluationSet, Problem, Reference
from .terms import (
    Data,
    Dirichlet,
    Energy,
    Initial,
    Interface,
    Neumann,
    Periodic,
    Residual,
    Robin,
    Term,
)

__all__ = [
    "Data",
    "Dirichlet",
    "Energy",
    "EvaluationSet",
    "Fields",
    "Initial",
    "Interface",
    "InverseParameter",
    "Neumann",
    "PDEObjective",
    "Periodic",
    "Problem",
    "ProblemModel",
    "Reference",
    "Residual",
    "Robin",
    "Term",
    "elasticity",
    "load_observations",
]
