"""Residual-based point weights move once per first-order step, never inside a line search."""

import pytest
import torch

import kinn.pde.objective as pde_objective
from kinn.nn import KAN
from kinn.train import Stage, Trainer
from problems import poisson2d


def _counting(monkeypatch) -> list[int]:
    calls = []
    update = pde_objective.residual_point_weights

    def counted(*args, **kwargs):
        calls.append(1)
        return update(*args, **kwargs)

    monkeypatch.setattr(pde_objective, "residual_point_weights", counted)
    return calls


def _objective():
    problem = poisson2d(hard=False)
    torch.manual_seed(0)
    model = problem.model(KAN([2, 4, 1], grid=4, domain=[(-1, 1), (-4, 4)]))
    return model, problem.objective(
        model, "strong", n_interior=32, n_boundary=16, point_weights="rba"
    )


@pytest.mark.parametrize("second", ["lbfgs", "ssbroyden", "gauss_newton"])
def test_rba_weights_update_per_adam_step_and_stay_fixed_in_second_order_stages(
    f64, monkeypatch, second
):
    model, objective = _objective()
    calls = _counting(monkeypatch)
    seen = {}

    def snapshot(row):
        if row["step"] == 3:
            seen["adam"] = {k: v.clone() for k, v in objective.lam.items()}

    options = {} if second == "gauss_newton" else {"max_iter": 4}
    stages = [Stage("adam", 3, 1e-2), Stage(second, 2, **options)]
    Trainer(model, objective, stages, log_every=1, progress=False, callbacks=[snapshot]).fit()
    assert len(calls) == 3 * 2  # one update per Adam step for each of the two terms
    assert set(seen["adam"]) == {"pde", "dirichlet"}
    for name, lam in objective.lam.items():
        assert torch.equal(lam, seen["adam"][name])  # the second-order stage left them alone
        assert (lam > 0).all() and (lam <= 1 + 0.01 / (1 - 0.999)).all()


def test_losses_alone_leave_the_point_weights_unchanged(f64):
    model, objective = _objective()
    objective.losses(model)
    assert objective.lam == {}
    objective.adapt()
    objective.losses(model)
    first = {k: v.clone() for k, v in objective.lam.items()}
    objective.losses(model)  # a second evaluation (a line-search trial) does not move them
    assert all(torch.equal(first[k], objective.lam[k]) for k in first)


def test_rad_resampling_concentrates_points_where_the_residual_is_large(f64):
    problem = poisson2d(hard=False)
    torch.manual_seed(0)
    model = problem.model(KAN([2, 4, 1], grid=4, domain=[(-1, 1), (-4, 4)]))
    plain = problem.objective(model, "strong", n_interior=256, n_boundary=16)
    adaptive = problem.objective(model, "strong", n_interior=256, n_boundary=16, adaptive="rad")

    def mean_residual(objective):
        ctx = pde_objective._Context(problem, objective.wrapped, "auto")
        r = objective.terms[0].residual(ctx, objective.points["pde"], "strong")
        return float(r.detach().abs().mean())

    for objective in (plain, adaptive):
        objective.resample(torch.Generator().manual_seed(1))
    assert adaptive.points["pde"]["x"].shape == (256, 2)
    assert mean_residual(adaptive) > 1.15 * mean_residual(plain)  # c = 1 keeps half uniform
    state = adaptive.state_dict()  # the drawn points are in the checkpoint: resume is exact
    assert torch.equal(state["points"]["pde"]["x"], adaptive.points["pde"]["x"])
    with pytest.raises(ValueError, match="adaptive must be None or 'rad', got 'rar'"):
        problem.objective(model, "strong", adaptive="rar")
