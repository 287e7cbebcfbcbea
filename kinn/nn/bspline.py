"""B-spline bases in matrix form (MatrixKAN) and a general Cox-de Boor path.

On a uniform grid with spacing h, a point x lies in interval m = floor((x - t_0) / h) at local
position u = (x - t_0) / h - m in [0, 1). Exactly k + 1 degree-k B-splines are non-zero there,
and their values are the power vector times a fixed matrix::

    [B_m(x), ..., B_{m+k}(x)] = [1, u, ..., u^k] @ M_k

so no recursion over degrees and no search over knots is needed. Derivatives use the same
``M_k`` with differentiated power vectors, divided by ``h^r``.

Outside the grid's domain every basis continues with its value, slope and curvature at the
nearest end, the curvature fading linearly to zero over one grid spacing, then as a straight
line (a C^2 extension, see :func:`tail_factors`). A cubic spline is C^2 inside its domain, so
the network stays C^2 where hidden activations leave the next layer's grid: a strong-form
residual (second derivatives) has no jump there, which a line search would meet as a jump of
the loss. Splines grow only linearly far away, and the bases stay a partition of unity. Keep
inputs inside the domain where the function's shape matters (normalise them, or use
``BSplineKANLayer.update_grid``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import torch

__all__ = ["bspline_basis", "bspline_basis_general", "bspline_matrix", "uniform_grid"]

MAX_DEGREE = 12


@cache
def _bspline_matrix_exact(degree: int) -> tuple[tuple[Fraction, ...], ...]:
    """Exact rational ``M_k``: row p, column r is the u^p coefficient of B_{m+r} on interval m.

    B_{m+r} restricted to interval m is the piece ``s = k - r`` of the cardinal B-spline
    ``N_k(t) = 1/k! * sum_j (-1)^j C(k+1, j) (t - j)_+^k`` at ``t = u + s``.
    """
    k = degree
    rows = []
    for p in range(k + 1):
        row = []
        for r in range(k + 1):
            s = k - r
            acc = Fraction(0)
            for j in range(s + 1):
                acc += (
                    (-1) ** j * math.comb(k + 1, j) * math.comb(k, p) * Fraction(s - j) ** (k - p)
                )
            row.append(acc / math.factorial(k))
        rows.append(tuple(row))
    return tuple(rows)


def bspline_matrix(degree: int, derivative: int = 0, dtype=torch.float64) -> torch.Tensor:
    """The (k+1, k+1) matrix ``M`` such that bases = ``[1, u, ..., u^k] @ M`` on one interval.

    With ``derivative = r`` the rows are those of the r-th derivative in u of the power vector
    folded into ``M`` (row p of the result multiplies u^p), so the r-th derivative in u of the
    bases is ``[1, u, ..., u^k] @ M_r``; divide by ``h^r`` for the derivative in x.
    Built exactly in rational arithmetic, then rounded once.
    """
    _check_degree(degree)
    if derivative < 0:
        raise ValueError(f"derivative must be >= 0, got {derivative}")
    exact = _bspline_matrix_exact(degree)
    k = degree
    rows = []
    for p in range(k + 1):
        q = p + derivative  # d^r/du^r u^q = q!/(q-r)! u^(q-r) = u^p * q!/p!
        if q > k:
            rows.append([Fraction(0)] * (k + 1))
        else:
            factor = math.factorial(q) // math.factorial(p)
            rows.append([factor * c for c in exact[q]])
    return torch.tensor([[float(c) for c in row] for row in rows], dtype=dtype)


@cache
def matrix_rows(degree: int, order: int) -> tuple[list[list[float]], ...]:
    """``[M_0, .., M_order]`` of :func:`bspline_matrix` as nested lists (Horner's scalars)."""
    return tuple(bspline_matrix(degree, r).tolist() for r in range(order + 1))


def uniform_grid(
    domain: torch.Tensor | tuple[float, float],
    grid_size: int,
    in_features: int | None = None,
    dtype: torch.dtype | None = None,
):
    """Uniform knots ``(I, G+1)`` over each input's ``[lo, hi]`` (domain ``(I, 2)`` or a pair).

    Computed in float64, returned in ``dtype`` (default: the domain tensor's floating dtype,
    else torch's default dtype).
    """
    _check_grid(grid_size)
    if dtype is None:
        is_float = isinstance(domain, torch.Tensor) and domain.is_floating_point()
        dtype = domain.dtype if is_float else torch.get_default_dtype()
    if isinstance(domain, torch.Tensor):
        domain = domain.to(torch.float64)
    else:
        domain = torch.as_tensor(domain, dtype=torch.float64)
    if domain.ndim == 1:
        if in_features is None:
            raise ValueError("in_features is needed when domain is a single (lo, hi) pair")
        domain = domain.expand(in_features, 2)
    lo, hi = domain[:, 0:1], domain[:, 1:2]
    if not bool((hi > lo).all()):
        raise ValueError(f"domain must have lo < hi for every input, got {domain.tolist()}")
    steps = torch.linspace(0, 1, grid_size + 1, dtype=torch.float64, device=domain.device)
    return (lo + (hi - lo) * steps).to(dtype)


def _is_uniform(grid: torch.Tensor) -> bool:
    """Whether every row of knots ``(I, G+1)`` is evenly spaced, up to float32 round-off.

    Knots computed in float64 and stored in float32 are uneven by up to an ulp of the largest
    knot, so the tolerance scales with epsilon and the knots' magnitude (a fixed relative
    tolerance sent every float32 grid to the slow non-uniform path). It is float32's epsilon
    (or the dtype's, if coarser) in float64 too: float64 layers are commonly float32 layers
    converted with ``.double()``, whose knots keep float32's rounding. Uniform layers use the
    ends and ``G`` only (:meth:`BSplineKANLayer._spacing`), so that rounding does not matter.
    """
    g = grid.shape[1] - 1
    h = (grid[:, -1:] - grid[:, :1]) / g
    eps = max(torch.finfo(grid.dtype).eps, torch.finfo(torch.float32).eps)
    tol = 8 * eps * grid.abs().amax(dim=1, keepdim=True)
    return bool(((grid.diff(dim=1) - h).abs() <= tol).all())


def _check_degree(degree: int) -> None:
    if not isinstance(degree, int) or not 1 <= degree <= MAX_DEGREE:
        raise ValueError(f"degree must be an integer in 1..{MAX_DEGREE}, got {degree!r}")


def _check_grid(grid_size: int) -> None:
    if not isinstance(grid_size, int) or grid_size < 1:
        raise ValueError(f"grid must be an integer >= 1 (number of intervals), got {grid_size!r}")


def _end_slopes(coef: list[list[float]]) -> tuple[list[float], list[float]]:
    """d/du of ``[1, u, .., u^k] @ coef`` at u = 0 and at u = 1, per column."""
    at0 = list(coef[1]) if len(coef) > 1 else [0.0] * len(coef[0])
    at1 = [sum(p * row[c] for p, row in enumerate(coef)) for c in range(len(coef[0]))]
    return at0, at1


def _end_curvatures(coef: list[list[float]]) -> tuple[list[float], list[float]]:
    """d^2/du^2 of ``[1, u, .., u^k] @ coef`` at u = 0 and at u = 1, per column."""
    at0 = [2.0 * c for c in coef[2]] if len(coef) > 2 else [0.0] * len(coef[0])
    at1 = [sum(p * (p - 1) * row[c] for p, row in enumerate(coef)) for c in range(len(coef[0]))]
    return at0, at1


def tail_factors(left: torch.Tensor, right: torch.Tensor) -> dict[str, torch.Tensor]:
    """How a spline continues beyond its domain, in grid units.

    ``left <= 0`` and ``right >= 0`` are the distances beyond the first and the last knot (0
    inside; at most one is non-zero). With ``b0, b1, b2`` the value, slope and curvature at
    the nearest end and ``d`` the signed distance, the continuation is::

        f(d) = b0 + b1 d + b2 P0(d),   f'(d) = b1 + b2 P1(d),
        f''(d) = b2 P2(d),             f'''(d) = b2 P3(d)

    with ``P2 = 1 - q``, ``q = min(|d|, 1)``: the curvature fades linearly to zero over one
    grid spacing, then the spline is a straight line. Returns ``p0_left``, ``p0_right``,
    ``p1_left``, ``p1_right``, ``p3_left``, ``p3_right`` (each zero on the other side) and
    ``p2`` (1 inside), all shaped like ``left``.
    """
    out = {}
    for side, d, sign in (("left", -left, -1.0), ("right", right, 1.0)):
        q = d.clamp(max=1.0)
        slope = q - 0.5 * q * q  # the integral of 1 - q
        out[f"p0_{side}"] = q * q * (0.5 - q / 6.0) + (d - q) * slope
        out[f"p1_{side}"] = sign * slope
        out[f"p3_{side}"] = -sign * ((d > 0) & (d < 1)).to(d.dtype)
    out["p2"] = 1.0 - (-left).clamp(max=1.0) - right.clamp(max=1.0)
    return out


def _horner_columns(
    u: torch.Tensor, coef: list[list[float]], factor=None, tail=None
) -> torch.Tensor:
    """``([1, u, .., u^k] @ coef) * factor`` by Horner's rule, one column at a time.

    ``tail = [(t, per_column), ..]`` adds ``t * per_column[r]`` to column r for every pair
    (the continuation beyond the ends of the domain).

    u, factor: ``(N, I)`` -> ``(N, I, k+1)``. Scalar coefficients on contiguous ``(N, I)``
    tensors are several times faster on CPU than a broadcast over a trailing axis of size k+1;
    outside autograd the updates run in place. Leading zero coefficients are skipped.
    """
    tensors = [u, factor] + [t for t, _ in tail or ()]
    inplace = not (
        torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    )
    out = u.new_empty(*u.shape, len(coef[0]))
    for r in range(len(coef[0])):
        column = [row[r] for row in coef]
        top = max((p for p, c in enumerate(column) if c != 0), default=0)
        if top == 0:
            acc = torch.full_like(u, column[0])
        else:
            acc = u * column[top]
            for p in range(top - 1, -1, -1):
                if inplace:
                    acc.add_(column[p])
                    if p > 0:
                        acc.mul_(u)
                else:
                    acc = acc + column[p]
                    if p > 0:
                        acc = acc * u
        if factor is not None:
            acc = acc.mul_(factor) if inplace else acc * factor
        for t, per_column in tail or ():
            if per_column[r] == 0:
                continue
            if inplace:
                acc.add_(t, alpha=per_column[r])
            else:
                acc = acc + t * per_column[r]
        out[..., r] = acc
    return out


def uniform_local(
    x: torch.Tensor,
    lo: torch.Tensor,
    inv_h: torch.Tensor,
    grid_size: int,
    matrices: list,
    order: int,
    first: int = 0,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Interval index and the k+1 non-zero bases with their x-derivatives, on a uniform grid.

    x: ``(N, I)``; ``lo``, ``inv_h``: ``(I,)`` first knot and inverse spacing; ``matrices``:
    ``[M_0, M_1, ..]`` (nested lists or tensors, at least ``max(order, 1) + 1`` of them).
    Returns ``index (N, I)`` (long, 0..G-1, the dense column of local basis 0) and
    ``(N, I, k+1)`` tensors for the derivative orders ``first .. order``, with the C^2
    extension outside the domain (see the module docstring and :func:`tail_factors`).
    """
    s = (x - lo) * inv_h
    sc = s.clamp(0, grid_size)
    m = torch.floor(sc).clamp_(max=grid_size - 1)
    u = sc - m
    excess = s - sc  # grid units beyond the domain; 0 inside
    coef = [c.tolist() if isinstance(c, torch.Tensor) else c for c in matrices]
    # Beyond the domain u sits at 0 or 1, where the slopes and curvatures in u of the bases
    # are fixed numbers: the tail costs a few scalar updates per basis, not another Horner.
    left, right = excess.clamp(max=0), excess.clamp(min=0)
    f = tail_factors(left, right)
    s0, s1 = _end_slopes(coef[0])
    c0, c1 = _end_curvatures(coef[0])
    out = []
    for r in range(first, order + 1):
        if r == 0:
            tail = [(left, s0), (right, s1), (f["p0_left"], c0), (f["p0_right"], c1)]
            out.append(_horner_columns(u, coef[0], tail=tail))
            continue
        h_r = inv_h.pow(r).expand_as(u)
        tail = None
        if r == 1:
            factor = h_r
            tail = [(f["p1_left"] * h_r, c0), (f["p1_right"] * h_r, c1)]
        elif r == 2:
            factor = h_r * f["p2"]
        else:
            factor = h_r * (excess == 0).to(x.dtype)
            if r == 3:
                tail = [(f["p3_left"] * h_r, c0), (f["p3_right"] * h_r, c1)]
        out.append(_horner_columns(u, coef[r], factor.contiguous(), tail=tail))
    return m.long(), out


def scatter_dense(index: torch.Tensor, vals: torch.Tensor, n_basis: int) -> torch.Tensor:
    """Place the k+1 local values at columns ``index..index+k``: -> ``(N, I, n_basis)``."""
    k1 = vals.shape[-1]
    cols = index.unsqueeze(-1) + torch.arange(k1, device=index.device)
    dense = vals.new_zeros(*vals.shape[:-1], n_basis)
    return dense.scatter_(-1, cols, vals)


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, degree: int) -> torch.Tensor:
    """All ``G + k`` degree-k B-splines of a uniform grid, in matrix form.

    x: ``(N, I)``; grid: ``(I, G+1)`` uniform knots over each input's domain (the k extra
    knots on each side are implied). Returns ``(N, I, G+k)``. Exact to round-off inside the
    domain; outside, see the module docstring. Raises ``ValueError`` for non-uniform knots
    (use :func:`bspline_basis_general`).
    """
    _check_degree(degree)
    if x.ndim != 2 or grid.ndim != 2 or grid.shape[0] != x.shape[1]:
        raise ValueError(
            f"expected x (N, I) and grid (I, G+1); got x {tuple(x.shape)}, grid {tuple(grid.shape)}"
        )
    grid_size = grid.shape[1] - 1
    _check_grid(grid_size)
    if not torch.compiler.is_compiling() and not _is_uniform(grid):
        raise ValueError("grid knots are not uniform; use bspline_basis_general for them")
    inv_h = grid_size / (grid[:, -1] - grid[:, 0])
    matrices = matrix_rows(degree, 1)
    m, (vals,) = uniform_local(x, grid[:, 0], inv_h, grid_size, matrices, 0)
    return scatter_dense(m, vals, grid_size + degree)


def extend_knots(grid: torch.Tensor, degree: int) -> torch.Tensor:
    """Knots ``(I, G+1)`` -> ``(I, G+2k+1)``, adding k knots beyond each end at the end spacing."""
    left = grid[:, 1:2] - grid[:, 0:1]
    right = grid[:, -1:] - grid[:, -2:-1]
    steps = torch.arange(1, degree + 1, dtype=grid.dtype, device=grid.device)
    before = grid[:, 0:1] - left * steps.flip(0)
    after = grid[:, -1:] + right * steps
    return torch.cat([before, grid, after], dim=1)


def bspline_basis_general(
    x: torch.Tensor, grid: torch.Tensor, degree: int, derivative: int = 0
) -> torch.Tensor:
    """B-splines on any increasing knots by the Cox-de Boor recursion (the non-uniform path).

    x: ``(N, I)``; grid: ``(I, G+1)`` increasing knots (extended by k knots each side at the end
    spacing). Returns the ``derivative``-th x-derivative of the ``G+k`` bases, ``(N, I, G+k)``.
    Outside the domain the bases continue as in :func:`bspline_basis` (C^2), in units of the
    end intervals.
    """
    _check_degree(degree)
    grid_size = grid.shape[1] - 1
    _check_grid(grid_size)
    lo, hi = grid[:, 0], grid[:, -1]
    xc = torch.minimum(torch.maximum(x, lo), hi)
    excess = x - xc
    h_left, h_right = grid[:, 1] - lo, hi - grid[:, -2]  # (I,): the end intervals
    f = tail_factors(excess.clamp(max=0) / h_left, excess.clamp(min=0) / h_right)
    f = {name: value.unsqueeze(-1) for name, value in f.items()}
    hl, hr = h_left[:, None], h_right[:, None]
    curvature = _cox_de_boor(xc, grid, degree, 2)  # at the end, outside
    if derivative == 0:
        value, slope = _cox_de_boor(xc, grid, degree, 0), _cox_de_boor(xc, grid, degree, 1)
        bend = (hl * hl * f["p0_left"] + hr * hr * f["p0_right"]) * curvature
        return value + excess.unsqueeze(-1) * slope + bend
    if derivative == 1:
        tail = (hl * f["p1_left"] + hr * f["p1_right"]) * curvature
        return _cox_de_boor(xc, grid, degree, 1) + tail
    if derivative == 2:
        return curvature * f["p2"]
    inside = (excess == 0).to(x.dtype).unsqueeze(-1)
    higher = _cox_de_boor(xc, grid, degree, derivative) * inside
    if derivative == 3:
        higher = higher + (f["p3_left"] / hl + f["p3_right"] / hr) * curvature
    return higher


def _cox_de_boor(x: torch.Tensor, grid: torch.Tensor, degree: int, derivative: int):
    """Bases (or a derivative) at x inside the closed domain of increasing knots."""
    grid_size = grid.shape[1] - 1
    if derivative > degree:
        return x.new_zeros(*x.shape, grid_size + degree)
    t = extend_knots(grid, degree)  # (I, G+2k+1)
    k = degree
    inner = grid[:, 1:-1].contiguous()  # interior knots decide the interval
    m = torch.searchsorted(inner, x.t().contiguous(), right=True).t()  # (N, I) in 0..G-1
    n0 = grid_size + 2 * k
    basis = torch.nn.functional.one_hot(m + k, n0).to(x.dtype)  # degree-0 indicator, clamped
    xe = x.unsqueeze(-1)
    for p in range(1, k - derivative + 1):
        left_t, right_t = t[:, : n0 - p], t[:, p:n0]
        left_t1, right_t1 = t[:, 1 : n0 - p + 1], t[:, p + 1 : n0 + 1]
        a = (xe - left_t) / (right_t - left_t) * basis[..., :-1]
        b = (right_t1 - xe) / (right_t1 - left_t1) * basis[..., 1:]
        basis = a + b
    for p in range(k - derivative + 1, k + 1):
        n = basis.shape[-1] - 1
        left = p / (t[:, p : p + n] - t[:, :n])
        right = p / (t[:, p + 1 : p + 1 + n] - t[:, 1 : 1 + n])
        basis = left * basis[..., :-1] - right * basis[..., 1:]
    return basis
