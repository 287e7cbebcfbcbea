"""Fused evaluation of a KAN layer on stacked Taylor rows (value, gradient, Hessian).

A layer's input is a stack ``J: (R, N, I)``: row 0 the values v, rows ``1..d`` the first
derivatives g_a with respect to the network input, then one row per Hessian component
``H_ab`` (pairs ``a <= b``, or only ``a == b``). Each edge applies a scalar function
``phi(t) = sum_j C_j b_j(t) + w base(t)``, so by the chain rule the rows of its image are linear
in ``C`` with features

    b(v),   b'(v) g_a,   b''(v) g_a g_b + b'(v) H_ab,

and the layer output is ``features (R*N, F) @ W (F, O)``: one GEMM for all rows. Only the
``L`` non-zero local bases per point are combined (L = k + 1 on a uniform B-spline grid,
scattered once into the dense layout). The backward is written out (it needs one more
derivative of the bases), so the autograd graph holds one node per layer instead of dozens of
small ones; order 0 (R = 1) is the layer's ordinary forward. The backward uses differentiable
ops and recomputes from the saved input when a graph is requested, so nested autograd through
the forward works.

On CPU, uniform B-spline and Chebyshev layers run the fused C kernel instead, as the torch op
``kinn::kan_rows`` (:mod:`kinn.nn._ops`: the same rows without the dense features); the
PyTorch code here is the path for everything else (GPU, non-uniform grids, double backward)
and the reference the kernel is tested against.
"""

from __future__ import annotations

import os
import threading

import torch

from .activations import activation_derivatives

__all__ = ["RowLayout", "release_workspace", "rows_backward", "torch_rows"]


