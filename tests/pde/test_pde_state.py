"""Terms hold no per-objective state; one contract per term; references; accessors."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import kinn.pde
from kinn.geometry import Rectangle
from kinn.nn import MLP
from kinn.pde import Data, Energy, InverseParameter, Neumann, Problem, ProblemModel, Residual


def _problem():
    return Problem(
        "p",
        Rectangle([0, 0], [1, 1]),
        ("x", "y"),
        ("u",),
        [
            Residual(lambda x, u: -u.laplacian("u")),
            Energy(lambda x, u: 0.5 * (u.grad_of("u") ** 2).sum(1)),
            Neumann("right", 1.0),
        ],
    )


def test_an_energy_objective_does_not_stop_a_strong_objective_from_resampling(f64):
    problem = _problem()
    model = problem.model(MLP([2, 4, 1]))
    strong = problem.objective(model, "strong", n_boundary=16)
    energy = problem.objective(model, "energy", quadrature=("montecarlo", 64))
    fixed = problem.objective(model, "energy")  # Gauss: drawn once
    before = strong.points["neumann_right"]["x"].clone()
    for objective in (strong, energy, fixed):
        objective.resample(torch.Generator().manual_seed(1))
    assert not torch.equal(strong.points["neumann_right"]["x"], before)
    assert strong.redraws == {"pde": True, "neumann_right": True}
    assert energy.redraws == {"energy": True, "neumann_right": False}
    assert fixed.redraws == {"energy": False, "neumann_right": False}


def test_neumann_on_points_takes_part_in_the_strong_form_only(f64):
    x = torch.rand(8, 2)
    normals = torch.tensor([[1.0, 0.0]]).expand(8, 2)
    assert Neumann((x, normals), 1.0).forms == ("strong", "inverse")
    with pytest.raises(ValueError, match="energy form needs a boundary part.*got tuple"):
        Neumann((x, normals), 1.0, forms="energy")


def test_data_is_checked_once_and_kept_as_given(f64):
    data = Data(np.zeros((5, 2)), np.ones(5))
    assert data.x.dtype == torch.float64 and data.values.shape == (5, 1)
    x = data.x
    Problem("a", Rectangle([0, 0], [1, 1]), ("x", "y"), ("u",), [data])
    assert data.x is x  # building a problem does not touch the term
    with pytest.raises(ValueError, match=r"must have shape \(n, 3\)"):
        Problem("b", Rectangle([0, 0], [1, 1]) * _time(), ("x", "y", "t"), ("u",), [data])


def _time():
    from kinn.geometry import TimeDomain

    return TimeDomain(0, 1)


def test_numpy_references_are_evaluated_without_a_graph(f64):
    # u = sin(pi x) sin(pi y) given as numpy code; the derived field needs its gradient
    # (central differences for numpy code, autograd for torch code).
    def numpy_exact(x):
        x = np.asarray(x)
        return (np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]))[:, None]

    def calls_numpy(x):  # fails on a tensor that requires grad; fine without a graph
        return numpy_exact(x.numpy())

    def torch_exact(x):
        return (torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1]))[:, None]

    ev = {}
    for key, reference in (("numpy", numpy_exact), ("tensor", calls_numpy), ("torch", torch_exact)):
        problem = Problem(
            "p", Rectangle([0, 0], [1, 1]), ("x", "y"), ("u",), [],
            reference=reference, derived={"ux": lambda x, u: u.d("u", "x")},
        )  # fmt: skip
        ev[key] = problem.evaluation_set()
    x = ev["torch"].points
    ux = math.pi * torch.cos(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
    assert torch.allclose(ev["torch"].reference["ux"], ux, atol=1e-12)
    for key in ("numpy", "tensor"):
        assert torch.allclose(ev[key].reference["u"], ev["torch"].reference["u"], atol=1e-15)
        assert torch.allclose(ev[key].reference["ux"], ux, atol=1e-8), key


def test_identified_parameters_read_as_floats_without_warnings():
    k = InverseParameter(2.5, transform="positive")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = k.item()
    assert isinstance(value, float) and value == pytest.approx(2.5)
    with pytest.raises(ValueError, match="field parameter"):
        InverseParameter(1.0, field=True).item()


class _NoJet(nn.Module):
    def forward(self, z):
        return z.sum(1, keepdim=True) ** 2


def test_derivatives_auto_jet_autograd(f64):
    model = ProblemModel(_NoJet(), [0, 0], [1, 1])
    x = torch.rand(5, 2)
    auto = model.jet(x, 2)  # default "auto": autograd for modules without jet rules
    assert torch.allclose(auto.hess, model.jet(x, 2, derivatives="autograd").hess)
    with pytest.raises(ValueError, match="no jet rule"):
        model.jet(x, 2, derivatives="jet")
    with pytest.raises(ValueError, match="derivatives must be one of.*got 'method'"):
        model.jet(x, 2, derivatives="method")
    assert not hasattr(kinn.pde, "Traction")  # a traction is Neumann(..., flux=stress)
