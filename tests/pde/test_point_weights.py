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
