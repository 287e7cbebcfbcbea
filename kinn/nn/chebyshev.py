"""Chebyshev polynomial bases by the three-term recurrence."""

from __future__ import annotations

import torch

__all__ = ["chebyshev_basis", "chebyshev_basis_derivatives"]


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
