"""Quadrature rules: Gauss-Legendre, composite Newton-Cotes, simplex and curved-fan rules.

Every rule returns numpy float64 ``(points, weights)``; geometries turn them into tensors.
Simplex rules are given in barycentric coordinates with weights that sum to 1 (fractions of
the simplex's measure).
"""

import math

import numpy as np
from scipy.special import roots_jacobi, roots_legendre

from .sampler import check_count


def gauss_legendre(n, a=0.0, b=1.0):
    """``n``-point Gauss-Legendre rule on ``[a, b]``: exact for degree ``2n - 1``.

    ``b < a`` gives negative weights (an oriented integral), which the curved rules rely on.
    """
    n = check_count(n)
    x, w = roots_legendre(n)
    return a + (b - a) * (x + 1) / 2, w * (b - a) / 2


def gauss_jacobi01(n, alpha=0, beta=0):
    """Rule for ``int_0^1 f(s) (1 - s)^alpha s^beta ds``: exact for ``f`` of degree ``2n-1``."""
    x, w = roots_jacobi(check_count(n), alpha, beta)
    return (x + 1) / 2, w / 2 ** (alpha + beta + 1)


def trapezoid(n, a=0.0, b=1.0):
    """Composite trapezoid rule on ``n >= 2`` equispaced points: exact for degree 1."""
    n = check_count(n)
    if n < 2:
        raise ValueError(f"trapezoid rule needs n >= 2 points per axis, got {n}")
    x = np.linspace(a, b, n)
    w = np.full(n, (b - a) / (n - 1))
    w[[0, -1]] /= 2
    return x, w


def simpson(n, a=0.0, b=1.0):
    """Composite Simpson rule on an odd number ``n >= 3`` of equispaced points: degree 3."""
    n = check_count(n)
    if n < 3 or n % 2 == 0:
        raise ValueError(f"Simpson rule needs an odd n >= 3 points per axis, got {n}")
    x = np.linspace(a, b, n)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, w * (b - a) / (n - 1) / 3


RULES_1D = {"gauss": gauss_legendre, "trapezoid": trapezoid, "simpson": simpson}


def tensor_rule(rules):
    """Tensor product of 1-D rules ``[(x, w), ...]`` -> ``points (N, d)``, ``weights (N,)``."""
    xs = np.meshgrid(*[x for x, _ in rules], indexing="ij")
    ws = np.meshgrid(*[w for _, w in rules], indexing="ij")
    return np.stack([x.ravel() for x in xs], axis=1), np.prod([w.ravel() for w in ws], axis=0)


def _orbit21(a, w):
    """The three points of the triangle orbit ``(a, a, 1 - 2a)``."""
    b = 1 - 2 * a
    return [(a, a, b), (a, b, a), (b, a, a)], [w] * 3


# Symmetric triangle rules with positive interior points (Strang-Fix / Dunavant).
_TRIANGLE_RULES = {1: ([(1 / 3, 1 / 3, 1 / 3)], [1.0]), 2: _orbit21(1 / 6, 1 / 3)}
_p1, _w1 = _orbit21(0.445948490915965, 0.223381589678011)
_p2, _w2 = _orbit21(0.091576213509771, 0.109951743655322)
_TRIANGLE_RULES[4] = (_p1 + _p2, _w1 + _w2)
_p1, _w1 = _orbit21(0.470142064105115, 0.132394152788506)
_p2, _w2 = _orbit21(0.101286507323456, 0.125939180544827)
_TRIANGLE_RULES[5] = ([(1 / 3, 1 / 3, 1 / 3)] + _p1 + _p2, [0.225] + _w1 + _w2)
_TET_A = (5 - math.sqrt(5)) / 20
_TET_RULES = {
    1: ([(0.25, 0.25, 0.25, 0.25)], [1.0]),
    2: ([tuple(1 - 3 * _TET_A if i == j else _TET_A for j in range(4)) for i in range(4)],)
    + ([0.25] * 4,),
}


#: the most points a quadrature rule may create (a larger request is a mistake about ``n``)
MAX_POINTS = 2**24


def check_size(count: int, n: int, rule: str, where: str, meaning: str) -> None:
    """Raise ``ValueError`` when a rule of ``count`` points exceeds :data:`MAX_POINTS`."""
    if count > MAX_POINTS:
        raise ValueError(
            f"n must keep the {rule!r} rule of {where} within {MAX_POINTS:,} points, got n={n} "
            f"({count:.3g} points): {meaning}"
        )


def cell_rule_size(dim: int, n: int, rule: str) -> tuple[int, str]:
    """Points per simplex of ``dim`` dimensions for ``rule`` with parameter ``n``, and what
    ``n`` means there."""
    if rule == "gauss":
        return n**dim, f"n is the Gauss order per cell (n points per direction, n^{dim} per cell)"
    table = {2: _TRIANGLE_RULES, 3: _TET_RULES}[dim]
    fits = [len(table[k][1]) for k in sorted(table) if k >= n]
    size = fits[0] if fits else math.ceil((n + 1) / 2) ** dim
    return size, "n is the polynomial degree of the rule in each cell"


