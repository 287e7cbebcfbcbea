"""Symbolic extraction: from learned KAN edges (or any trained model) to closed-form formulas.

Edge level: :func:`fit_edge` fits ``c * f(a x + b) + d`` for every :class:`Candidate` of a
:class:`Library` and chooses by a :class:`SelectionRule`. Network level: :func:`sparsity_penalty`,
:func:`prune`, :func:`auto_symbolic`, :class:`SymbolicKAN`, :func:`train_affine`. Data level:
:func:`fit_arrays`, :func:`fit_data` (CSV/NPZ), :func:`fit_model` (e.g. a PDE solution), each
returning a :class:`SymbolicReport` checked against the data and the network on held-out points.
"""

from .constants import refine_constants, round_constants, snap_constants
from .fit import CandidateFit, EdgeFit, SelectionRule, fit_edge
from .formula import r2_score
from .io import fit_data, plot_edges, write_report
from .library import Candidate, Library, default_library
from .network import (
    SymbolicEdge,
    SymbolicKAN,
    assemble_formula,
    auto_symbolic,
    edge_scores,
    prune,
    sparsity_penalty,
    train_affine,
)
from .regress import SymbolicReport, fit_arrays, fit_model
from .search import separable_search

__all__ = [
    "Candidate",
    "CandidateFit",
    "EdgeFit",
    "Library",
    "SelectionRule",
    "SymbolicEdge",
    "SymbolicKAN",
    "SymbolicReport",
    "assemble_formula",
    "auto_symbolic",
    "default_library",
    "edge_scores",
    "fit_arrays",
    "fit_data",
    "fit_edge",
    "fit_model",
    "plot_edges",
    "prune",
    "r2_score",
    "refine_constants",
    "round_constants",
    "separable_search",
    "snap_constants",
    "sparsity_penalty",
    "train_affine",
    "write_report",
]
