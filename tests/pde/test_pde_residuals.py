"""PDEObjective.residuals: one pointwise residual per loss term, with losses == mean(r**2)."""

import pytest
import torch

from kinn.nn import KAN
from kinn.train import Stage, Trainer
from problems import inverse_diffusion, poisson2d


@pytest.mark.parametrize(
    ("make", "form", "names"),
    [
        (lambda: poisson2d(hard=False), "strong", {"pde", "dirichlet"}),
        (lambda: inverse_diffusion(n_obs=20), "inverse", {"pde", "data"}),  # data weight 100
    ],
    ids=["strong", "inverse"],
)
@pytest.mark.parametrize("point_weights", [None, "rba"])
def test_losses_are_the_mean_squares_of_the_residuals(f64, make, form, names, point_weights):
    problem = make()
    torch.manual_seed(0)
    model = KAN([2, 4, 1], grid=4, domain=[(-1, 1), (-4, 4)])
    objective = problem.objective(
        model, form, n_interior=24, n_boundary=8, point_weights=point_weights
    )
    losses = objective.losses(model)  # with "rba": updates the point weights, then uses them
    residuals = objective.residuals(model)  # uses them as they are
    assert set(residuals) == set(losses) == names
    for name, r in residuals.items():
        assert r.ndim in (1, 2) and r.requires_grad
        torch.testing.assert_close(r.square().mean(), losses[name])


def test_energy_terms_have_no_residual_and_gauss_newton_names_them(f64):
    problem = poisson2d()
    model = KAN([2, 4, 1], grid=4)
    objective = problem.objective(model, "energy")
    with pytest.raises(ValueError, match=r"loss term 'energy' \(Energy, energy form\)"):
        objective.residuals(model)
    with pytest.raises(ValueError, match="loss term 'energy'.*strong or inverse form"):
        Trainer(model, objective, [Stage("adam", 10), Stage("gauss_newton", 5)])


def test_gauss_newton_identifies_the_inverse_diffusion_coefficient(f64):
    problem = inverse_diffusion(n_obs=40, noise=0.0)
    torch.manual_seed(0)
    model = KAN([2, 5, 1], grid=4, domain=[(-1, 1), (-4, 4)])
    objective = problem.objective(model, n_interior=48)
    result = Trainer(
        model, objective, Stage("gauss_newton", 15), validate_every=15, progress=False
    ).fit()
    assert result.history[-1]["param_k_rel_err"] < 0.01
