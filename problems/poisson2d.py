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
    40x40 by default); boundary exactly (``hard=True``: ``u = D N`` with the square's distance
    function ``1 / D = 1/x + 1/(1-x) + 1/y + 1/(1-y)``) or soft (automatic weight ``4 pi^4`` in
    the strong form, network output scaled by 0.1)."""
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
        # Soft boundaries: start the network's output (and its spline curvature) small, as the
        # hard constraint's factor does; see docs/pde.md, "Soft conditions".
        output_scale=1.0 if hard else 0.1,
        defaults={"n_interior": 1024, "n_boundary": 256},
    )