class RowLayout:
    """Which rows a stacked jet ``J: (R, N, c)`` holds, and the chain rule on them.

    Row 0 holds the values v ``(N, c)``, rows ``1..d`` the first derivatives g_a with respect
    to the network input (order >= 1), then one row per Hessian pair ``(pa[p], pb[p])``
    (order 2). A module that supports jets maps such a stack to its own output's stack (see
    :mod:`kinn.diff`); :meth:`pointwise` and :meth:`linear` are the two building blocks.
    """

    def __init__(self, d: int = 0, order: int = 0, pairs: tuple[list[int], list[int]] = ([], [])):
        self.d, self.order = d, order
        self.pa, self.pb = (list(pairs[0]), list(pairs[1])) if order >= 2 else ([], [])
        self.n_rows = 1 + (d if order >= 1 else 0) + len(self.pa)

    def split(self, J):
        """``J (R, ...)`` -> ``(v, g or None, H or None)``."""
        d = self.d
        g = J[1 : 1 + d] if self.order >= 1 else None
        H = J[1 + d :] if self.order >= 2 else None
        return J[0], g, H

    def pointwise(self, J: torch.Tensor, derivatives) -> torch.Tensor:
        """Rows of ``f(v)`` for an elementwise f: ``derivatives(v, order) -> [f, f', ..]``.

        ``f(v)``, ``f'(v) g_a``, ``f''(v) g_a g_b + f'(v) H_ab``. J ``(R, N, c)`` -> the same
        shape, or ``(R, N, c, K..)`` when f maps each entry to several values (a basis
        expansion: ``derivatives`` returns tensors ``(N, c, K..)``).
        """
        v, g, H = self.split(J)
        fs = derivatives(v, self.order)
        extra = (1,) * (fs[0].dim() - v.dim())
        g = None if g is None else g.reshape(*g.shape, *extra)
        H = None if H is None else H.reshape(*H.shape, *extra)
        return self.chain(fs, g, H)

    def linear(self, J: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
        """Rows of ``F.linear(v, weight, bias)``: weight ``(o, c)``, the bias on row 0 only.

        J ``(R, N, c)`` -> ``(R, N, o)``; all rows in one matrix product.
        """
        R, N, c = J.shape
        out = (J.reshape(R * N, c) @ weight.t()).view(R, N, -1)
        if bias is not None:
            out = torch.cat([out[:1] + bias, out[1:]], dim=0)
        return out

    def chain(self, fs, g, H, out=None):
        """Rows of ``f(v)`` from ``fs = [f, f', f'']`` (any trailing shape broadcast with g, H).

        With ``out`` (outside autograd) the rows are written into it instead of concatenated.
        """
        d = self.d
        if out is None:
            rows = [fs[0].unsqueeze(0)]
            if self.order >= 1:
                rows.append(fs[1].unsqueeze(0) * g)
            if self.order >= 2:
                gg = g[self.pa] * g[self.pb]
                rows.append(fs[2].unsqueeze(0) * gg + fs[1].unsqueeze(0) * H)
            return torch.cat(rows, dim=0)
        out[0] = fs[0]
        if self.order >= 1:
            torch.mul(fs[1].unsqueeze(0), g, out=out[1 : 1 + d])
        if self.order >= 2:
            hess = out[1 + d :]
            torch.mul(fs[1].unsqueeze(0), H, out=hess)
            hess.addcmul_(fs[2].unsqueeze(0), g[self.pa] * g[self.pb])
        return out

    def chain_backward(self, grads, fs, g, H):
        """Adjoint of :meth:`chain`, summed over the trailing local axis.

        grads: ``(R, ..., L)``, the loss gradient of each chained row; ``fs`` has one more
        derivative than the forward used. Returns ``(R, ...)``: gradients of v, g, H stacked.
        """
        o = self.order
        s1 = _dot_last(grads, fs[1])  # rows 0, g, H all meet f'
        out_v = s1[0]
        out = [None]
        if o >= 1:
            d = self.d
            s2 = _dot_last(grads[1:], fs[2])  # rows g and H meet f''
            gs = g.squeeze(-1) if g.dim() == grads.dim() else g
            out_v = out_v + (s2[:d] * gs).sum(0)
            grad_g = s1[1 : 1 + d]
            if o >= 2:
                Hs = H.squeeze(-1) if H.dim() == grads.dim() else H
                s2h = s2[d:]
                out_v = out_v + (s2h * Hs).sum(0)
                s3 = _dot_last(grads[1 + d :], fs[3])
                out_v = out_v + (s3 * gs[self.pa] * gs[self.pb]).sum(0)
                pa = torch.tensor(self.pa, device=gs.device)
                pb = torch.tensor(self.pb, device=gs.device)
                grad_g = grad_g.index_add(0, pa, s2h * gs[self.pb]).index_add(
                    0, pb, s2h * gs[self.pa]
                )
                out.append(grad_g)
                out.append(s1[1 + d :])
            else:
                out.append(grad_g)
        out[0] = out_v.unsqueeze(0)
        return torch.cat(out, dim=0)


def _dot_last(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b).sum(-1)`` with b broadcast over a's leading row axis, without the product."""
    if a.shape[-1] == 1:
        return (a * b).squeeze(-1)
    return torch.einsum("r...l,...l->r...", a, b)


def _columns(index: torch.Tensor, n_local: int, n_basis: int) -> torch.Tensor:
    """Feature column of every local basis: ``(N, I*L)`` for the flat ``(.., I*K)`` layout."""
    n, i = index.shape
    start = index + torch.arange(i, device=index.device).mul_(n_basis)  # (N, I)
    # L contiguous adds and one stack beat a broadcast add over a trailing axis of size L
    return torch.stack([start + l for l in range(n_local)], dim=-1).view(n, i * n_local)


class _Workspace(threading.local):
    """Scratch buffers of the calling thread, by (slot, device, dtype).

    Per thread, so networks running in several threads at once never share a buffer; a
    thread's buffers go when it ends.
    """

    def __init__(self):
        self.buffers: dict[tuple, torch.Tensor] = {}


_WORKSPACE = _Workspace()
_REUSE = os.environ.get("KINN_REUSE_BUFFERS", "1") != "0"


def release_workspace() -> None:
    """Free the feature buffers that KAN layers keep between steps (this thread's)."""
    _WORKSPACE.buffers.clear()


def _buffer(slot: str, shape: tuple[int, ...], like: torch.Tensor, zero: bool, reuse: bool):
    """A scratch tensor; with ``reuse`` a view of this thread's buffer for (slot, device, dtype).

    Feature matrices are several MB and built twice per step. Fresh allocations of that size
    come back from the OS as untouched pages and fault on first write, which can cost more
    than the matrix products; a reused buffer stays hot. Only for values that are consumed
    before the next call (never returned or saved for backward).
    """
    if not (reuse and _REUSE) or torch.compiler.is_compiling():
        return like.new_zeros(shape) if zero else like.new_empty(shape)
    numel = 1
    for n in shape:
        numel *= n
    key = (slot, like.device, like.dtype)
    buffers = _WORKSPACE.buffers
    buf = buffers.get(key)
    if buf is None or buf.numel() < numel:
        buf = buffers[key] = like.new_empty(numel)
    out = buf[:numel].view(shape)
    return out.zero_() if zero else out


def _local_rows(layer, J, layout: RowLayout, extra_order: int, reuse: bool):
    """The chained local rows: spline ``(R, N, I, L)`` and base ``(R, N, I)`` (or None)."""
    v, g, H = layout.split(J)
    R, N, I = J.shape
    graph = torch.is_grad_enabled()
    index, bases = layer.local_basis(v, layout.order + extra_order)
    gl = None if g is None else g.unsqueeze(-1)
    Hl = None if H is None else H.unsqueeze(-1)
    n_local = bases[0].shape[-1]
    out = None if graph else _buffer("local", (R, N, I, n_local), v, zero=False, reuse=reuse)
    local = layout.chain(bases[: layout.order + 1], gl, Hl, out=out)
    base_rows = base_fs = None
    if layer.base is not None:
        base_fs = activation_derivatives(layer.base, v, layout.order + extra_order)
        out = None if graph else _buffer("base", (R, N, I), v, zero=False, reuse=reuse)
        base_rows = layout.chain(base_fs[: layout.order + 1], g, H, out=out)
    return index, bases, local, base_fs, base_rows


def _features(layer, local, index, base_rows, reuse: bool):
    """Dense stacked features ``(R, N, I*K [+ I])`` and the column of every local basis."""
    R, N, I, L = local.shape
    K = layer.n_basis
    width = I * K + (0 if base_rows is None else I)
    cols = None
    if index is None:
        if base_rows is None:
            return local.reshape(R, N, I * K), None
        feats = _buffer("features", (R, N, width), local, zero=False, reuse=reuse)
        feats[..., : I * K] = local.reshape(R, N, I * K)
    else:
        # scatter along the last axis of a contiguous buffer (fast), not into a strided view
        feats = _buffer("features", (R, N, width), local, zero=True, reuse=reuse)
        cols = _columns(index, L, K)
        feats.scatter_(-1, cols.expand(R, -1, -1), local.reshape(R, N, I * L))
    if base_rows is not None:
        feats[..., I * K :] = base_rows
    return feats, cols


def _gathered_weight(weight, cols, I, K, L):
    """Spline weights at each point's local bases: ``(N, I, L, O)`` (the narrow-output path)."""
    N = cols.shape[0]
    return weight[: I * K].index_select(0, cols.reshape(-1)).view(N, I, L, weight.shape[1])


# Outputs at most this wide skip the dense feature matrix: the spline weights are gathered
# per point instead (PINN output layers), which touches (G+k)/(k+1) times less memory.
_NARROW = 2


class _KANRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, J, weight, bias, layer, layout):
        R, N, I = J.shape
        K, O = layer.n_basis, weight.shape[1]
        index, _, local, _, base_rows = _local_rows(layer, J, layout, 0, reuse=True)
        L = local.shape[-1]
        if index is not None and O <= _NARROW:
            cols = _columns(index, L, K)
            wg = _gathered_weight(weight, cols, I, K, L)
            out = torch.einsum("rnil,nilo->rno", local, wg)
            if base_rows is not None:
                out = out + (base_rows.reshape(R * N, I) @ weight[I * K :]).view(R, N, O)
        else:
            feats, _ = _features(layer, local, index, base_rows, reuse=True)
            out = (feats.view(R * N, feats.shape[-1]) @ weight).view(R, N, O)
        if bias is not None:
            out[0] += bias
        ctx.save_for_backward(J, weight)  # everything else is rebuilt in backward, not kept
        ctx.layer, ctx.layout, ctx.has_bias = layer, layout, bias is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        J, weight = ctx.saved_tensors
        need_j, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_b = grad_out[0].sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        grad_j, grad_w = rows_backward(ctx.layer, ctx.layout, J, weight, grad_out, need_j, need_w)
        return grad_j, grad_w, grad_b, None, None


