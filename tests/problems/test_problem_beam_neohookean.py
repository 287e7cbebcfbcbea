"""The Neo-Hookean beam: the stress matches the energy, the reference is the FEniCS one, and a
short energy-form run bends the beam towards it."""

import torch
from problem_helpers import train_briefly

from kinn.geometry import Rectangle
from kinn.nn import KAN
from kinn.pde import Problem, ProblemModel
from kinn.pde.elasticity import neo_hookean, neo_hookean_pk2
from kinn.problems import beam_neohookean
from kinn.problems.beam_neohookean import NU, E, U, mises
from kinn.train import Stage


class _Affine(torch.nn.Module):
    """``u = G x``: a uniform deformation gradient ``F = I + G``."""

    def __init__(self, G):
        super().__init__()
        self.G = torch.as_tensor(G, dtype=torch.float64)

    def forward(self, x):
        return x @ self.G.T


def _fields(G, n=5):
    # on [-1, 1]^2 the model's input normalisation is the identity
    problem = Problem("affine", Rectangle([-1, -1], [1, 1]), ("x", "y"), U, [])
    model = ProblemModel(_Affine(G), [-1, -1], [1, 1])
    return problem.fields_at(model, torch.rand(n, 2), 1)


def test_second_piola_stress_is_the_derivative_of_the_energy(f64):
    G = torch.tensor([[0.1, -0.2], [0.05, 0.15]])
    F = (torch.eye(2) + G).requires_grad_(True)
    lam = E * NU / ((1 + NU) * (1 - 2 * NU))
    mu = E / (2 * (1 + NU))
    J = torch.linalg.det(F)
    psi = 0.5 * lam * torch.log(J) ** 2 - mu * torch.log(J) + 0.5 * mu * ((F * F).sum() - 2)
    (P,) = torch.autograd.grad(psi, F)  # first Piola-Kirchhoff stress dpsi/dF = F S
    u = _fields(G)
    S = neo_hookean_pk2(u, U, E, NU)
    assert torch.allclose(F.detach() @ S[0], P, atol=1e-9)
    assert torch.allclose(neo_hookean(E, NU, U)(None, u), psi.detach().expand(5), atol=1e-9)


def test_mises_is_zero_without_deformation_and_grows_with_it(f64):
    assert torch.allclose(mises(None, _fields(torch.zeros(2, 2))), torch.zeros(5), atol=1e-12)
    shear = mises(None, _fields([[0.0, 0.01], [0.0, 0.0]]))
    assert torch.all(shear > 0) and torch.allclose(shear, shear[:1].expand(5))


def test_reference_is_the_fenics_beam(f64):
    ev = beam_neohookean(quadrature_n=5).evaluation_set()
    assert ev.points.shape == (20251, 2)
    tip = ev.points[:, 0] == 4
    assert -1.18 < float(ev.reference["uy"][tip].min()) < -1.16
    assert 299 < float(ev.reference["mises"].max()) < 301


def test_short_energy_run_falls_well_below_the_initial_error(f64):
    torch.manual_seed(0)
    problem = beam_neohookean(quadrature_n=21, traction_n=16)
    model = KAN([2, 5, 5, 2], grid=8)
    before, after = train_briefly(problem, model, [Stage("adam", 60, 5e-3), Stage("lbfgs", 40)])
    assert after["rel_l2_uy"] < 0.3 * before["rel_l2_uy"], (before, after)
