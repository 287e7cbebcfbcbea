"""Differential operators by nested autograd: the reference path for any network.

Every operator takes the output ``u: (N, m)`` of a network evaluated at ``x: (N, d)`` (which
must require grad) and builds a graph through the result (``create_graph=True``), so the
operators compose and the loss back-propagates to the parameters.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Sequence

import torch

__all__ = ["divergence", "grad", "hessian", "laplacian", "partial"]


def _check(u: torch.Tensor, x: torch.Tensor) -> None:
    if not x.requires_grad:
        raise ValueError("x must require grad: call x.requires_grad_() before evaluating u")
    if u.ndim != 2 or x.ndim != 2 or u.shape[0] != x.shape[0]:
        raise ValueError(f"expected u (N, m) and x (N, d), got {tuple(u.shape)}, {tuple(x.shape)}")


def _grad_of_column(col: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    (g,) = torch.autograd.grad(col.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def grad(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """First derivatives ``du_i/dx_j``: ``(N, m, d)``."""
    _check(u, x)
    return torch.stack([_grad_of_column(u[:, i], x) for i in range(u.shape[1])], dim=1)


def divergence(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_i du_i/dx_i`` of a vector field with m == d: ``(N,)``."""
    _check(u, x)
    if u.shape[1] != x.shape[1]:
        raise ValueError(f"divergence needs m == d, got m={u.shape[1]}, d={x.shape[1]}")
    return _total(_grad_of_column(u[:, i], x)[:, i] for i in range(u.shape[1]))


def hessian(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Second derivatives ``d2u_i/dx_j dx_k``: ``(N, m, d, d)``."""
    g = grad(u, x)
    d = x.shape[1]
    rows = [
        torch.stack([_grad_of_column(g[:, i, j], x) for j in range(d)], dim=1)
        for i in range(u.shape[1])
    ]
    return torch.stack(rows, dim=1)


def laplacian(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_j d2u_i/dx_j^2``: ``(N, m)`` (only the Hessian's diagonal is built)."""
    g = grad(u, x)
    return torch.stack(
        [
            _total(_grad_of_column(g[:, i, j], x)[:, j] for j in range(x.shape[1]))
            for i in range(u.shape[1])
        ],
        dim=1,
    )


def partial(u: torch.Tensor, x: torch.Tensor, spec: str, names: Sequence[str]) -> torch.Tensor:
    """A partial derivative by the names of x's columns: ``(N, m)``.

    ``partial(u, x, "t", names=("x", "t"))`` is u_t; ``"xx"`` is u_xx; ``"xt"`` is u_xt.
    With multi-letter names separate them by commas: ``"x1,x2"``.
    """
    index = _spec_to_indices(spec, names)
    _check(u, x)
    out = u
    for j in index:
        out = torch.stack([_grad_of_column(out[:, i], x)[:, j] for i in range(u.shape[1])], 1)
    return out


def _spec_to_indices(spec: str, names: Sequence[str]) -> list[int]:
    names = list(names)
    parts = spec.split(",") if "," in spec else list(spec)
    if not parts or parts == [""]:
        raise ValueError("spec must name at least one variable, e.g. 'xx' or 't'")
    try:
        return [names.index(p) for p in parts]
    except ValueError:
        raise ValueError(f"spec {spec!r} names a variable not in {names}") from None


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """``t0 + t1 + ...`` in order (``sum()`` would start from the integer 0)."""
    return functools.reduce(operator.add, terms)
