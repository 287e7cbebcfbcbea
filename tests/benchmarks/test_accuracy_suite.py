"""The accuracy suite's problems are defined right, and its bookkeeping reads histories right."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks.accuracy import compare, error_at, reused_runs, run_kinn, time_to
from benchmarks.accuracy_problems import CASES

ANALYTIC = [
    "poisson2d",
    "poisson2d_disk",
    "poisson3d",
    "boundary_layer_1d",
    "boundary_layer_2d",
    "multiscale_1d",
    "helmholtz2d",
    "klein_gordon",
    "wave1d",
    "kovasznay",
    "elasticity2d_energy",
]


class _Exact(nn.Module):
    """The exact solution seen through the problem's input normalisation."""

    def __init__(self, solution, lo, hi):
        super().__init__()
        self.solution, self.lo, self.hi = solution, lo, hi
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        x = self.lo.to(z) + (z + 1) / 2 * (self.hi - self.lo).to(z)
        return self.solution(x) + 0 * self.dummy


def test_suite_has_ten_problems_with_dense_independent_evaluation_sets():
    assert len(CASES) >= 10
    for case in CASES.values():
        points, reference = case.evaluation()
        assert points.shape[0] >= 10_000, case.name
        assert all(np.isfinite(v).all() and v.shape == (len(points),) for v in reference.values())
        assert set(case.metrics) <= set(reference), case.name


@pytest.mark.parametrize("name", ANALYTIC)
def test_exact_solution_zeroes_every_strong_form_loss(name):
    torch.set_default_dtype(torch.float64)
    try:
        problem = CASES[name].problem()
        problem._hard = {}  # the exact solution itself, without the hard-constraint transform
        lo, hi = problem.geometry.bbox
        net = _Exact(problem.reference.solution, lo, hi)
        objective = problem.objective(net, "strong", n_interior=64, n_boundary=32)
        losses = objective.losses(net)
    finally:
        torch.set_default_dtype(torch.float32)
    assert losses and all(v.item() < 1e-16 for v in losses.values()), losses


@pytest.mark.parametrize("name", ["burgers", "allen_cahn"])
def test_solver_references_meet_their_initial_and_boundary_values(name):
    points, ref = CASES[name].evaluation()
    x, t, u = points[:, 0], points[:, 1], ref["u"]
    initial = -np.sin(np.pi * x) if name == "burgers" else x**2 * np.cos(np.pi * x)
    assert np.abs(u[t == 0] - initial[t == 0]).max() < 1e-12
    edge = -1.0 if name == "allen_cahn" else 0.0
    assert np.abs(u[x == -1] - edge).max() < 1e-9


def test_error_at_and_time_to_read_the_history():
    history = [{"cpu_s": 1.0, "err": 0.5}, {"cpu_s": 2.0, "err": 0.1}, {"cpu_s": 3.0, "err": 0.2}]
    assert error_at(history, 2.5) == 0.1
    assert math.isnan(error_at(history, 0.5))
    assert time_to(history, 0.15) == 2.0
    assert math.isnan(time_to(history, 0.01))
    runs = [
        {"problem": "p", "model": "deepxde", "cpu_s": 2.0, "err": 0.2, "history": history},
        {"problem": "p", "model": "kan", "cpu_s": 9.0, "err": 0.05, "history": history},
    ]
    compare(runs)
    assert runs[1]["err_at_dde_time"] == 0.1 and runs[1]["time_to_dde_err"] == 2.0


def test_run_kinn_records_errors_against_wall_time():
    recipe = {"stages": [{"optimizer": "adam", "steps": 6, "lr": 1e-3}], "dtype": "float64"}
    run = run_kinn("boundary_layer_1d", "mlp:hidden=[8]", recipe, points={"n_interior": 32})
    assert run["status"] == "ok" and run["steps"] == 6
    assert [h["step"] for h in run["history"]] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(h["err"]) and 0 <= h["cpu_s"] for h in run["history"])
    assert run["cpu_s"] >= run["history"][-1]["cpu_s"] > run["history"][0]["cpu_s"]
    assert run["err"] == pytest.approx(run["history"][-1]["err"])


def test_run_kinn_history_ends_with_the_parameters_the_run_returns():
    # A callback that changes the parameters after the last validation (as the energy guard
    # does when it puts its best back): the history gains the returned parameters' error.
    recipe = {"stages": [{"optimizer": "adam", "steps": 4, "lr": 1e-3}], "dtype": "float64"}
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def zero_at_the_end(row):
        if row["step"] == 4:
            with torch.no_grad():
                net[2].weight.zero_()

    run = run_kinn(
        "boundary_layer_1d", net, recipe, points={"n_interior": 32}, callbacks=[zero_at_the_end]
    )
    last = run["history"][-1]
    assert last["step"] == 4 and last["loss"] is None and last["err"] == run["err"]
    assert run["history"][-2]["err"] != run["err"]


def test_reuse_takes_an_earlier_files_runs_of_the_models_not_run(tmp_path):
    earlier = tmp_path / "earlier.json"
    runs = [
        {"problem": p, "model": m, "err": 0.1, "history": []}
        for p in ("poisson3d", "poisson2d", "burgers")
        for m in ("kan", "deepxde")
    ]
    earlier.write_text(json.dumps({"args": {"scale": 0.25}, "runs": runs}))
    kept = reused_runs(str(earlier), 0.25, ["poisson2d", "poisson3d"], ["kan"])
    assert [(r["problem"], r["model"]) for r in kept] == [
        ("poisson2d", "deepxde"),
        ("poisson3d", "deepxde"),
    ]
    assert all(r["reused"] == str(earlier) for r in kept)
    with pytest.raises(SystemExit, match="ran at scale 0.25, this run at 1.0"):
        reused_runs(str(earlier), 1.0, ["poisson2d"], ["kan"])
    with pytest.raises(SystemExit, match="must name a suite JSON file"):
        reused_runs(str(tmp_path / "missing.json"), 0.25, ["poisson2d"], ["kan"])
