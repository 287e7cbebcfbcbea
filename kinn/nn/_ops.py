"""The fused kernels as torch ops, and the choice between them and the PyTorch path.

``kinn::kan_rows`` (a KAN layer on stacked Taylor rows) and ``kinn::kan_rows_backward`` are
registered with ``torch.library``, so profilers, ``torch.compile`` and ``torch.export`` see
one op per layer instead of a Python call. The forward op carries its own autograd rule: its
backward is the backward op, or, when a graph of the backward is requested (nested
autograd), the differentiable PyTorch path of :mod:`kinn.nn.taylor`. Layers say what the
kernel needs through ``kernel_basis()``. The op runs the C kernel on CPU tensors and the
Triton kernels (:mod:`kinn.nn._triton`) on CUDA tensors; everything else (non-uniform grids,
other layer types, no C compiler or no Triton) takes the PyTorch path. Plain eager calls skip the
dispatcher (same kernel, less overhead).
"""

from __future__ import annotations

from functools import cache

import torch

from . import _native, _triton
from .activations import activation_derivatives
from .bspline import _end_slopes, bspline_matrix, matrix_rows, uniform_local
from .chebyshev import tanh_chebyshev_derivatives
from .taylor import RowLayout, rows_backward, torch_rows

__all__ = ["kan_rows"]

_BASES = {"bspline": _native.BSPLINE, "chebyshev": _native.CHEBYSHEV}
_MAX_LOCAL = 32  # local bases per point the kernel is built for (k + 1 or n + 1)


