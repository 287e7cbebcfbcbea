"""kinn.load: a run folder back as the Result the run produced (finished, failed, resumed)."""

import json
import math

import numpy as np
import pytest
import torch

import kinn
from kinn.app import main
from kinn.train import Result

STAGES = "trainer.stages=[{optimizer:adam,steps:%d,lr:1e-2}]"


def _run(run_dir, *overrides):
    argv = ["problem=poisson1d", "trainer=quick", "model.hidden=[4]", "threads=1", *overrides]
    return main([*argv, f"hydra.run.dir={run_dir}"])


def test_a_finished_run_loads_with_its_model_history_metrics_and_problem(tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert _run(run, STAGES % 20) == 0
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    state = torch.get_rng_state()
    result = kinn.load(run)
    assert all(k.get("weights_only") is True for k in calls) and calls
    assert torch.equal(torch.get_rng_state(), state)  # building the network drew nothing
    assert isinstance(result, Result) and result.run_dir == run.resolve()
    metrics = json.loads((run / "metrics.json").read_text())
    assert result.metrics == metrics and result.steps == 20
    assert [row["step"] for row in result.history] == list(range(1, 21))
    assert result.config["problem"]["name"] == "poisson1d"
    # The same evaluation as the run: the error written in metrics.json, to the last digit.
    assert result.evaluate().rel_l2 == metrics["rel_l2"]
    x = np.linspace(0, 1, 7)[:, None]
    u = result.predict(x)["u"]
    assert u.shape == (7,) and u.dtype == np.float64
    np.testing.assert_allclose(result.exact(x)["u"], np.sin(math.pi * x[:, 0]), atol=1e-12)
    assert "poisson1d" in result.name and "kan" in result.name


def test_a_resumed_run_loads_its_whole_history_and_the_straight_runs_model(tmp_path):
    first, second, straight = tmp_path / "first", tmp_path / "second", tmp_path / "straight"
    assert _run(first, STAGES % 10) == 0
    assert main([f"hydra.run.dir={second}", f"+resume={first}", STAGES % 20, "threads=1"]) == 0
    assert _run(straight, STAGES % 20) == 0
    resumed, whole = kinn.load(second), kinn.load(straight)
    assert [row["step"] for row in resumed.history] == list(range(1, 21))
    x = np.linspace(0, 1, 11)[:, None]
    np.testing.assert_array_equal(resumed.predict(x)["u"], whole.predict(x)["u"])
    assert kinn.load(first).steps == 10


def test_an_interrupted_run_loads_its_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    assert _run(run, STAGES % 20, "trainer.checkpoint_every=10") == 0
    # What an interrupted run leaves: metrics.json says so, the history sits beside last.pt.
    (run / "metrics.json").write_text(json.dumps({"status": "interrupted"}))
    (run / "history.csv").unlink()
    result = kinn.load(run)
    assert result.stop_reason == "interrupted" and result.steps == 20
    assert result.final_loss == result.history[-1]["loss"]
    assert kinn.load(run, checkpoint="best").steps <= 20


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="config.yaml"):
        kinn.load(tmp_path)
    (tmp_path / "config.yaml").write_text("{}\n")
    with pytest.raises(ValueError, match="checkpoints/last.pt"):
        kinn.load(tmp_path)
    with pytest.raises(ValueError, match="checkpoint must be one of"):
        kinn.load(tmp_path, checkpoint="first")


def test_trainer_fit_returns_a_result_that_knows_its_problem():
    from kinn.nn import MLP
    from kinn.problems.poisson1d import poisson1d
    from kinn.train import Stage, Trainer

    problem = poisson1d()
    torch.manual_seed(0)
    model = problem.model(MLP([1, 8, 1]))
    result = Trainer(model, problem.objective(model), Stage("adam", 5), progress=False).fit()
    assert result.problem is problem and result.network is model.net
    assert set(result.evaluate().rel_l2) == {"u"}
    assert result.loss_terms() == ["pde"]
