"""Hard initial and boundary conditions together: exact on every part, and they train."""

import math

import torch

from kinn.geometry import Disk, Interval, TimeDomain
from kinn.nn import KAN
from kinn.pde import Dirichlet, Initial, Problem, Residual
from kinn.train import Stage, Trainer


def heat_exact(x):  # u_t = u_xx, u(0, t) = 0, u(1, t) = 1, u(x, 0) = sin(pi x) + x
    s, t = x[:, :1], x[:, 1:]
    return torch.exp(-(math.pi**2) * t) * torch.sin(math.pi * s) + s


def heat() -> Problem:
    return Problem(
        "heat",
        Interval(0, 1) * TimeDomain(0, 0.5),
        ("x", "t"),
        ("u",),
        [
            Residual(lambda x, u: u.d("u", "t") - u.d("u", "xx"), hessian="diag"),
            Initial(lambda x: torch.sin(math.pi * x[:, 0]) + x[:, 0], hard=True),
            Dirichlet("left", 0.0, hard=True),
            Dirichlet("right", 1.0, hard=True),
        ],
        reference=heat_exact,
        defaults={"n_interior": 256},
    )


def test_hard_initial_and_boundary_values_are_exact_and_training_reduces_the_error(f64):
    problem = heat()
    assert problem.forms() == ["strong"] and all(not t.forms for t in problem.terms[1:])
    torch.manual_seed(0)
    model = problem.model(KAN([2, 8, 1], basis="chebyshev", degree=5))
    geom = problem.geometry
    x0 = geom.sample_initial(100, seed=0)
    xl, _ = geom.sample_boundary(100, part="left", seed=0)
    xr, _ = geom.sample_boundary(100, part="right", seed=0)
    for x in (x0, xl, xr):
        exact = heat_exact(x)[:, 0]
        assert torch.allclose(problem.evaluate(model, x)["u"], exact, atol=1e-13, rtol=0)
        assert torch.allclose(model.jet(x, 2, "diag").value[:, 0], exact, atol=1e-13, rtol=0)
    objective = problem.objective(model)
    assert set(objective.losses(model)) == {"pde"}
    before = objective.validate(model)["rel_l2_u"]
    stages = [Stage("adam", 150, 1e-2), Stage("lbfgs", 30, 1.0)]
    result = Trainer(model, objective, stages, dtype=torch.float64, progress=False).fit()
    after = result.history[-1]["rel_l2_u"]
    assert after < 2e-2 and after < before / 10, (before, after)  # measured 0.36 -> 0.0099
    for x in (x0, xl, xr):  # still exact after training
        exact = heat_exact(x)[:, 0]
        assert torch.allclose(problem.evaluate(model, x)["u"], exact, atol=1e-13, rtol=0)


def test_hard_conditions_on_a_disk_in_time_and_a_soft_velocity(f64):
    # Dirichlet("initial", ..., hard=True) is the same as Initial(..., hard=True); a velocity
    # stays a soft term of the initial condition.
    g0 = lambda x: 1 + x[:, 0] * x[:, 1]  # noqa: E731
    wall = lambda x: torch.cos(x[:, 2]) * x[:, 0]  # noqa: E731
    problem = Problem(
        "wave",
        Disk([0, 0], 1) * TimeDomain(0, 1),
        ("x", "y", "t"),
        ("u",),
        [
            Residual(lambda x, u: u.d("u", "tt") - u.laplacian("u")),
            Dirichlet("initial", g0, hard=True),
            Initial(g0, velocity=0.5, hard=True),
            Dirichlet("boundary", wall, hard=True),
        ],
    )
    model = problem.model(KAN([3, 6, 1], basis="chebyshev", degree=4))
    geom = problem.geometry
    x0 = geom.sample_initial(64, seed=1)
    xb, _ = geom.sample_boundary(64, seed=1)
    u0, ub = problem.evaluate(model, x0)["u"], problem.evaluate(model, xb)["u"]
    assert torch.allclose(u0, g0(x0), atol=1e-13, rtol=0)
    assert torch.allclose(ub, wall(xb), atol=1e-13, rtol=0)
    losses = problem.objective(model).losses(model)
    assert set(losses) == {"pde", "initial"}
    velocity = problem.terms[2].residual(_ctx(problem, model), {"x": x0}, "strong")
    assert velocity.shape == (64, 1)  # u_t - 0.5 only: the value part is exact


def _ctx(problem, model):
    from kinn.pde.objective import _Context

    return _Context(problem, problem.model(model), "auto")