def kan_rows(layer, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
    """A KAN layer applied to stacked Taylor rows ``J (R, N, I)`` -> ``(R, N, O)``."""
    weight, bias = layer.stacked_weight(), layer.bias
    spec = layer.kernel_basis()
    if (
        spec is None
        or J.dtype not in (torch.float32, torch.float64)
        or weight.dtype != J.dtype
        or (bias is not None and bias.dtype != J.dtype)
        or layout.order > 2
        or not (_on_triton(J, *spec[:3]) or _native_ready(J, spec[1] + 1))
    ):
        return torch_rows(layer, J, weight, layout)
    basis, degree, grid, lo, inv_h = spec
    if lo is not None:
        lo, inv_h = lo.to(J.dtype), inv_h.to(J.dtype)
    args = (J, weight, bias, lo, inv_h, basis, degree, grid, layout.d, layout.order,
            layout.pa, layout.pb, layer.base)  # fmt: skip
    if _eager(J):
        return _KernelRows.apply(*args)
    return torch.ops.kinn.kan_rows(*args)


def _eager(t: torch.Tensor) -> bool:
    """Plain eager execution, where the kernel is called directly: through the dispatcher a
    Python op costs about 100 us per layer call. Compiled, exported and profiled runs (and
    tensor subclasses) go through the op; both run the same kernel."""
    return (
        not torch.compiler.is_compiling()
        and type(t) is torch.Tensor
        and not torch.autograd._profiler_enabled()
    )


def _on_triton(J: torch.Tensor, basis: str, degree: int, grid: int) -> bool:
    """Whether the Triton kernels (:mod:`kinn.nn._triton`) take these rows: CUDA tensors."""
    return _triton.applies(J, grid + degree if basis == "bspline" else degree + 1)


def _native_ready(J: torch.Tensor, n_local: int) -> bool:
    """Whether the C kernel takes these rows: CPU tensors, where it builds."""
    return J.device.type == "cpu" and _kernel_ready(n_local, J.dtype == torch.float64)


@torch.compiler.assume_constant_result
def _kernel_ready(n_local: int, double: bool) -> bool:
    """Whether the CPU kernel runs here for L local bases (builds it on first use)."""
    dtype = torch.float64 if double else torch.float32
    return (
        n_local <= _MAX_LOCAL
        and _native.available()
        and _native.library(n_local, dtype) is not None
    )


# ---- the ops ------------------------------------------------------------------------------

# after J, W, bias (forward) or gy, J, W (backward): the grid, the basis and the row layout
_META = (
    "Tensor? lo, Tensor? inv_h, str basis, int degree, int grid, int d, int order, int[] pa, "
    "int[] pb, str? base"
)
_FORWARD = f"(Tensor J, Tensor W, Tensor? bias, {_META}) -> Tensor"
_BACKWARD = (
    f"(Tensor gy, Tensor J, Tensor W, {_META}, bool need_j, bool need_w) -> (Tensor, Tensor)"
)


@cache
def _bspline_tables(degree: int, dtype: torch.dtype):
    """``M (4, L, L)``, ``s0 (L,)``, ``s1 (L,)``: matrices and end slopes of the bases."""
    mats = [bspline_matrix(degree, r) for r in range(4)]
    s0, s1 = _end_slopes(mats[0].tolist())
    return (
        torch.stack(mats).to(dtype).contiguous(),
        torch.tensor(s0, dtype=dtype),
        torch.tensor(s1, dtype=dtype),
    )


@cache
def _pairs(pa: tuple[int, ...], pb: tuple[int, ...]):
    return torch.tensor(pa, dtype=torch.int32), torch.tensor(pb, dtype=torch.int32)


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _run(which: str, J, W, meta: tuple, n_derivs: int, parts: int | None, io: tuple) -> int:
    """Fill :class:`_native.Args`, run ``kan_forward`` or ``kan_backward``; returns the parts.

    ``meta``: the op's arguments from ``lo`` on; ``io``: ``(bias, gy, out, gJ, gW)``,
    contiguous tensors or None (gW: one block per part). ``parts``: None to choose here.
    """
    lo, inv_h, basis, degree, grid, d, order, pa, pb, base = meta
    lib, openmp = _native.library(degree + 1, J.dtype)
    R, N, I = J.shape
    O = W.shape[1]
    v = J[0]
    F = None  # the base activation: sigmoid(v) for SiLU (the kernel derives it), else derivatives
    if base == "silu":
        F = torch.sigmoid(v)
    elif base is not None:
        F = torch.stack(activation_derivatives(base, v, n_derivs))
    T = torch.tanh(v) if basis == "chebyshev" else None
    M, s0, s1 = _bspline_tables(degree, J.dtype) if basis == "bspline" else (None, None, None)
    pa_t, pb_t = _pairs(tuple(pa), tuple(pb))
    if parts is None:
        parts = _native.parts(N, J.numel() * (degree + 2) * O, openmp)
    bias, gy, out, gJ, gW = io
    args = _native.Args(
        *map(_ptr, (J, W, bias, F, T, lo, inv_h, M, s0, s1, pa_t, pb_t, gy, out, gJ, gW)),
        R, N, I, O, grid, degree + 1, d, order, len(pa), int(base == "silu"), _BASES[basis],
        parts,
    )  # fmt: skip
    _native.call(lib.kan_forward if which == "forward" else lib.kan_backward, args)
    return parts


def _contiguous(*tensors):
    return [None if t is None else t.contiguous() for t in tensors]


def _forward(J, W, bias, lo, inv_h, basis, degree, grid, d, order, pa, pb, base):
    if _on_triton(J, basis, degree, grid):
        return _triton.forward(J, W, bias, lo, inv_h, basis, degree, grid, d, order, pa, pb, base)
    J, W, bias, lo, inv_h = _contiguous(J, W, bias, lo, inv_h)
    out = J.new_empty(J.shape[0], J.shape[1], W.shape[1])
    meta = (lo, inv_h, basis, degree, grid, d, order, pa, pb, base)
    _run("forward", J, W, meta, order, None, (bias, None, out, None, None))
    return out


def _backward(gy, J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, need_j, need_w):
    if _on_triton(J, basis, degree, grid):
        meta = (lo, inv_h, basis, degree, grid, d, order, pa, pb, base)
        return _triton.backward(gy, J, W, *meta, need_j, need_w)
    gy, J, W, lo, inv_h = _contiguous(gy, J, W, lo, inv_h)
    meta = (lo, inv_h, basis, degree, grid, d, order, pa, pb, base)
    gJ = torch.empty_like(J) if need_j else None  # the kernel writes every entry
    work = J.numel() * (degree + 2) * W.shape[1] * (int(need_j) + int(need_w))
    parts = _native.parts(J.shape[1], work, _native.library(degree + 1, J.dtype)[1])
    gWs = W.new_zeros(parts, *W.shape) if need_w else None  # one block per part, summed here
    # one more derivative of the base only to pass gradients to J
    _run("backward", J, W, meta, order + int(need_j), parts, (None, gy, None, gJ, gWs))
    gW = None if gWs is None else (gWs[0] if parts == 1 else gWs.sum(0))
    # an op's outputs are tensors: an empty one stands for "not asked for"
    return (J.new_empty(0) if gJ is None else gJ), (W.new_empty(0) if gW is None else gW)


class _KernelBasis:
    """What the PyTorch path needs of a layer, rebuilt from the op's arguments (for a graph of
    the backward, which the kernel cannot differentiate)."""

    def __init__(self, basis, degree, grid, lo, inv_h, base):
        self.basis, self.degree, self.grid, self.lo, self.inv_h = basis, degree, grid, lo, inv_h
        self.base = base
        self.n_basis = grid + degree if basis == "bspline" else degree + 1

    def local_basis(self, x, order, first=0):
        if self.basis == "chebyshev":
            return None, tanh_chebyshev_derivatives(x, self.degree, order, first)
        matrices = matrix_rows(self.degree, max(order, 1))
        return uniform_local(x, self.lo, self.inv_h, self.grid, matrices, order, first)


def _setup_context(ctx, inputs, output):
    J, W, bias, lo, inv_h, *meta = inputs
    ctx.save_for_backward(J, W, lo, inv_h)
    ctx.meta, ctx.has_bias = meta, bias is not None


def _op_backward(ctx, grad_out):
    """The autograd rule of both the op and :class:`_KernelRows`."""
    J, W, lo, inv_h = ctx.saved_tensors
    need_j, need_w, need_b = ctx.needs_input_grad[:3]
    grad_b = grad_out[0].sum(0) if ctx.has_bias and need_b else None
    if torch.is_grad_enabled():  # create_graph: a differentiable backward
        basis, degree, grid, d, order, pa, pb, base = ctx.meta
        layer = _KernelBasis(basis, degree, grid, lo, inv_h, base)
        layout = RowLayout(d, order, (pa, pb))
        grad_j, grad_w = rows_backward(layer, layout, J, W, grad_out, need_j, need_w)
    else:
        direct = _eager(grad_out)
        backward = _backward if direct else torch.ops.kinn.kan_rows_backward
        grad_j, grad_w = backward(grad_out, J, W, lo, inv_h, *ctx.meta, need_j, need_w)
        grad_j, grad_w = (grad_j if need_j else None), (grad_w if need_w else None)
    return grad_j, grad_w, grad_b, *([None] * 10)


class _KernelRows(torch.autograd.Function):
    """``kinn::kan_rows`` without the dispatcher, for plain eager calls (see :func:`_eager`)."""

    @staticmethod
    def forward(ctx, *args):
        _setup_context(ctx, args, None)
        return _forward(*args)

    backward = staticmethod(_op_backward)


torch.library.custom_op("kinn::kan_rows", _forward, mutates_args=(), schema=_FORWARD)
torch.library.custom_op("kinn::kan_rows_backward", _backward, mutates_args=(), schema=_BACKWARD)


@torch.library.register_fake("kinn::kan_rows")
def _forward_fake(J, W, bias, lo, inv_h, basis, degree, grid, d, order, pa, pb, base):
    return J.new_empty(J.shape[0], J.shape[1], W.shape[1])


@torch.library.register_fake("kinn::kan_rows_backward")
def _backward_fake(gy, J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, nj, nw):
    return J.new_empty(J.shape if nj else (0,)), W.new_empty(W.shape if nw else (0,))


torch.library.register_autograd("kinn::kan_rows", _op_backward, setup_context=_setup_context)
