"""KINN heterogeneous composite: ``-div(a grad u) = f`` on ``[-1, 1]^2`` with a stiff-to-soft
jump of the conductivity across the circle ``r = r0 = 0.5``.

``a = 1/15`` inside the circle (the inclusion), ``a = 1`` outside; ``f = -16 r^2``. Because
``a grad u = grad(r^4) = 4 r^3 e_r`` on both sides, the piecewise solution

    u = r^4 / a_in                                  (r < r0)
    u = r^4 / a_out + r0^4 (1 / a_in - 1 / a_out)   (r >= r0)

is continuous, has a continuous normal flux at ``r = r0``, and satisfies
``div(a grad u) = (1/r) d/dr (r 4 r^3) = 16 r^2`` in both materials. Dirichlet data from this
solution on the square's boundary, imposed exactly (lifted by the outer formula). Energy form
(Deep Energy Method): ``integral of (a/2 |grad u|^2 - f u) dx``, whose minimiser needs no
interface term: the flux condition is the energy's natural condition across ``r0``.

A fixed quadrature rule is exploited by a KAN trained long: on a 100 x 100 Gauss rule the
energy of a trained B-spline KAN fell to 100.2, below the exact solution's 102.8, while its
error grew to 0.35 (a finer rule gives it 141). The default is therefore a quasi-Monte Carlo
rule: ``quadrature_n`` Sobol points, scrambled afresh whenever the trainer resamples
(``sampler.resample_every=1``), an unbiased estimate of the energy that cannot be exploited.
"""

import torch

from kinn.geometry import Rectangle
from kinn.pde import Dirichlet, Energy, Problem, Reference

A_IN, A_OUT, R0 = 1.0 / 15.0, 1.0, 0.5


def conductivity(x: torch.Tensor) -> torch.Tensor:
    """``a(x)``: ``(N,)`` from ``x (N, 2)``."""
    r2 = (x**2).sum(1)
    return torch.where(r2 < R0**2, torch.full_like(r2, A_IN), torch.full_like(r2, A_OUT))


def source(x: torch.Tensor) -> torch.Tensor:
    """``f = -16 r^2``: ``(N,)``."""
    return -16.0 * (x**2).sum(1)


def exact(x: torch.Tensor) -> torch.Tensor:
    """The piecewise ``r^4`` solution: ``(N, 1)``."""
    r4 = ((x**2).sum(1)) ** 2
    inner = r4 / A_IN
    outer = r4 / A_OUT + R0**4 * (1 / A_IN - 1 / A_OUT)
    return torch.where(r4 < R0**4, inner, outer)[:, None]


def boundary_value(x: torch.Tensor) -> torch.Tensor:
    """The outer material's formula, ``r^4 / a_out + r0^4 (1/a_in - 1/a_out)``: ``(N,)``. It
    equals the exact solution on the whole boundary (where ``r >= 1 > r0``) and, as the lifting
    of the hard condition, leaves the inclusion for the network to learn."""
    return ((x**2).sum(1)) ** 2 / A_OUT + R0**4 * (1 / A_IN - 1 / A_OUT)


def _energy_density(x, u):
    return 0.5 * conductivity(x) * (u.grad_of("u") ** 2).sum(1) - source(x) * u["u"]


def _grid(n: int = 201) -> torch.Tensor:
    t = torch.linspace(-1, 1, n, dtype=torch.float64)
    return torch.cartesian_prod(t, t)


def composite(quadrature_n: int = 4096, rule: str = "montecarlo") -> Problem:
    """The composite in energy form, integrated by ``quadrature_n`` (quasi-)random points
    (``rule="montecarlo"``: the sampler's points, Sobol by default, with equal weights) or a
    ``quadrature_n`` x ``quadrature_n`` tensor ``rule`` ("gauss", "trapezoid", "simpson")."""
    return Problem(
        name="composite",
        geometry=Rectangle([-1, -1], [1, 1]),
        inputs=("x", "y"),
        fields=("u",),
        terms=[
            Energy(_energy_density, rule=rule, n=quadrature_n),
            Dirichlet("boundary", boundary_value, hard=True),
        ],
        # errors on a uniform 201 x 201 grid of the square
        reference=Reference(solution=exact, points=_grid()),
        default_form="energy",
    )
