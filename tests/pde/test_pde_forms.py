"""Manufactured Poisson problems reach relative L2 < 1e-3 in strong and energy form with KANs."""

import time

import pytest
import torch

from kinn.nn import KAN
from kinn.problems import poisson1d, poisson2d
from kinn.train import Stage, Trainer


def bspline_kan(d):
    # A wider domain for the hidden layer keeps its inputs inside the grid, where the splines
    # have their full resolution (outside they only continue to a straight line).
    return KAN([d, 8, 1], grid=10, domain=[(-1, 1), (-4, 4)])


def chebyshev_kan(d):
    return KAN([d, 6, 1], basis="chebyshev", degree=6)


# (problem, form, network, objective options, L-BFGS steps after 200 Adam steps)
CASES = [
    ("poisson1d", "strong", bspline_kan, {}, 40),
    ("poisson1d", "energy", bspline_kan, {}, 40),
    ("poisson2d", "strong", bspline_kan, {"n_interior": 400}, 40),
    # The normalised distance function of the square (R-equivalence of its four edges) makes
    # u / D less simple than the product x (1 - x) y (1 - y) did: 1.4e-3 after 40 steps.
    ("poisson2d", "energy", chebyshev_kan, {"quadrature": ("gauss", 32)}, 80),
]


@pytest.mark.parametrize(
    "name,form,make,options,lbfgs", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_manufactured_poisson_reaches_1e_3(f64, name, form, make, options, lbfgs):
    problem = {"poisson1d": poisson1d, "poisson2d": poisson2d}[name]()
    torch.manual_seed(0)
    model = problem.model(make(problem.in_dim))
    stages = [Stage("adam", 200, 1e-2), Stage("lbfgs", lbfgs, 1.0)]
    start = time.perf_counter()
    result = Trainer(
        model,
        problem.objective(model, form, **options),
        stages,
        validate_every=200 + lbfgs,
        progress=False,
        dtype=torch.float64,
    ).fit()
    wall = time.perf_counter() - start
    error = result.history[-1]["rel_l2_u"]
    # wall time is measured by benchmarks/forms.py (tests run on loaded machines)
    assert error < 1e-3, f"{name} {form}: rel L2 {error:.2e} after {wall:.0f} s"
