"""The plate with a hole in strong and inverse form: short runs learn the displacement, and
the inverse one moves E from its initial guess towards the true 1000."""

import numpy as np
import pytest
import torch
from problem_helpers import train_briefly

from kinn.nn import KAN
from kinn.problems import plate_hole, plate_hole_inverse
from kinn.problems.plate_hole import DATA, observations
from kinn.train import Stage, Trainer


def test_short_strong_form_run_lowers_the_error(f64):
    # The strong form converges slowly (KINN ran 30000 steps; kinn_plate_strong runs 1100):
    # within seconds the displacement error falls by a quarter and the Mises error by a third.
    torch.manual_seed(0)
    model = KAN([2, 6, 6, 2], grid=6)
    before, after = train_briefly(
        plate_hole(),
        model,
        [Stage("adam", 60, 1e-2), Stage("lbfgs", 150)],
        "strong",
        n_interior=256,
        n_boundary=64,
    )
    assert after["rel_l2_u_mag"] < 0.8 * before["rel_l2_u_mag"], (before, after)
    assert after["rel_l2_mises"] < 0.8 * before["rel_l2_mises"], (before, after)


def test_observations_are_fe_nodes(f64):
    x, u = observations(50, seed=1)
    d = np.load(DATA)
    nodes = {(a, b): (c, e) for a, b, c, e in zip(d["x"], d["y"], d["u_x"], d["u_y"])}
    assert x.shape == u.shape == (50, 2)
    assert all(nodes[tuple(p)] == tuple(v) for p, v in zip(x, u))
    with pytest.raises(ValueError, match="n_obs must be between 1 and 38004, got 0"):
        observations(0)


def test_inverse_form_moves_e_towards_the_true_modulus(f64):
    torch.manual_seed(0)
    problem = plate_hole_inverse(n_obs=500, e_init=1200.0)
    assert problem.forms() == ["inverse"]
    model = KAN([2, 6, 6, 2], grid=6)
    objective = problem.objective(model, n_interior=256, n_boundary=64)
    assert set(objective.losses(problem.model(model))) == {
        "equilibrium",
        "traction",
        "top",
        "hole",
        "shear_left",
        "shear_bottom",
        "data",
    }
    stages = [Stage("adam", 80, 1e-2), Stage("lbfgs", 40)]
    Trainer(
        model, objective, stages, validate_every=None, progress=False, dtype=torch.float64
    ).fit()
    e = problem.parameters["E"].item()
    assert abs(e - 1000) < 0.5 * 200, e
