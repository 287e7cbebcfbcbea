"""Resume, grid extension and grid updates keep B-spline layers on the fused kernel."""

import pytest
import torch

from kinn.nn import KAN, _native
from kinn.train import Stage, Trainer
from problems.poisson2d import poisson2d

pytestmark = pytest.mark.skipif(
    _native.library(3, torch.float64) is None, reason="the kernel does not build here"
)

DTYPES = [torch.float32, torch.float64]


@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts the fused kernel's forward calls."""
    monkeypatch.setenv("KINN_NATIVE", "1")
    calls = []
    call = _native.call

    def spy(fn, args):
        if fn.__name__ == "kan_forward":
            calls.append(1)
        return call(fn, args)

    monkeypatch.setattr(_native, "call", spy)
    return calls


def _on_kernel(net, calls, dtype):
    calls.clear()
    net(torch.rand(64, net.width[0], dtype=dtype) * 2 - 1)
    return all(layer.uniform for layer in net.layers) and len(calls) == len(net.layers)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_load_state_dict_refine_and_update_grid_stay_on_the_kernel(kernel_calls, dtype):
    net = KAN([2, 16, 16, 1]).to(dtype)
    assert _on_kernel(net, kernel_calls, dtype)
    resumed = KAN([2, 16, 16, 1]).to(dtype)
    resumed.load_state_dict(net.state_dict())
    assert _on_kernel(resumed, kernel_calls, dtype)
    resumed.refine(20)
    assert _on_kernel(resumed, kernel_calls, dtype)
    resumed.update_grid(torch.randn(256, 2, dtype=dtype) * 0.7)
    assert _on_kernel(resumed, kernel_calls, dtype)
    again = KAN([2, 16, 16, 1], grid=20).to(dtype)
    again.load_state_dict(resumed.state_dict())
    assert _on_kernel(again, kernel_calls, dtype)


class _Crash(Exception):
    pass


def _fit(out_dir, dtype, crash_at=None, resume=None):
    """A short strong-form Poisson run on a grid-extended KAN."""
    problem = poisson2d()
    torch.manual_seed(0 if resume is None else 1)  # a resumed run must overwrite every weight
    net = KAN([2, 8, 1], grid=5).to(dtype).refine(10)
    model = problem.model(net)
    objective = problem.objective(model, "strong", n_interior=64, n_boundary=16)

    def crash(row):
        if row["step"] == crash_at:
            raise _Crash

    trainer = Trainer(
        model,
        objective,
        [Stage("adam", 12, 1e-2), Stage("lbfgs", 4, 1.0)],
        resample_every=3,
        validate_every=None,
        log_every=1,
        checkpoint_every=5,
        out_dir=out_dir,
        progress=False,
        dtype=dtype,
        callbacks=[crash],
    )
    return trainer.fit(resume=resume)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_resumed_training_on_the_kernel_is_bit_for_bit(kernel_calls, tmp_path, dtype):
    straight = _fit(tmp_path / "a", dtype)
    assert kernel_calls  # the run went through the fused kernel
    with pytest.raises(_Crash):
        _fit(tmp_path / "b", dtype, crash_at=7)
    resumed = _fit(tmp_path / "b", dtype, resume=tmp_path / "b")
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in straight.history]
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_refine_and_update_grid_are_reproducible():
    def weights():
        torch.manual_seed(0)
        net = KAN([2, 8, 1], grid=5).double().refine(10)
        net.update_grid(torch.rand(300, 2, dtype=torch.float64))
        return [p.detach().clone() for p in net.parameters()]

    first = weights()
    for _ in range(4):
        assert all(torch.equal(a, b) for a, b in zip(first, weights()))
