"""The heterogeneous composite: the exact solution solves the PDE and the interface conditions,
and a short energy-form run learns it."""

import torch
from problem_helpers import train_briefly

from kinn.nn import KAN
from kinn.problems import composite
from kinn.problems.composite import A_IN, A_OUT, R0, boundary_value, conductivity, exact, source
from kinn.train import Stage


def _radial(r, theta=0.7):
    return torch.stack([r * torch.cos(torch.tensor(theta)), r * torch.sin(torch.tensor(theta))], 1)


def test_exact_solution_solves_the_pde_in_both_materials(f64):
    x = torch.rand(400, 2) * 2 - 1
    r = x.norm(dim=1)
    x = x[(r - R0).abs() > 0.05].requires_grad_(True)  # away from the interface
    u = exact(x)[:, 0]
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    flux = conductivity(x)[:, None] * g
    div = sum(torch.autograd.grad(flux[:, i].sum(), x, retain_graph=True)[0][:, i] for i in (0, 1))
    assert torch.allclose(-div, source(x), atol=1e-10)
    assert {A_IN, A_OUT} == {float(a) for a in conductivity(x).unique()}


def test_exact_solution_is_continuous_with_continuous_flux_at_the_interface(f64):
    eps = 1e-7
    inner = _radial(torch.full((1,), R0 - eps)).requires_grad_(True)
    outer = _radial(torch.full((1,), R0 + eps)).requires_grad_(True)
    u_in, u_out = exact(inner)[0, 0], exact(outer)[0, 0]
    assert abs(float(u_in.detach() - u_out.detach())) < 1e-5
    (g_in,) = torch.autograd.grad(u_in, inner)
    (g_out,) = torch.autograd.grad(u_out, outer)
    normal = inner.detach() / inner.detach().norm()
    assert abs(float(A_IN * g_in @ normal[0] - A_OUT * g_out @ normal[0])) < 1e-5
    assert abs(float(g_in @ normal[0] - g_out @ normal[0])) > 1  # the gradient itself jumps


def test_hard_boundary_values_are_the_exact_solution_on_the_boundary(f64):
    problem = composite(quadrature_n=10)
    xb, _ = problem.geometry.sample_boundary(200, seed=0)
    assert torch.allclose(boundary_value(xb), exact(xb)[:, 0])
    model = problem.model(KAN([2, 4, 1], grid=5))
    assert torch.allclose(problem.evaluate(model, xb)["u"], exact(xb)[:, 0], atol=1e-10)


def test_short_energy_run_falls_well_below_the_initial_error(f64):
    torch.manual_seed(0)
    problem = composite(quadrature_n=512)
    model = KAN([2, 5, 5, 1], grid=10)
    before, after = train_briefly(problem, model, [Stage("adam", 150, 1e-2)], resample_every=1)
    assert after["rel_l2_u"] < 0.3 * before["rel_l2_u"], (before, after)
