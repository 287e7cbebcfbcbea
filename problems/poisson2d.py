"""2-D Poisson on the unit square: -lap u = 2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary;
exact u = sin(pi x) sin(pi y)."""

import math

import torch

from kinn.geometry import Rectangle
from kinn.pde import Dirichlet, Energy, Problem, Residual


def exact(x):
    return (torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1]))[:, None]


def source(x):
    return 2 * math.pi**2 * exact(x)[:, 0]


def poisson2d(hard: bool = True) -> Problem:
    """Strong form ``-lap u - f = 0`` or energy ``integral(|grad u|^2 / 2 - f u)`` (Gauss
    16x16 by default); boundary exactly (``hard=True``: ``u = x(1-x)y(1-y) N``) or soft."""
    return Problem(
        name="poisson2d",
        geometry=Rectangle([0, 0], [1, 1]),
        inputs=("x", "y"),
        fields=("u",),
        terms=[
            Residual(lambda x, u: -u.laplacian("u") - source(x), hessian="diag"),
            Energy(lambda x, u: 0.5 * (u.grad_of("u") ** 2).sum(1) - source(x) * u["u"], n=40),
            Dirichlet("boundary", 0.0, hard=hard),
        ],
        reference=exact,
        defaults={"n_interior": 1024, "n_boundary": 256},
    )
