"""The fused CPU kernel equals the PyTorch path, and kinn falls back cleanly without it."""

import ctypes
import warnings

import pytest
import torch

from kinn.diff import jet
from kinn.nn import KAN, BSplineKANLayer, _native

pytestmark = pytest.mark.skipif(
    _native.library(3, torch.float64) is None, reason="the kernel does not build here"
)


def _points(n, d, dtype):
    """Random points inside and outside the domain, plus knots and both ends."""
    x = (torch.rand(n, d, dtype=dtype) * 3 - 1.5).contiguous()
    x[:11, 0] = torch.linspace(-1, 1, 11, dtype=dtype)  # every knot of grid 10
    x[11, :] = 1.0
    return x


def _run(monkeypatch, native: bool, net, x, order, hessian):
    """Loss of a jet (or plain forward) -> (loss, d loss / d x, parameter gradients)."""
    monkeypatch.setenv("KINN_NATIVE", "1" if native else "0")
    net.zero_grad(set_to_none=True)
    xg = x.clone().requires_grad_()
    if order == 0:
        out = net(xg)
        loss = out.square().sum() + out.sin().sum()
    else:
        j = jet(net, xg, order=order, hessian=hessian, derivatives="jet")
        second = j.hess if order == 2 else j.grad
        loss = j.value.square().sum() + (j.grad**3).sum() + second.square().sum()
    loss.backward()
    return [loss.detach(), xg.grad] + [p.grad for p in net.parameters()]


def _max_rel(a, b):
    return max(((p - q).abs().max() / q.abs().max().clamp_min(1e-30)).item() for p, q in zip(a, b))


@pytest.mark.parametrize("degree", [1, 2, 3, 5, 7, 9])
@pytest.mark.parametrize("base", ["silu", "tanh", None])
@pytest.mark.parametrize("order,hessian", [(0, "full"), (1, "full"), (2, "full"), (2, "diag")])
def test_kernel_equals_torch_path_float64(monkeypatch, degree, base, order, hessian):
    net = KAN([3, 8, 9, 1, 2], grid=10, degree=degree, base=base).double()  # O = 8, 9, 1, 2
    x = _points(40, 3, torch.float64)
    native = _run(monkeypatch, True, net, x, order, hessian)
    reference = _run(monkeypatch, False, net, x, order, hessian)
    assert _max_rel(native, reference) < 1e-12


def test_kernel_equals_torch_path_float32(monkeypatch):
    net = KAN([3, 32, 16, 8, 1], grid=7, degree=3)
    x = _points(300, 3, torch.float32)
    native = _run(monkeypatch, True, net, x, 2, "full")
    reference = _run(monkeypatch, False, net, x, 2, "full")
    # rounding only: 1e-6..1.3e-5 over seeds (cubes and squares of float32 derivatives)
    assert _max_rel(native, reference) < 3e-5


def test_kernel_splits_points_over_threads_without_changing_results(monkeypatch):
    threads = torch.get_num_threads()
    net = KAN([32, 64, 48], grid=10, degree=3).double()
    x = _points(2048, 32, torch.float64)
    try:
        torch.set_num_threads(2)
        split = _run(monkeypatch, True, net, x, 0, "full")
        torch.set_num_threads(1)
        serial = _run(monkeypatch, True, net, x, 0, "full")
    finally:
        torch.set_num_threads(threads)
    assert _max_rel(split, serial) < 1e-12


def test_kernel_runs_on_per_input_grids_after_uniform_grid_update(monkeypatch):
    layer = BSplineKANLayer(3, 4, grid=6, degree=3).double()
    layer.update_grid(torch.randn(500, 3, dtype=torch.float64) * torch.tensor([0.5, 2.0, 4.0]))
    assert layer.uniform
    x = torch.randn(64, 3, dtype=torch.float64) * 3
    monkeypatch.setenv("KINN_NATIVE", "1")
    native = layer(x)
    monkeypatch.setenv("KINN_NATIVE", "0")
    torch.testing.assert_close(native, layer(x), rtol=1e-12, atol=1e-12)


def test_kernel_gradcheck():
    layer = BSplineKANLayer(2, 3, grid=5, degree=3).double()
    x = (torch.rand(20, 2, dtype=torch.float64) * 2.4 - 1.2).requires_grad_()
    assert torch.autograd.gradcheck(layer, (x,))


def test_kernel_propagates_nan_instead_of_reading_out_of_bounds(monkeypatch):
    monkeypatch.setenv("KINN_NATIVE", "1")
    layer = BSplineKANLayer(2, 3, grid=5, degree=3)
    x = torch.tensor([[float("nan"), 0.1], [0.2, 0.3], [float("inf"), -float("inf")]])
    y = layer(x)
    assert torch.isnan(y[0]).all() and torch.isfinite(y[1]).all()


def test_kinn_native_zero_disables_the_kernel(monkeypatch):
    monkeypatch.setenv("KINN_NATIVE", "0")
    assert not _native.available() and _native.library(3, torch.float32) is None


def _fresh(monkeypatch, tmp_path):
    """Forget the loaded libraries and build into an empty cache directory."""
    monkeypatch.setattr(_native, "_libs", {})
    monkeypatch.setattr(_native, "_failed", None)
    monkeypatch.setattr(_native, "_openmp_works", True)
    monkeypatch.setenv("KINN_CACHE_DIR", str(tmp_path))