def collapsed_gauss(dim, n):
    """Conical-product (collapsed Gauss) rule on the ``dim``-simplex, ``n`` points per axis.

    Exact for polynomials of total degree ``2n - 1``; returns barycentric ``(m, dim + 1)``
    points and weights summing to 1. All weights are positive and all points interior.
    """
    n = check_count(n)
    if dim == 2:
        pts, w = tensor_rule([gauss_jacobi01(n, alpha=1), gauss_legendre(n)])
        x = pts[:, 0]
        y = (1 - pts[:, 0]) * pts[:, 1]
        bary = np.stack([1 - x - y, x, y], axis=1)
    elif dim == 3:
        pts, w = tensor_rule(
            [gauss_jacobi01(n, alpha=2), gauss_jacobi01(n, alpha=1), gauss_legendre(n)]
        )
        u, v, t = pts.T
        x, y, z = u, (1 - u) * v, (1 - u) * (1 - v) * t
        bary = np.stack([1 - x - y - z, x, y, z], axis=1)
    else:
        raise ValueError(f"simplex rules exist for dim 2 or 3, got dim={dim}")
    return bary, w / w.sum()


def duffy_rule(n):
    """Duffy's rule on the triangle for integrands singular like ``1 / r`` at vertex 0.

    The square ``(s, t)`` in ``[0, 1]^2`` maps onto the triangle with its edge ``s = 0``
    collapsed to vertex 0 (``x = v0 + s ((1 - t) (v1 - v0) + t (v2 - v0))``); the map's
    Jacobian ``2 s |T|`` cancels a ``1 / r`` singularity at ``v0``, and ``n x n``
    Gauss-Legendre points integrate what is left (Duffy 1982). Returns barycentric points
    ``(n^2, 3)`` and weights summing to 1; with vertex 0 smooth it is still exact to degree
    ``2n - 2``.
    """
    s, ws = gauss_legendre(n)
    (s, t), w = np.meshgrid(s, s, indexing="ij"), np.outer(ws, ws)
    bary = np.stack([1 - s, s * (1 - t), s * t], axis=-1).reshape(-1, 3)
    w = (2 * s * w).ravel()
    return bary, w / w.sum()


def simplex_rule(dim, degree):
    """Rule on the ``dim``-simplex (2: triangle, 3: tetrahedron) exact to total ``degree``.

    Uses the symmetric rules (triangle degrees 1, 2, 4, 5; tetrahedron 1, 2) where they apply
    and collapsed Gauss above. Returns barycentric points ``(m, dim + 1)``, weights summing to 1.
    """
    degree = check_count(degree, "degree")
    table = {2: _TRIANGLE_RULES, 3: _TET_RULES}.get(dim)
    if table is None:
        raise ValueError(f"simplex rules exist for dim 2 or 3, got dim={dim}")
    for k in sorted(table):
        if k >= degree:
            pts, w = table[k]
            return np.array(pts, dtype=float), np.array(w, dtype=float)
    return collapsed_gauss(dim, math.ceil((degree + 1) / 2))


def simplex_points(vertices, bary):
    """Map barycentric ``bary (m, k)`` into each simplex ``vertices (c, k, d)`` -> ``(c, m, d)``."""
    return np.einsum("mk,ckd->cmd", bary, vertices)


def simplex_volumes(vertices):
    """Unsigned measures of simplices ``vertices (c, d + 1, d)`` -> ``(c,)``."""
    d = vertices.shape[-1]
    edges = vertices[:, 1:] - vertices[:, :1]
    return np.abs(np.linalg.det(edges)) / math.factorial(d)


def fan_rule(apex, curve, ta, tb, n, n_t=None):
    """Rule on the curved fan swept from ``apex (2,)`` to ``curve`` for ``t`` in ``[ta, tb]``.

    The map ``x(s, t) = apex + s (c(t) - apex)`` covers the fan exactly, so the rule is
    exact up to quadrature error in ``t`` (none for a straight edge; exponentially small on a
    short arc). Weights carry the orientation: positive when the fan turns counter-clockwise.
    ``n`` points run from the apex, ``n_t`` (default ``n``) along the curve. Returns
    ``points (n * n_t, 2)``, ``weights (n * n_t,)``.
    """
    s, ws = gauss_jacobi01(n, beta=1)
    t, wt = gauss_legendre(n if n_t is None else n_t, ta, tb)
    rel = curve.point(t) - apex
    dc = curve.deriv(t)
    cross = rel[:, 0] * dc[:, 1] - rel[:, 1] * dc[:, 0]
    pts = apex + s[:, None, None] * rel[None]
    return pts.reshape(-1, 2), (ws[:, None] * (wt * cross)[None]).ravel()
