"""Fused GPU kernels of KAN layers in Triton: uniform-grid B-splines and Chebyshev of tanh.

The same computation as the CPU kernel (:mod:`kinn.nn._native`), for the op ``kinn::kan_rows``
on CUDA tensors: a layer on stacked Taylor rows ``J (R, N, I)`` (values, first derivatives,
Hessian pairs; see :mod:`kinn.nn.taylor`) -> ``(R, N, O)``, its gradients with respect to J
and to the stacked weight ``W (I K [+ I], O)``. Each program takes a block of points and,
input by input, evaluates only the L live bases of each point (L = k + 1 of the G + k
B-splines, by the matrix form and Horner's rule; all n + 1 Chebyshev polynomials, by their
recurrences) and their x-derivatives, chains them with the rows, and places them in a
``(rows x points, K)`` tile that lives in registers only, so one ``tl.dot`` with the input's
weight block (K, O) does the multiply-adds on tensor cores. Nothing of size ``(N, I, K)``
is ever written to memory; the weight gradient is summed per block of points and the blocks'
partial sums added once at the end (deterministic: no atomics).

Which path runs (read at each call, ``KINN_TRITON``):

- unset or ``auto``: these kernels for CUDA tensors when Triton is installed
  (``pip install "kinn[gpu]"``), else the PyTorch path;
- ``0``: never (CUDA tensors take the PyTorch path);
- ``interpret``: CPU tensors too, through Triton's interpreter, for tests of the kernels on
  machines without a GPU (slow). Triton chooses between compiling and interpreting when it is
  imported, so ``TRITON_INTERPRET=1`` must be set before that (in a fresh process: the tests
  run these cases in a subprocess).

float32 products follow ``torch.backends.cuda.matmul.allow_tf32`` as PyTorch's own matrix
products do (TF32 tensor cores when it is on; exact float32 otherwise).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache

import torch

from .activations import activation_derivatives
from .bspline import _end_slopes, bspline_matrix

__all__ = ["applies", "available", "backward", "forward"]

_MAX_BLOCK_K = 256  # wider layers (G + k > 256 bases per input) take the PyTorch path


_INSTALLED = importlib.util.find_spec("triton") is not None  # looks, does not import


def available() -> bool:
    """Whether Triton is installed (it is imported only when a kernel first runs)."""
    return _INSTALLED


def _mode() -> str:
    mode = os.environ.get("KINN_TRITON", "auto")
    if mode not in ("auto", "0", "interpret"):
        raise ValueError(f"KINN_TRITON must be 'auto', '0' or 'interpret', got {mode!r}")
    if mode == "interpret" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(
            "KINN_TRITON=interpret needs TRITON_INTERPRET=1, set before Triton is imported, "
            f"got TRITON_INTERPRET={os.environ.get('TRITON_INTERPRET')!r}"
        )
    return mode


def applies(J: torch.Tensor, n_basis: int) -> bool:
    """Whether the Triton kernels take a layer on rows J with ``n_basis`` bases per input."""
    if J.device.type not in ("cuda", "cpu") or n_basis > _MAX_BLOCK_K:
        return False
    mode = _mode()
    if mode == "0" or not available():
        return False
    return J.device.type == "cuda" or mode == "interpret"


@cache
def _kernels():
    """``(forward, input gradient, weight gradient)``: imports Triton on first use."""
    from . import _triton_kernels as k

    return k.forward_kernel, k.input_grad_kernel, k.weight_grad_kernel


# ---- launching -------------------------------------------------------------------------------


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@cache
def _tables(degree: int, dtype: torch.dtype, device: torch.device):
    """``M (4, L, L)``, ``s0``, ``s1 (L,)``: B-spline matrices and end slopes, on the device."""
    mats = [bspline_matrix(degree, r) for r in range(4)]
    s0, s1 = _end_slopes(mats[0].tolist())
    return (
        torch.stack(mats).to(dtype=dtype, device=device).contiguous(),
        torch.tensor(s0, dtype=dtype, device=device),
        torch.tensor(s1, dtype=dtype, device=device),
    )


@cache
def _pair_rows(d: int, order: int, pa: tuple, pb: tuple, device: torch.device):
    """Per row of J, the rows of g_a and g_b of its Hessian pair (0 elsewhere): ``(R,)`` int32."""
    R = 1 + (d if order >= 1 else 0) + len(pa)
    ia, ib = [0] * R, [0] * R
    for p, (a, b) in enumerate(zip(pa, pb)):
        ia[1 + d + p], ib[1 + d + p] = 1 + a, 1 + b
    as_t = lambda v: torch.tensor(v, dtype=torch.int32, device=device)  # noqa: E731
    return as_t(ia), as_t(ib)


class _Launch:
    """Everything a launch needs for one call: pointers' tensors and the blocks."""

    def __init__(self, J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, n_der):
        R, N, I = J.shape
        self.R, self.N, self.I, self.O = R, N, I, W.shape[1]
        self.bspline = basis == "bspline"
        self.K = grid + degree if self.bspline else degree + 1
        self.L = degree + 1
        self.G = grid
        self.d, self.order = d, order
        dev, dt = J.device, J.dtype
        v = J[0]
        self.T = torch.tanh(v).contiguous() if not self.bspline else J
        self.F = (
            torch.stack(activation_derivatives(base, v, n_der - 1)).contiguous()
            if base is not None
            else J
        )
        self.has_base = base is not None
        if self.bspline:
            self.M, self.s0, self.s1 = _tables(degree, dt, dev)
            self.lo, self.ih = lo, inv_h
        else:  # unused: any pointer of the right type
            self.M = self.s0 = self.s1 = self.lo = self.ih = J
        self.ia, self.ib = _pair_rows(d, order, tuple(pa), tuple(pb), dev)
        self.BLOCK_R = _next_pow2(R)
        self.BLOCK_K = max(16, _next_pow2(self.K))
        # about 4096 entries per (rows x points, K) tile, at least 16 points (tl.dot's minimum)
        self.BLOCK_N = max(16, min(128, _next_pow2(4096 // (self.BLOCK_R * self.BLOCK_K))))
        self.BLOCK_O = max(16, min(64, _next_pow2(self.O)))
        tf32 = dt == torch.float32 and torch.backends.cuda.matmul.allow_tf32
        self.precision = "tf32" if tf32 and dev.type == "cuda" else "ieee"
        self.kernels = _kernels()

    def common(self):
        """The arguments every kernel takes after its own tensors."""
        return (self.lo, self.ih, self.M, self.s0, self.s1, self.ia, self.ib,
                self.R, self.N, self.I, self.O, self.K, self.G, self.d)  # fmt: skip

    def blocks(self):
        return dict(BLOCK_R=self.BLOCK_R, BLOCK_N=self.BLOCK_N, BLOCK_K=self.BLOCK_K,
                    BLOCK_O=self.BLOCK_O)  # fmt: skip


def _contiguous(*tensors):
    return [None if t is None else t.contiguous() for t in tensors]


def forward(J, W, bias, lo, inv_h, basis, degree, grid, d, order, pa, pb, base):
    """The op ``kinn::kan_rows`` on the Triton kernels: J ``(R, N, I)`` -> ``(R, N, O)``."""
    if J.shape[1] == 0:  # no points: no programs to launch
        return J.new_zeros(J.shape[0], 0, W.shape[1])
    J, W, bias, lo, inv_h = _contiguous(J, W, bias, lo, inv_h)
    run = _Launch(J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, order + 1)
    out = J.new_empty(run.R, run.N, run.O)
    grid_ = (_cdiv(run.N, run.BLOCK_N), _cdiv(run.O, run.BLOCK_O))
    run.kernels[0][grid_](
        J, run.T, run.F, W, J if bias is None else bias, out, *run.common(),
        BASIS=0 if run.bspline else 1, HAS_BASE=run.has_base, HAS_BIAS=bias is not None,
        L=run.L, ORDER=order, PRECISION=run.precision, **run.blocks(),
    )  # fmt: skip
    return out


def backward(gy, J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, need_j, need_w):
    """The op ``kinn::kan_rows_backward`` on the Triton kernels: ``(grad J, grad W)``, an empty
    tensor for one not asked for."""
    if J.shape[1] == 0:
        return (torch.zeros_like(J) if need_j else J.new_empty(0)), (
            torch.zeros_like(W) if need_w else W.new_empty(0)
        )
    gy, J, W, lo, inv_h = _contiguous(gy, J, W, lo, inv_h)
    run = _Launch(J, W, lo, inv_h, basis, degree, grid, d, order, pa, pb, base, order + 2)
    consts = dict(BASIS=0 if run.bspline else 1, HAS_BASE=run.has_base, L=run.L, ORDER=order,
                  PRECISION=run.precision, **run.blocks())  # fmt: skip
    n_blocks = _cdiv(run.N, run.BLOCK_N)
    gJ = J.new_empty(0)
    if need_j:
        gJ = torch.empty_like(J)  # the kernel writes every entry
        run.kernels[1][(n_blocks,)](gy, J, run.T, run.F, W, gJ, *run.common(), **consts)
    gW = W.new_empty(0)
    if need_w:
        # enough chunks to fill the device, few enough that their partial sums stay small
        per_chunk = _cdiv(n_blocks, min(n_blocks, 64))
        chunks = _cdiv(n_blocks, per_chunk)
        parts = W.new_empty(chunks, *W.shape)
        grid_ = (run.I, chunks, _cdiv(run.O, run.BLOCK_O))
        run.kernels[2][grid_](gy, J, run.T, run.F, parts, *run.common(), per_chunk, **consts)
        gW = parts[0] if chunks == 1 else parts.sum(0)
    return gJ, gW