def rows_backward(layer, layout: RowLayout, J, weight, grad_out, need_j: bool, need_w: bool):
    """Gradients ``(of J (R, N, I) or None, of weight (I K [+ I], O) or None)`` of the rows.

    ``layer`` needs ``local_basis``, ``n_basis`` and ``base``. Differentiable when grad mode
    is on (a graph of the backward was requested): then nothing is reused or done in place.
    """
    R, N, I = J.shape
    K, O = layer.n_basis, weight.shape[1]
    graph = torch.is_grad_enabled()
    gy = grad_out.reshape(R * N, O)
    reuse = not graph
    grad_j = grad_w = None
    extra = 1 if need_j else 0  # one more derivative only to pass gradients to J
    index, bases, local, base_fs, base_rows = _local_rows(layer, J, layout, extra, reuse)
    L = local.shape[-1]
    narrow = index is not None and O <= _NARROW
    if narrow:
        cols = _columns(index, L, K)
        wg = _gathered_weight(weight, cols, I, K, L)
        if need_w:
            contrib = torch.einsum("rnil,rno->nilo", local, grad_out).reshape(N * I * L, O)
            grad_w = weight.new_zeros(weight.shape)
            grad_w[: I * K].index_add_(0, cols.reshape(-1), contrib)
            if base_rows is not None:
                grad_w[I * K :] = base_rows.reshape(R * N, I).t() @ gy
        if need_j:
            spline = torch.einsum("rno,nilo->rnil", grad_out, wg)
            base_g = None
            if base_rows is not None:
                base_g = (gy @ weight[I * K :].t()).view(R, N, I)
    else:
        feats, cols = _features(layer, local, index, base_rows, reuse)
        F = feats.shape[-1]
        if need_w:
            grad_w = feats.reshape(R * N, F).t() @ gy
        if need_j:
            G = _buffer("grad_features", (R * N, F), gy, zero=False, reuse=reuse)
            G = gy @ weight.t() if graph else torch.mm(gy, weight.t(), out=G)
            G = G.view(R, N, F)
            if cols is None:
                spline = G[..., : I * K].reshape(R, N, I, K)
            else:
                spline = G.gather(-1, cols.expand(R, -1, -1)).view(R, N, I, L)
            base_g = None if base_rows is None else G[..., I * K :]
    if need_j:
        v, g, H = layout.split(J)
        gl = None if g is None else g.unsqueeze(-1)
        Hl = None if H is None else H.unsqueeze(-1)
        grad_j = layout.chain_backward(spline, bases, gl, Hl)
        if base_g is not None:
            fs = [f.unsqueeze(-1) for f in base_fs]
            grad_j = grad_j + layout.chain_backward(base_g.unsqueeze(-1), fs, gl, Hl)
    return grad_j, grad_w


def torch_rows(layer, J: torch.Tensor, weight: torch.Tensor, layout: RowLayout) -> torch.Tensor:
    """A KAN layer on stacked Taylor rows ``J (R, N, I)`` -> ``(R, N, O)``, in PyTorch."""
    return _KANRows.apply(J, weight, layer.bias, layer, layout)
