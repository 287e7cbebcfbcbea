"""Taylor-mode derivative jets: value, gradient and Hessian in one forward pass.

A jet of a field ``u: (N, m)`` at points ``x: (N, d)`` is carried through the network as one
stacked tensor ``J: (R, N, c)``: row 0 the value, rows ``1..d`` the first derivatives, and then
one row per Hessian component ``(a, b)`` (all ``a <= b``, or only ``a == b`` for
``hessian="diag"``). Linear maps act on all rows at once (one GEMM), scalar nonlinearities by the
chain rule ``f(v)``, ``f'(v) g_a``, ``f''(v) g_a g_b + f'(v) H_ab``. A KAN layer is the same chain
rule applied to its bases (:mod:`kinn.nn.taylor`): on a uniform B-spline grid only the k+1 local
bases and their derivatives (the matrix form with differentiated power vectors) are combined,
scattered once and multiplied by the stacked weight in a single GEMM, with a hand-written
backward. The training step then needs one ordinary backward, instead of nested autograd.
Every module says how rows pass through it (the protocol in :mod:`kinn.diff.rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from kinn.nn.taylor import RowLayout

from . import operators, rules

__all__ = ["Jet", "jet", "jet_of"]


@dataclass
class Jet:
    """Derivatives of a field ``u: (N, m)`` with respect to ``x: (N, d)``.

    Attributes:
        value: ``(N, m)``.
        grad: ``(N, m, d)`` (None for order 0).
        hess: ``(N, m, d, d)`` for a full Hessian, ``(N, m, d)`` (its diagonal) for
            ``hessian="diag"``; None for order < 2.
        diag: whether ``hess`` holds only the diagonal.
    """

    value: torch.Tensor
    grad: torch.Tensor | None = None
    hess: torch.Tensor | None = None
    diag: bool = False

    @property
    def hess_diag(self) -> torch.Tensor:
        """The Hessian's diagonal ``(N, m, d)``."""
        hess = self._need_hess()
        return hess if self.diag else torch.diagonal(hess, dim1=-2, dim2=-1)

    def laplacian(self) -> torch.Tensor:
        """``sum_a d2u/dx_a^2``: ``(N, m)``."""
        return self.hess_diag.sum(-1)

    def partial(self, spec: str, names) -> torch.Tensor:
        """A derivative by variable names: ``jet.partial("xt", ("x", "t"))`` -> ``(N, m)``."""
        idx = operators._spec_to_indices(spec, names)
        if len(idx) == 1:
            if self.grad is None:
                raise ValueError("this jet has no first derivatives (order 0)")
            return self.grad[..., idx[0]]
        if len(idx) == 2:
            a, b = idx
            if self.diag and a != b:
                raise ValueError(
                    f"{spec!r} is a mixed derivative; compute the jet with hessian='full'"
                )
            hess = self._need_hess()
            return hess[..., a] if self.diag else hess[..., a, b]
        raise ValueError(f"derivatives of order {len(idx)} are not in this jet (order <= 2)")

    def select(self, cols) -> Jet:
        """The jet of some output columns, e.g. ``jet.select([0])``."""
        cols = [cols] if isinstance(cols, int) else list(cols)
        return self.map(lambda t: t[:, cols])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Jet:
        """``fn`` applied to value, gradient and Hessian alike, e.g. ``jet.map(Tensor.detach)``."""
        grad = None if self.grad is None else fn(self.grad)
        return Jet(fn(self.value), grad, None if self.hess is None else fn(self.hess), self.diag)

    def __add__(self, other: Jet) -> Jet:
        return Jet(
            self.value + other.value,
            _add(self.grad, other.grad),
            _add(self.hess, other.hess),
            self.diag,
        )

    def __mul__(self, other: Jet) -> Jet:
        """Product rule for fields of equal width (or one of width 1)."""
        u, v = self, other
        value = u.value * v.value
        grad = hess = None
        if u.grad is not None and v.grad is not None:
            grad = u.grad * v.value[..., None] + v.grad * u.value[..., None]
        if u.hess is not None and v.hess is not None:
            assert u.grad is not None and v.grad is not None  # a Hessian comes with a gradient
            if self.diag:
                cross = 2 * u.grad * v.grad
            else:
                cross = u.grad[..., :, None] * v.grad[..., None, :]
                cross = cross + cross.transpose(-1, -2)
            expand = (lambda t: t[..., None]) if self.diag else (lambda t: t[..., None, None])
            hess = u.hess * expand(v.value) + v.hess * expand(u.value) + cross
        return Jet(value, grad, hess, self.diag)

    def _need_hess(self) -> torch.Tensor:
        if self.hess is None:
            raise ValueError("this jet has no second derivatives: compute it with order=2")
        return self.hess