def test_without_a_compiler_kinn_warns_once_and_uses_the_torch_path(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.warns(RuntimeWarning, match="fused CPU KAN kernel is unavailable"):
        assert _native.library(3, torch.float32) is None
    assert not _native.available()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not on every call
        layer = BSplineKANLayer(2, 3)
        y = layer(torch.rand(5, 2))
    assert y.shape == (5, 3) and torch.isfinite(y).all()


def test_the_library_is_built_once_per_degree_into_the_cache_dir(monkeypatch, tmp_path):
    _fresh(monkeypatch, tmp_path)
    assert _native.library(2, torch.float32) is not None
    built = sorted(tmp_path.glob("kan_*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    monkeypatch.setattr(_native, "_libs", {})
    assert _native.library(2, torch.float32) is not None  # loaded from the cache
    assert sorted(tmp_path.glob("*")) == built and built[0].stat().st_mtime_ns == stamp


def test_a_build_without_openmp_runs_serially_with_the_same_results(monkeypatch, tmp_path):
    x = _points(300, 3, torch.float64)
    net = KAN([3, 8, 1], grid=6, degree=2).double()
    reference = _run(monkeypatch, True, net, x, 2, "diag")
    _fresh(monkeypatch, tmp_path)
    monkeypatch.setattr(_native, "_openmp_works", False)  # as where -fopenmp is unavailable
    lib, openmp = _native.library(2, torch.float64)
    assert not openmp
    serial = _run(monkeypatch, True, net, x, 2, "diag")
    assert _max_rel(serial, reference) < 1e-12


@pytest.mark.parametrize("degree", [1, 2, 6, 13])
@pytest.mark.parametrize("base", ["silu", "tanh", None])
@pytest.mark.parametrize("order,hessian", [(0, "full"), (1, "full"), (2, "full"), (2, "diag")])
def test_chebyshev_kernel_equals_torch_path_float64(monkeypatch, degree, base, order, hessian):
    net = KAN([3, 8, 9, 1, 2], basis="chebyshev", degree=degree, base=base).double()
    x = _points(40, 3, torch.float64)
    native = _run(monkeypatch, True, net, x, order, hessian)
    reference = _run(monkeypatch, False, net, x, order, hessian)
    assert _max_rel(native, reference) < 1e-12


def _op_args(basis, base):
    layer = KAN([3, 5], basis=basis, base=base).double().layers[0]
    J = torch.randn(7, 16, 3, dtype=torch.float64, requires_grad=True)  # value, 3 grad, 3 diag
    W = layer.stacked_weight().detach().requires_grad_()
    bias = layer.bias.detach().requires_grad_()
    kind, degree, grid, lo, inv_h = layer.kernel_basis()
    pairs = ([0, 1, 2], [0, 1, 2])
    return (J, W, bias, lo, inv_h, kind, degree, grid, 3, 2, *pairs, layer.base)


@pytest.mark.parametrize("basis", ["bspline", "chebyshev"])
@pytest.mark.parametrize("base", ["silu", "tanh", None])
def test_the_ops_pass_opcheck(basis, base):
    args = _op_args(basis, base)
    torch.library.opcheck(torch.ops.kinn.kan_rows.default, args)
    J, W, bias, *meta = args
    gy = torch.randn(7, 16, W.shape[1], dtype=torch.float64)
    for need_j, need_w in [(True, True), (True, False), (False, True)]:
        backward = (gy, J.detach(), W.detach(), *meta, need_j, need_w)
        torch.library.opcheck(torch.ops.kinn.kan_rows_backward.default, backward)


@pytest.mark.parametrize("basis", ["bspline", "chebyshev"])
def test_torch_compile_runs_the_kernel_as_an_op(monkeypatch, basis):
    monkeypatch.setenv("KINN_NATIVE", "1")
    net = KAN([2, 8, 1], basis=basis).double()
    x = torch.rand(64, 2, dtype=torch.float64) * 2 - 1

    def loss(x):
        j = jet(net, x, order=2, hessian="diag")
        return j.laplacian().square().mean() + j.value.square().mean()

    graphs = []

    def backend(gm, inputs):
        graphs.append(str(gm.graph))
        return torch._dynamo.backends.debugging.aot_eager(gm, inputs)

    calls = []
    call = _native.call
    monkeypatch.setattr(
        _native, "call", lambda fn, args: calls.append(fn.__name__) or call(fn, args)
    )
    eager = loss(x)
    eager_grads = torch.autograd.grad(eager, list(net.parameters()))
    compiled = torch.compile(loss, backend=backend, fullgraph=True)(x)
    grads = torch.autograd.grad(compiled, list(net.parameters()))
    assert graphs[0].count("kinn.kan_rows") == 2  # one op per layer in the captured graph
    assert calls.count("kan_forward") == 4 and calls.count("kan_backward") == 4
    assert torch.equal(compiled, eager)
    assert all(torch.equal(a, b) for a, b in zip(grads, eager_grads))


def test_profiled_and_plain_runs_give_the_same_numbers_and_the_profiler_sees_the_op():
    net = KAN([2, 8, 1]).double()
    x = torch.rand(64, 2, dtype=torch.float64)

    def run():
        j = jet(net, x, order=2)
        return [j.hess, *torch.autograd.grad(j.hess.square().sum(), list(net.parameters()))]

    plain = run()
    with torch.profiler.profile() as prof:
        profiled = run()
    names = {event.key for event in prof.key_averages()}
    assert {"kinn::kan_rows", "kinn::kan_rows_backward"} <= names
    assert all(torch.equal(a, b) for a, b in zip(plain, profiled))


def test_a_library_whose_argument_layout_differs_is_refused(monkeypatch):
    lib, _ = _native.library(4, torch.float64)
    _native._check_layout(lib)
    fields = [f for f in _native.Args._fields_ if f[0] != "T"]  # as if the C struct changed
    monkeypatch.setattr(_native, "Args", type("Args", (ctypes.Structure,), {"_fields_": fields}))
    with pytest.raises(RuntimeError, match="kan_args layout mismatch"):
        _native._check_layout(lib)
