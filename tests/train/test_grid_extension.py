"""Grid extension as a stage option: coarse to fine, fast uniform grids, exact resume."""

import pytest
import torch

from kinn.nn import KAN
from kinn.train import Stage, Trainer
from problems import poisson2d

FULL = [Stage("adam", 3, 1e-2), Stage("adam", 3, 1e-2, grid=6), Stage("lbfgs", 2, grid=12)]


def _trainer(out_dir=None, crash_at=None, dtype=torch.float64, stages=FULL):
    problem = poisson2d()
    torch.manual_seed(0)
    net = KAN([2, 4, 1], grid=3, domain=[(-1, 1), (-4, 4)])
    model = problem.model(net)
    objective = problem.objective(model, "strong", n_interior=32)

    def crash(row):
        if row["step"] == crash_at:
            raise KeyboardInterrupt

    trainer = Trainer(
        model,
        objective,
        stages,
        out_dir=out_dir,
        checkpoint_every=1,
        log_every=1,
        progress=False,
        callbacks=[crash],
        validate_every=None,
        dtype=dtype,
    )
    return trainer, net


def test_stages_refine_the_grid_and_keep_the_function():
    # a negligible step on the new grid: the function must be the one before the refinement
    stages = [Stage("adam", 3, 1e-2), Stage("adam", 1, 1e-12, grid=6)]
    trainer, net = _trainer(dtype=torch.float32, stages=stages)
    seen = {}

    def before_refine(row):
        if row["step"] == 3:
            x = torch.rand(64, 2)
            seen["x"], seen["u"] = x, net(x).detach()

    trainer.callbacks.append(before_refine)
    trainer.fit()
    layers = [m for m in net.modules() if hasattr(m, "grid_size")]
    assert layers and all(layer.grid_size == 6 and layer.uniform for layer in layers)
    assert all(layer.grid.dtype == torch.float32 for layer in layers)
    torch.testing.assert_close(net(seen["x"]), seen["u"], atol=1e-5, rtol=1e-4)


def test_a_run_with_grid_extension_resumes_exactly(tmp_path):
    straight, net = _trainer(tmp_path / "a")
    result = straight.fit()
    assert all(m.grid_size == 12 for m in net.modules() if hasattr(m, "grid_size"))
    crashed, _ = _trainer(tmp_path / "b", crash_at=5)
    with pytest.raises(KeyboardInterrupt):
        crashed.fit()
    resumed, _ = _trainer(tmp_path / "b")
    assert resumed.fit(resume=tmp_path / "b").final_loss == result.final_loss


def test_grid_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="grid must be a positive integer or None, got 0"):
        Stage("adam", 3, grid=0)
