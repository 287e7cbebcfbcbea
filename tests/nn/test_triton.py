"""The Triton kernels equal the PyTorch path: interpreted on CPU, compiled on a CUDA device.

Triton chooses between compiling and interpreting when it is first imported (from
``TRITON_INTERPRET``), so the interpreted cases run in one subprocess of their own
(tests/nn/triton_cases.py) and this process never imports Triton unless a GPU is here.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kinn.nn import KAN, BSplineKANLayer, _triton
from kinn.nn.taylor import RowLayout
from tests.nn.triton_cases import cases

ROOT = Path(__file__).resolve().parents[2]
HAS_TRITON = importlib.util.find_spec("triton") is not None
needs_triton = pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
needs_cuda = pytest.mark.skipif(
    not (HAS_TRITON and torch.cuda.is_available()), reason="needs triton and a CUDA device"
)
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


def _name(args) -> str:
    basis, degree, base, order, hessian, dtype = args
    tail = f"-{hessian}" if order == 2 else ""
    return f"{basis}{degree}-{base}-order{order}{tail}-{str(dtype).split('.')[1]}"


QUICK = list(cases(quick=True))


@pytest.fixture(scope="module")
def interpreted():
    """The subprocess's JSON lines, by case name."""
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("KINN_TRITON", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "nn" / "triton_cases.py"), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {f"{r['case']}-{r['dtype']}": r for r in rows}


@needs_triton
@pytest.mark.parametrize("args", QUICK, ids=[_name(a) for a in QUICK])
def test_interpreted_kernels_equal_torch_path(interpreted, args):
    row = interpreted[_name(args)]
    assert row["kernel_calls"][0] > 0 and row["kernel_calls"][1] > 0  # the kernels did run
    assert row["max_rel"] < TOLERANCE[row["dtype"]], row


def test_kinn_triton_values_are_checked(monkeypatch):
    monkeypatch.setenv("KINN_TRITON", "yes")
    with pytest.raises(ValueError, match="KINN_TRITON must be"):
        _triton.applies(torch.zeros(1, 2, 3), 10)
    monkeypatch.setenv("KINN_TRITON", "interpret")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        _triton.applies(torch.zeros(1, 2, 3), 10)


def test_cpu_tensors_keep_the_cpu_path_by_default(monkeypatch):
    monkeypatch.delenv("KINN_TRITON", raising=False)
    assert not _triton.applies(torch.zeros(1, 2, 3), 10)
    monkeypatch.setenv("KINN_TRITON", "0")
    assert not _triton.applies(torch.zeros(1, 2, 3), 10)


# ---- compiled kernels ---------------------------------------------------------------------------


def _compiled_vs_torch(monkeypatch, net, x, order, hessian):
    from kinn.diff import jet

    results = []
    for mode in ("auto", "0"):
        monkeypatch.setenv("KINN_TRITON", mode)
        net.zero_grad(set_to_none=True)
        xg = x.clone().requires_grad_()
        j = jet(net, xg, order=order, hessian=hessian, derivatives="jet")
        last = j.hess if order == 2 else (j.grad if order == 1 else j.value)
        loss = j.value.square().sum() + last.square().sum()
        loss.backward()
        grads = [p.grad for p in net.parameters()]
        results.append([j.value.detach(), last.detach(), xg.grad, *grads])
    return max(
        ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(*results)
    )


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("basis,degree", [("bspline", 3), ("bspline", 7), ("chebyshev", 6)])
@pytest.mark.parametrize("order,hessian", [(1, "full"), (2, "full"), (2, "diag")])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_kernels_equal_torch_path(monkeypatch, basis, degree, order, hessian, dtype):
    torch.backends.cuda.matmul.allow_tf32 = False
    kw = dict(grid=10, degree=degree) if basis == "bspline" else dict(basis=basis, degree=degree)
    net = KAN([3, 32, 24, 1], **kw).to("cuda", dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.3)
    x = torch.rand(3000, 3, device="cuda", dtype=dtype) * 2.4 - 1.2
    assert _compiled_vs_torch(monkeypatch, net, x, order, hessian) < TOLERANCE[str(dtype)[6:]]


@pytest.mark.gpu
@needs_cuda
def test_cuda_layer_runs_the_compiled_kernel(monkeypatch):
    monkeypatch.delenv("KINN_TRITON", raising=False)
    calls = []
    forward = _triton.forward
    monkeypatch.setattr(_triton, "forward", lambda *a: calls.append(1) or forward(*a))
    layer = BSplineKANLayer(4, 8).cuda()
    layer.jet_rows(torch.randn(3, 64, 4, device="cuda"), RowLayout(2, 1))
    assert calls


@needs_triton
def test_gpu_benchmark_runs_interpreted_on_cpu():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu", "--interpret"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    timed = [r for r in rows if "ms" in r]
    kinds = {(r["benchmark"], r["kind"]) for r in timed}
    assert ("layer", "kan_fused") in kinds and ("pinn_step", "mlp_autograd") in kinds
    assert all(r["ms"] > 0 and r["tflops"] > 0 and r["tb_per_s"] > 0 for r in timed)
    assert rows[-1]["benchmark"] == "done"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here")
def test_gpu_benchmark_without_cuda_says_so():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout == ""
    assert "no CUDA device" in proc.stderr
