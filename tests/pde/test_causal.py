"""Causal weighting of space-time residuals (Wang, Sankaran & Perdikaris 2024)."""

import math

import pytest
import torch

from kinn.geometry import GeometryXTime, Interval, TimeDomain
from kinn.nn import KAN
from kinn.pde import Dirichlet, Initial, Problem, Residual
from kinn.pde.objective import CAUSAL_CHUNKS
from kinn.train import Stage, Trainer
from problems import poisson2d


def _heat():
    return Problem(
        name="heat",
        geometry=GeometryXTime(Interval(0, 1), TimeDomain(0, 1)),
        inputs=("x", "t"),
        fields=("u",),
        terms=[
            Residual(lambda x, u: u.d("u", "t") - 0.1 * u.d("u", "xx"), hessian="diag"),
            Initial(lambda x: torch.sin(math.pi * x[:, 0])),
            Dirichlet("boundary", 0.0),
        ],
    )


def _objective(causal=1.0):
    problem = _heat()
    torch.manual_seed(0)
    model = problem.model(KAN([2, 5, 1], grid=4, domain=[(-1, 1), (-4, 4)]))
    return model, problem.objective(model, "strong", n_interior=128, n_boundary=32, causal=causal)


def test_weights_follow_the_cumulative_residual_of_earlier_chunks(f64):
    model, objective = _objective(causal=2.0)
    plain = objective.losses(model)["pde"]  # before adapt(): all weights one
    objective.adapt()
    weighted = objective.losses(model)["pde"]
    w = objective.causal_weights["pde"]
    assert w.shape == (CAUSAL_CHUNKS,) and w[0] == 1.0
    assert (w[1:] <= w[:-1]).all() and (w > 0).all()  # later chunks wait for earlier ones
    ctx_r = objective.residuals(model)["pde"]
    torch.testing.assert_close(ctx_r.square().mean(), weighted)  # Gauss-Newton sees the same
    assert weighted <= plain
    objective.losses(model)  # a line-search trial: the weights stay
    assert torch.equal(objective.causal_weights["pde"], w)


def test_causal_training_resumes_exactly(f64, tmp_path):
    def run(out, crash_at=None):
        model, objective = _objective()

        def crash(row):
            if row["step"] == crash_at:
                raise KeyboardInterrupt

        stages = [Stage("adam", 6, 1e-2), Stage("lbfgs", 2, max_iter=3)]
        return Trainer(
            model,
            objective,
            stages,
            out_dir=out,
            checkpoint_every=2,
            log_every=1,
            progress=False,
            callbacks=[crash],
            validate_every=None,
        ), objective

    straight, objective = run(tmp_path / "a")
    result = straight.fit()
    crashed, _ = run(tmp_path / "b", crash_at=4)
    with pytest.raises(KeyboardInterrupt):
        crashed.fit()
    resumed, again = run(tmp_path / "b")
    again_result = resumed.fit(resume=tmp_path / "b")
    assert again_result.final_loss == result.final_loss
    assert torch.equal(again.causal_weights["pde"], objective.causal_weights["pde"])


def test_causal_needs_a_space_time_geometry_and_a_positive_epsilon():
    with pytest.raises(ValueError, match="causal must be a positive number or None, got 0"):
        _objective(causal=0)
    with pytest.raises(ValueError, match="space-time geometry .* got Rectangle"):
        poisson2d().objective(KAN([2, 3, 1]), "strong", causal=1.0)
