"""Inverse problems: parameters identified from noisy data; observation files; bad data."""

import meshio
import numpy as np
import pytest
import torch

from kinn.geometry import Interval
from kinn.nn import KAN
from kinn.pde import Data, InverseParameter, Problem, Residual, load_observations
from kinn.problems import inverse_diffusion
from kinn.problems.inverse_diffusion import K_TRUE
from kinn.train import Stage, Trainer


def test_inverse_diffusion_recovers_k_within_one_percent_from_noisy_data(f64):
    problem = inverse_diffusion(n_obs=200, noise=0.01)
    torch.manual_seed(0)
    model = problem.model(KAN([2, 8, 1], grid=10, domain=[(-1, 1), (-4, 4)]))
    objective = problem.objective(model)
    assert objective.form == "inverse" and set(objective.losses(model)) == {"pde", "data"}
    stages = [Stage("adam", 300, 1e-2), Stage("lbfgs", 100, 1.0)]
    result = Trainer(
        model, objective, stages, validate_every=100, progress=False, dtype=torch.float64
    ).fit()
    reported = [row["param_k"] for row in result.history if "param_k" in row]
    assert len(reported) >= 4  # reported during training
    k = float(problem.parameters["k"].value().detach())
    assert abs(k - K_TRUE) / K_TRUE < 0.01, k
    assert result.history[-1]["param_k_rel_err"] < 0.01


def test_parameter_transforms_keep_bounds_and_sign(f64):
    bounded = InverseParameter(1.5, bounds=(1.0, 3.0))
    positive = InverseParameter(0.2, transform="positive")
    exp = InverseParameter(4.0, transform="exp")
    for p, v in ((bounded, 1.5), (positive, 0.2), (exp, 4.0)):
        assert p.value().item() == pytest.approx(v, rel=1e-12)
    with torch.no_grad():
        for p in (bounded, positive, exp):
            p.raw.fill_(-50.0)
    assert 1.0 <= bounded.value().item() < 1.5 and positive.value().item() > 0
    assert exp.value().item() > 0
    with pytest.raises(ValueError, match="bounds"):
        InverseParameter(5.0, bounds=(1.0, 3.0))
    with pytest.raises(ValueError, match="must be > 0"):
        InverseParameter(-1.0, transform="positive")


def test_field_parameter_is_trainable_and_reported(f64):
    k = InverseParameter(1.0, transform="positive", field=True, true=lambda x: 1 + x[:, 0])
    problem = Problem(
        "field",
        Interval(0, 1),
        ("x",),
        ("u",),
        [
            Residual(lambda x, u: u.param("k") * u.d("u", "xx")),
            Data(torch.rand(20, 1), torch.rand(20, 1)),
        ],
        parameters={"k": k},
        reference=lambda x: x,
    )
    model = problem.model(KAN([1, 4, 1]))
    objective = problem.objective(model, "inverse", n_interior=32)
    params = list(objective.parameters())
    assert len(params) > 1 and all(p.requires_grad for p in params)
    x = torch.linspace(0, 1, 5)[:, None]
    assert torch.allclose(k.value(x), torch.ones(5))  # starts from the constant init
    sum(objective.losses(model).values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
    assert "param_k_rel_l2" in objective.validate(model)


def test_observations_load_from_npz_csv_npy_and_meshio(f64, tmp_path):
    x = np.random.default_rng(0).random((10, 2))
    u = np.sin(x[:, :1]) + x[:, 1:]
    np.savez(tmp_path / "obs.npz", x=x[:, 0], y=x[:, 1], u=u[:, 0])
    np.savetxt(tmp_path / "obs.csv", np.hstack([x, u]), delimiter=",", header="x,y,u")
    np.save(tmp_path / "obs.npy", np.hstack([x, u]))
    points3d, vertices = np.hstack([x, np.zeros((10, 1))]), [("vertex", np.arange(10)[:, None])]
    meshio.write_points_cells(tmp_path / "obs.vtu", points3d, vertices, point_data={"u": u[:, 0]})
    for name in ("obs.npz", "obs.csv", "obs.npy", "obs.vtu"):
        px, pv = load_observations(tmp_path / name, ("x", "y"), ("u",))
        assert np.allclose(px.numpy(), x) and np.allclose(pv.numpy(), u), name
    data = Data.from_file(tmp_path / "obs.csv", ("x", "y"), ("u",))
    assert data.fields == ("u",)


def test_bad_observations_raise_value_error(f64, tmp_path):
    x, v = torch.rand(5, 1), torch.rand(5, 1)
    v[3, 0] = float("nan")

    def problem(points, values, fields="u"):
        return Problem("p", Interval(0, 1), ("x",), ("u",), [Data(points, values, fields)])

    with pytest.raises(ValueError, match="NaN.*row 3"):
        problem(x, v)
    with pytest.raises(ValueError, match=r"must have shape \(5, 1\)"):
        problem(x, torch.rand(5, 2))
    with pytest.raises(ValueError, match="must be among"):
        problem(x, torch.rand(5, 1), fields="w")
    with pytest.raises(ValueError, match="does not exist"):
        load_observations(tmp_path / "missing.npz", ("x",), ("u",))
    np.savetxt(tmp_path / "three.csv", np.ones((4, 3)), delimiter=",")
    with pytest.raises(ValueError, match="must have 2 columns.*got 3"):
        load_observations(tmp_path / "three.csv", ("x",), ("u",))
