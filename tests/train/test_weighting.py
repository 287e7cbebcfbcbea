"""Term weights (gradient-norm balancing, learning-rate annealing) and residual point weights."""

import pytest
import torch

from kinn.train import residual_point_weights
from kinn.train.weighting import TermWeights


def _terms():
    w = torch.ones(4, requires_grad=True)
    # |grad big| = 100 * (1, 1, 1, 1): norm 200, max 100. |grad small| = (1, 1, 1, 1): norm 2.
    return {"big": 100.0 * w.sum(), "small": w.sum()}, [w]


def test_gradnorm_equalises_weighted_gradient_norms():
    weights = TermWeights(adaptive={"method": "gradnorm", "alpha": 0.0})
    terms, params = _terms()
    weights.update(terms, params)
    assert weights["big"] == pytest.approx(202 / 200)
    assert weights["small"] == pytest.approx(202 / 2)
    assert weights["big"] * 200 == pytest.approx(weights["small"] * 2)


def test_lra_scales_terms_against_the_reference_with_moving_average():
    weights = TermWeights({"small": 2.0}, adaptive={"method": "lra", "alpha": 0.5})
    terms, params = _terms()
    weights.update(terms, params)
    # lam_hat = max|grad big| / mean|grad small| = 100; factor = 0.5 * 1 + 0.5 * 100.
    assert weights["big"] == 1.0
    assert weights["small"] == pytest.approx(2.0 * 50.5)
    state = weights.state_dict()
    again = TermWeights({"small": 2.0}, adaptive="lra")
    again.load_state_dict(state)
    assert again["small"] == weights["small"]


def test_term_weights_schedule_and_bad_reference():
    weights = TermWeights(adaptive={"method": "gradnorm", "update_every": 10})
    assert [s for s in range(25) if weights.due(s)] == [0, 10, 20]
    assert not TermWeights().due(0)
    with pytest.raises(ValueError, match="reference='pde'"):
        TermWeights(adaptive={"method": "lra", "reference": "pde"}).check_terms(["bc"])
    with pytest.raises(ValueError, match="alpha=1.5"):
        TermWeights(adaptive={"method": "lra", "alpha": 1.5})


def test_residual_point_weights_follow_rba_update_and_stay_bounded():
    r = torch.tensor([0.0, -1.0, 2.0, 4.0])
    lam = residual_point_weights(r, gamma=0.9, eta=0.1)
    assert torch.allclose(lam, torch.tensor([0.0, 0.025, 0.05, 0.1]))
    lam2 = residual_point_weights(r, lam, gamma=0.9, eta=0.1)
    assert torch.allclose(lam2, 0.9 * lam + 0.1 * r.abs() / 4.0)
    for _ in range(500):
        lam = residual_point_weights(r, lam, gamma=0.9, eta=0.1)
    assert float(lam.max()) == pytest.approx(0.1 / (1 - 0.9), rel=1e-4)


def test_residual_point_weights_reject_bad_input():
    r = torch.ones(3, 2, requires_grad=True)
    assert not residual_point_weights(r).requires_grad
    with pytest.raises(ValueError, match="expected the residual shape \\(3, 2\\)"):
        residual_point_weights(r, torch.ones(3))
    with pytest.raises(ValueError, match="gamma=1.0"):
        residual_point_weights(r, gamma=1.0)
    with pytest.raises(ValueError, match="eta=0"):
        residual_point_weights(r, eta=0)
