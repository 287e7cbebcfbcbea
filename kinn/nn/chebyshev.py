"""Chebyshev polynomial bases by the three-term recurrence."""

from __future__ import annotations

import torch

from .activations import activation_derivatives

__all__ = ["chebyshev_basis", "chebyshev_basis_derivatives", "tanh_chebyshev_derivatives"]


def _check_degree(degree: int) -> None:
    if not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be an integer >= 1, got {degree!r}")


def chebyshev_basis(x: torch.Tensor, degree: int) -> torch.Tensor:
    """``T_0(x) .. T_n(x)`` by ``T_{j+1} = 2x T_j - T_{j-1}``: x ``(N, I)`` -> ``(N, I, n+1)``.

    The recurrence (not ``cos(n acos x)``) keeps gradients finite at x = +-1 and defines the
    polynomials for |x| > 1 too.
    """
    return chebyshev_basis_derivatives(x, degree, 0)[0]


def chebyshev_basis_derivatives(x: torch.Tensor, degree: int, order: int) -> list[torch.Tensor]:
    """``[T, T', .., T^(order)]`` of degrees 0..n, each ``(N, I, n+1)``, by recurrences.

    ``T^(r)_{j+1} = 2x T^(r)_j + 2r T^(r-1)_j - T^(r)_{j-1}`` follows from differentiating the
    three-term recurrence r times.
    """
    _check_degree(degree)
    out = []
    for r in range(order + 1):
        cols = []
        lower = out[r - 1] if r > 0 else None
        for j in range(degree + 1):
            if j < r:
                cols.append(torch.zeros_like(x))
            elif j == 0:
                cols.append(torch.ones_like(x))
            elif j == 1:
                cols.append(x if r == 0 else torch.ones_like(x))
            else:
                nxt = 2 * x * cols[j - 1] - cols[j - 2]
                if r > 0:
                    nxt = nxt + 2 * r * lower[..., j - 1]
                cols.append(nxt)
        out.append(torch.stack(cols, dim=-1))
    return out


def tanh_chebyshev_derivatives(x: torch.Tensor, degree: int, order: int, first: int = 0):
    """``[d^r/dx^r T_j(tanh x)]`` for r = first..order (<= 3), each ``(N, I, n+1)``.

    The t-derivatives of ``T_j(t)`` by :func:`chebyshev_basis_derivatives`, composed with
    ``t = tanh(x)`` by Faa di Bruno's formula.
    """
    if order > 3:
        raise ValueError(f"Chebyshev layer derivatives are implemented to order 3, got {order}")
    t = activation_derivatives("tanh", x, order)
    T = chebyshev_basis_derivatives(t[0], degree, order)
    t = [None] + [tr.unsqueeze(-1) for tr in t[1:]]
    out = [T[0]]
    if order >= 1:
        out.append(T[1] * t[1])
    if order >= 2:
        out.append(T[2] * t[1] ** 2 + T[1] * t[2])
    if order >= 3:
        out.append(T[3] * t[1] ** 3 + 3 * T[2] * t[1] * t[2] + T[1] * t[3])
    return out[first:]
