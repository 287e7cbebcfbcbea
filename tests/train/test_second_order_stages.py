"""The self-scaled quasi-Newton and Gauss-Newton stages in the trainer: each beats L-BFGS at
the same number of iterations on 1-D Poisson with a small B-spline KAN in float64, and the
trainer keeps their objective fixed."""

import pytest
import torch
from train_helpers import SineFit, mlp

import problems
from kinn.nn import KAN
from kinn.train import Objective, Stage, Trainer

QUASI_NEWTON_STEPS, GAUSS_NEWTON_STEPS = 120, 20


@pytest.fixture(scope="module")
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def polish(optimizer: str, steps: int) -> dict[int, dict]:
    """From the same initial KAN, ``steps`` steps of ``optimizer``: history rows by step."""
    problem = problems.poisson1d()
    torch.manual_seed(0)
    net = KAN([1, 4, 1], "bspline", grid=4, degree=3, domain=[(-1, 1), (-4, 4)])
    objective = problem.objective(net, "strong", n_interior=32)
    validate = GAUSS_NEWTON_STEPS
    result = Trainer(
        net, objective, Stage(optimizer, steps), validate_every=validate, progress=False
    ).fit()
    return {row["step"]: row for row in result.history if "rel_l2_u" in row}


@pytest.fixture(scope="module")
def lbfgs(float64):
    return polish("lbfgs", QUASI_NEWTON_STEPS)


@pytest.mark.parametrize(
    ("optimizer", "steps"),
    [
        ("ssbfgs", QUASI_NEWTON_STEPS),
        ("ssbroyden", QUASI_NEWTON_STEPS),
        ("gauss_newton", GAUSS_NEWTON_STEPS),
    ],
)
def test_beats_lbfgs_at_the_same_number_of_iterations(lbfgs, optimizer, steps):
    rows = polish(optimizer, steps)
    ours, theirs = rows[steps], lbfgs[steps]
    assert ours["loss"] < 0.2 * theirs["loss"]
    assert ours["rel_l2_u"] < theirs["rel_l2_u"]


class Counting(SineFit):
    def __init__(self):
        super().__init__()
        self.resampled = 0

    def resample(self, generator):
        self.resampled += 1
        super().resample(generator)


@pytest.mark.parametrize("optimizer", ["lbfgs", "ssbroyden", "gauss_newton"])
def test_second_order_stages_neither_resample_nor_move_adaptive_weights(optimizer):
    objective = Counting()
    result = Trainer(
        mlp(),
        objective,
        [Stage("adam", 4, 1e-2), Stage(optimizer, 6)],
        resample_every=1,
        adaptive={"method": "gradnorm", "update_every": 1},
        log_every=1,
        progress=False,
    ).fit()
    assert objective.resampled == 3  # before Adam's steps 2, 3 and 4 only
    second = [row for row in result.history if row["stage"] == 1]
    assert len({(row["weight_fit"], row["weight_bc"]) for row in second}) == 1
    assert second[-1]["loss"] < second[0]["loss"]


def test_gauss_newton_needs_residuals_and_says_so_at_construction():
    plain = Objective.from_losses(lambda m: {"fit": m(torch.zeros(2, 1)).square().mean()})
    with pytest.raises(ValueError, match="must implement residuals.*'gauss_newton' stage"):
        Trainer(mlp(), plain, [Stage("adam", 100), Stage("gauss_newton", 5)])


def test_max_grad_norm_leaves_second_order_stages_their_true_gradient():
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.constant_(model.weight, 0.0)
    far = Objective.from_losses(lambda m: {"far": (m(torch.ones(1, 1)) - 3.0).pow(2).sum()})
    trainer = Trainer(model, far, Stage("ssbfgs", 3), max_grad_norm=1e-3, progress=False)
    trainer.fit()
    assert float(model.weight.detach()) == pytest.approx(3.0, abs=1e-5)
