"""1-D Poisson: -u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0; exact u = sin(pi x)."""

import math

import torch

from kinn.geometry import Interval
from kinn.pde import Dirichlet, Energy, Problem, Residual


def exact(x):
    return torch.sin(math.pi * x)


def source(x):
    return math.pi**2 * torch.sin(math.pi * x[:, 0])


def poisson1d(hard: bool = True) -> Problem:
    """Strong form ``-u'' - f = 0`` or energy ``integral(u'^2 / 2 - f u)``; Dirichlet ends
    imposed exactly (``hard=True``, ``u = x (1 - x) N``) or as penalties (automatic weight
    ``pi^4`` in the strong form, network output scaled by 0.1)."""
    return Problem(
        name="poisson1d",
        geometry=Interval(0, 1),
        inputs=("x",),
        fields=("u",),
        terms=[
            Residual(lambda x, u: -u.d("u", "xx") - source(x), hessian="diag"),
            Energy(lambda x, u: 0.5 * u.d("u", "x") ** 2 - source(x) * u["u"], n=512),
            Dirichlet("left", 0.0, hard=hard),
            Dirichlet("right", 0.0, hard=hard),
        ],
        reference=exact,
        # Soft boundaries: start the network's output (and its spline curvature) small, as the
        # hard constraint's factor does; see docs/pde.md, "Soft conditions".
        output_scale=1.0 if hard else 0.1,
        defaults={"n_interior": 128, "n_boundary": 2},
    )
