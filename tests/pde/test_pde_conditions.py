"""Conditions: exact solutions give zero loss; hard constraints hold to round-off."""

import math

import pytest
import torch
from torch import nn

from kinn.geometry import Disk, Interval, Rectangle, TimeDomain
from kinn.nn import KAN, MLP
from kinn.pde import (
    Dirichlet,
    Energy,
    Initial,
    Interface,
    Neumann,
    Periodic,
    Problem,
    Residual,
    Robin,
)


class Exact(nn.Module):
    """A 'network' that returns fn(x) at the physical points behind the normalised input."""

    def __init__(self, fn, problem):
        super().__init__()
        self.fn = fn
        lo, hi = problem.geometry.bbox
        self.lo, self.hi = lo.double(), hi.double()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        x = self.lo.to(z) + (z + 1) / 2 * (self.hi - self.lo).to(z)
        return self.fn(x) + 0 * self.dummy


def losses_of_exact(problem, fn, form, **kw):
    model = problem.model(Exact(fn, problem))
    return problem.objective(model, form, **kw).losses(model)


def sin_exact(x):
    return torch.sin(math.pi * x[:, :1]) * torch.exp(x[:, 1:2])


def test_exact_solution_zeroes_dirichlet_neumann_robin_losses(f64):
    # u = sin(pi x) e^y on the unit square: -u_xx - u_yy = (pi^2 - 1) u.
    def residual(x, u):
        return -u.laplacian("u") - (math.pi**2 - 1) * u["u"]

    def top(x):  # du/dn on y = 1 is u_y = u
        return sin_exact(x)

    problem = Problem(
        "check",
        Rectangle([0, 0], [1, 1]),
        ("x", "y"),
        ("u",),
        [
            Residual(residual),
            Dirichlet("left", 0.0),
            Dirichlet("right", lambda x: sin_exact(x)),
            Neumann("top", top),
            Robin("bottom", alpha=1.0, value=0.0),  # -u_y + u = 0 on y = 0
        ],
    )
    for derivatives in ("auto", "autograd"):
        losses = losses_of_exact(problem, sin_exact, "strong", derivatives=derivatives)
        assert set(losses) == {"pde", "dirichlet_left", "dirichlet_right", "neumann_top",
                               "robin_bottom"}  # fmt: skip
        for name, value in losses.items():
            assert float(value.detach()) < 1e-20, name


def test_periodic_initial_and_interface_losses_vanish_for_exact_fields(f64):
    # u(x, t) = sin(2 pi x) cos(t) is periodic in x on [0, 1] with u_t(x, 0) = 0.
    geom = Interval(0, 1) * TimeDomain(0, 1)

    def fn(x):
        return torch.sin(2 * math.pi * x[:, :1]) * torch.cos(x[:, 1:2])

    problem = Problem(
        "wave",
        geom,
        ("x", "t"),
        ("u",),
        [
            Periodic("left", shift=(1.0, 0.0), derivatives=True),
            Initial(lambda x: torch.sin(2 * math.pi * x[:, 0]), velocity=0.0),
        ],
    )
    losses = losses_of_exact(problem, fn, "strong")
    assert set(losses) == {"periodic_left", "initial"}
    assert all(float(v.detach()) < 1e-20 for v in losses.values())

    # u1 = r^2 and u2 = 1/4 + (r^2 - 1/4) / 2 agree on r = 1/2, where du1/dn = 2 du2/dn.
    inner = Disk([0, 0], 0.5)

    def two(x):
        r2 = (x**2).sum(1, keepdim=True)
        return torch.cat([r2, 0.25 + (r2 - 0.25) / 2], 1)

    flux = lambda k, f: lambda x, u: k * u.jacobian((f,))  # noqa: E731
    problem = Problem(
        "inclusion",
        Rectangle([-1, -1], [1, 1]),
        ("x", "y"),
        ("u1", "u2"),
        [Interface(inner, "u1", "u2", flux_a=flux(1.0, "u1"), flux_b=flux(2.0, "u2"))],
    )
    losses = losses_of_exact(problem, two, "strong")
    assert losses["interface"].item() < 1e-20
    wrong = lambda x: two(x) * torch.tensor([1.0, 1.1])  # noqa: E731
    assert losses_of_exact(problem, wrong, "strong")["interface"].item() > 1e-4


def test_hard_dirichlet_holds_to_round_off_on_the_boundary(f64):
    geom = Rectangle([0, 0], [2, 1]) - Disk([0, 0], 0.5).named("hole")

    def lifting(x):
        return 1 + x[:, 0] * x[:, 1]

    # Three hard conditions with different values on one field combine by transfinite
    # interpolation; each holds exactly on its own part.
    conditions = {"left": lifting, "hole": 2.0, "bottom": lambda x: torch.sin(x[:, 0])}
    problem = Problem(
        "hard",
        geom,
        ("x", "y"),
        ("u", "v"),
        [Dirichlet(part, g, fields="u", hard=True) for part, g in conditions.items()]
        + [Dirichlet("right", lifting, fields="v", hard=True)],
    )
    expected = [(part, 0, g) for part, g in conditions.items()] + [("right", 1, lifting)]
    for net in (KAN([2, 8, 2]), MLP([2, 16, 2])):
        model = problem.model(net)
        for part, col, g in expected:
            x, _ = geom.sample_boundary(200, part=part, seed=1)
            want = g(x) if callable(g) else torch.full((len(x),), g)
            out = problem.evaluate(model, x)[problem.fields[col]]
            assert torch.allclose(out, want, atol=1e-13, rtol=0), part
            jet_value = model.jet(x, 2).value[:, col]
            assert torch.allclose(jet_value, want, atol=1e-13, rtol=0), part
        inside = geom.sample_interior(50, seed=2)
        _, distance = problem.hard_constraints()[0]
        assert distance(inside).min() > 0


def test_energy_terms_integrate_work_and_robin_by_quadrature(f64):
    # u = 1: energy of density 1 is the area; work of traction 3 on the right edge is -3 * 1.
    problem = Problem(
        "work",
        Rectangle([0, 0], [2, 1]),
        ("x", "y"),
        ("u",),
        [
            Energy(lambda x, u: torch.ones_like(u["u"])),
            Neumann("right", 3.0),
            Robin("top", alpha=4.0, value=1.0),  # int (4/2 - 1) ds over length 2 = 2
        ],
    )
    losses = losses_of_exact(problem, lambda x: torch.ones(len(x), 1), "energy")
    assert losses["energy"].item() == pytest.approx(2.0, rel=1e-12)
    assert losses["neumann_right"].item() == pytest.approx(-3.0, rel=1e-12)
    assert losses["robin_top"].item() == pytest.approx(2.0, rel=1e-12)