def _add(a, b):
    return None if a is None or b is None else a + b


def _pairs(d: int, hessian: str) -> tuple[list[int], list[int]]:
    if hessian == "full":
        pairs = [(a, b) for a in range(d) for b in range(a, d)]
    elif hessian == "diag":
        pairs = [(a, a) for a in range(d)]
    else:
        raise ValueError(f"hessian must be 'full' or 'diag', got {hessian!r}")
    return [p[0] for p in pairs], [p[1] for p in pairs]


DERIVATIVES = ("auto", "jet", "autograd")


def jet(
    net: nn.Module,
    x: torch.Tensor,
    order: int = 2,
    hessian: str = "full",
    derivatives: str = "auto",
) -> Jet:
    """Value and derivatives of ``net`` at ``x: (N, d)`` in one forward pass.

    Args:
        order: 0, 1 or 2.
        hessian: ``"full"`` (``hess: (N, m, d, d)``) or ``"diag"`` (``(N, m, d)``: enough for
            Laplacians and u_xx-type terms, cheaper for large d).
        derivatives: ``"auto"`` (Taylor-mode jets through every module that supports them,
            nested autograd for the others), ``"jet"`` (jets only: raises for a module
            without jet support), or ``"autograd"`` (nested autograd through everything).

    Jets pass through modules with a ``jet_rows`` method (kinn's KAN, MLP and KAN layers:
    uniform and non-uniform B-splines, Chebyshev) and torch modules with a registered rule
    (``nn.Linear``, ``nn.Sequential``, ``nn.Identity``, tanh, silu, sigmoid, exact gelu,
    softplus); see :mod:`kinn.diff.rules`. The result is differentiable with respect to the
    parameters (and to x), so a loss built from it trains with one ``backward()``.
    """
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    if derivatives not in DERIVATIVES:
        raise ValueError(f"derivatives must be one of {DERIVATIVES}, got {derivatives!r}")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, d), got {tuple(x.shape)}")
    _pairs(1, hessian)  # validates the name
    bad = None if derivatives == "autograd" else rules.unsupported(net)
    if derivatives == "jet" and bad is not None:
        raise ValueError(
            f"no jet rule for module {type(bad).__name__}; give it a jet_rows method, "
            "register a rule (kinn.diff.register_jet_rule), or use derivatives='auto'"
        )
    if derivatives == "autograd" or bad is net:
        return jet_of(net, x, order, hessian)  # nothing to gain from rows at the top
    N, d = x.shape
    layout = RowLayout(d, order, _pairs(d, hessian))
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    parts = [x.unsqueeze(0)]
    if order >= 1:
        parts.append(eye[:, None, :].expand(d, N, d))
    if order >= 2:
        parts.append(x.new_zeros(len(layout.pa), N, d))  # the input's own Hessian vanishes
    J = rules.push_rows(net, torch.cat(parts, dim=0), layout)
    return _unstack(J, layout, hessian)


def _unstack(J, rows: RowLayout, hessian: str) -> Jet:
    v, g, H = rows.split(J)
    grad = None if g is None else g.permute(1, 2, 0)
    hess = None
    if H is not None:
        Hn = H.permute(1, 2, 0)  # (N, m, P)
        if hessian == "diag":
            hess = Hn
        else:
            d = rows.d
            idx = torch.empty(d, d, dtype=torch.long)
            for p, (a, b) in enumerate(zip(rows.pa, rows.pb)):
                idx[a, b] = idx[b, a] = p
            hess = Hn[..., idx.view(-1).to(Hn.device)].view(*Hn.shape[:2], d, d)
    return Jet(v, grad, hess, diag=hessian == "diag")


def jet_of(fn, x: torch.Tensor, order: int = 2, hessian: str = "full") -> Jet:
    """The jet of any function ``fn(x) -> (N, m)`` by nested autograd (the reference path).

    Use it for networks without jet rules and for known functions such as a distance function
    or a boundary lifting in hard constraints (combine jets with ``+`` and ``*``).
    """
    xg = x if x.requires_grad else x.detach().requires_grad_()
    u = fn(xg)
    if u.ndim == 1:
        u = u[:, None]
    grad = hess = None
    if order >= 1:
        grad = operators.grad(u, xg)
    if order >= 2:
        assert grad is not None
        d = x.shape[1]
        if hessian == "diag":
            hess = torch.stack(
                [
                    torch.stack(
                        [operators._grad_of_column(grad[:, i, a], xg)[:, a] for a in range(d)], -1
                    )
                    for i in range(u.shape[1])
                ],
                dim=1,
            )
        else:
            hess = operators.hessian(u, xg)
    return Jet(u, grad, hess, diag=hessian == "diag")
