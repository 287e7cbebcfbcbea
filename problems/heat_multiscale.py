"""KINN's multi-scale heat equation: ``u_t = u_xx / (50 pi)^2`` on ``[0, 1] x [0, 1]``,
``u(x, 0) = sin(50 pi x)``, ``u = 0`` at ``x = 0, 1``; exact ``u = sin(50 pi x) e^(-t)``.

The initial and boundary values are imposed exactly (three hard conditions, docs/pde.md). All
three take the initial profile as their value (it vanishes at ``x = 0, 1``), so their
transfinite blend is the lifting ``sin(50 pi x)`` at every time and the network learns the
decay ``(e^(-t) - 1) sin(50 pi x)``: 25 periods in ``x``.
"""

import math

import numpy as np
import torch

from kinn.geometry import Interval, TimeDomain
from kinn.pde import Dirichlet, Initial, Problem, Reference, Residual

K = 50 * math.pi  # wave number of the initial profile; the diffusivity is 1 / K^2


def exact(x):
    """``u = sin(50 pi x) e^(-t)``: ``x (N, 2)`` (columns x, t) ``-> (N, 1)``."""
    return (torch.sin(K * x[:, 0]) * torch.exp(-x[:, 1]))[:, None]


def initial(x):
    """``u(x, 0) = sin(50 pi x)``, zero at both ends: ``x (N, 2) -> (N,)``."""
    return torch.sin(K * x[:, 0])


def dense_points(n: int = 201) -> np.ndarray:
    """An ``n x n`` grid of ``(x, t)``: ``(n^2, 2)``, 8 points per period in ``x``."""
    axes = np.linspace(0.0, 1.0, n)
    return np.stack([g.ravel() for g in np.meshgrid(axes, axes, indexing="ij")], axis=1)


def heat_multiscale(hard: bool = True) -> Problem:
    """Strong form ``u_t - u_xx / (50 pi)^2 = 0`` at collocation points; initial and boundary
    values exact (``hard=True``) or as penalties with the automatic weights (``hard=False``)."""
    return Problem(
        name="heat_multiscale",
        geometry=Interval(0, 1) * TimeDomain(0, 1),
        inputs=("x", "t"),
        fields=("u",),
        terms=[
            Residual(lambda x, u: u.d("u", "t") - u.d("u", "xx") / K**2, hessian="diag"),
            Initial(initial, hard=hard),
            Dirichlet("left", initial, hard=hard),
            Dirichlet("right", initial, hard=hard),
        ],
        reference=Reference(solution=exact, points=dense_points()),
        defaults={"n_interior": 2048, "n_boundary": 256},
    )
