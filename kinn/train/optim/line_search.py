"""A strong-Wolfe line search (bracketing then zoom, Nocedal & Wright, Algorithms 3.5-3.6).

Shared by every quasi-Newton optimizer of :mod:`kinn.train.optim`. Scalars are Python
floats (float64) whatever the parameters' dtype. A trial point whose loss or slope is not
finite counts as "too far": the search shrinks towards the last good point instead of
interpolating through it, so a NaN never reaches the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Point:
    """One evaluation along the search direction: step ``t``, loss ``f``, slope ``d = g . p``
    and the flat gradient ``g`` (``None`` for the start point, whose gradient the caller has)."""

    t: float
    f: float
    d: float
    g: torch.Tensor | None = None

    @property
    def finite(self) -> bool:
        return math.isfinite(self.f) and math.isfinite(self.d)


@dataclass
class SearchResult:
    """``point`` is the accepted step (``point.t == 0``: no acceptable step was found);
    ``wolfe`` says whether it satisfies both strong-Wolfe conditions (otherwise only the
    sufficient-decrease one, when the evaluation budget ran out); ``evals`` counts calls."""

    point: Point
    wolfe: bool
    evals: int


def strong_wolfe(
    phi: Callable[[float], Point],
    start: Point,
    t: float,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evals: int = 25,
    expand: float = 10.0,
) -> SearchResult:
    """Find ``t > 0`` with ``f(t) <= f(0) + c1 t f'(0)`` and ``|f'(t)| <= c2 |f'(0)|``.

    Args:
        phi: evaluates the loss along the direction at step ``t``.
        start: the point at ``t = 0``; ``start.d`` must be negative (a descent direction).
        t: the first trial step.
        c1, c2: the sufficient-decrease and curvature constants, ``0 < c1 < c2 < 1``.
        max_evals: the most calls of ``phi``.
        expand: the largest growth factor of the step while bracketing.

    Returns:
        The accepted point; when the budget runs out, the lowest point that satisfies
        sufficient decrease, or ``start`` itself when none does.
    """
    if not start.d < 0:
        raise ValueError(f"start.d must be a negative slope (a descent direction), got {start.d!r}")
    f0, d0 = start.f, start.d
    evals = 0

    def armijo(p: Point) -> bool:
        return p.finite and p.f <= f0 + c1 * p.t * d0

    def curvature(p: Point) -> bool:
        return abs(p.d) <= -c2 * d0

    prev = start
    while evals < max_evals:
        cur = phi(t)
        evals += 1
        if not armijo(cur) or (prev is not start and cur.f >= prev.f):
            return _zoom(phi, prev, cur, armijo, curvature, evals, max_evals)
        if curvature(cur):
            return SearchResult(cur, True, evals)
        if cur.d >= 0:
            return _zoom(phi, cur, prev, armijo, curvature, evals, max_evals)
        # Still descending: extrapolate, at least a little and at most `expand` times further.
        lo, hi = cur.t + 0.01 * (cur.t - prev.t), expand * cur.t
        t = min(max(_cubic_min(prev, cur, lo, hi), lo), hi)
        prev = cur
    return SearchResult(prev, False, evals)


def _zoom(phi, lo: Point, hi: Point, armijo, curvature, evals: int, max_evals: int) -> SearchResult:
    """Shrink ``[lo, hi]``: ``lo`` satisfies sufficient decrease and is the lowest such point."""
    while evals < max_evals:
        width = abs(hi.t - lo.t)
        if width <= 1e-14 * max(abs(lo.t), abs(hi.t)):
            break  # the interval is below the resolution of t
        a, b = min(lo.t, hi.t), max(lo.t, hi.t)
        if hi.finite:
            t = _cubic_min(lo, hi, a, b)
            if not a + 0.1 * width <= t <= b - 0.1 * width:
                t = 0.5 * (a + b)  # interpolation too close to an end: bisect
        else:
            t = lo.t + 0.5 * (hi.t - lo.t)
        cur = phi(t)
        evals += 1
        if not armijo(cur) or cur.f >= lo.f:
            hi = cur
            continue
        if curvature(cur):
            return SearchResult(cur, True, evals)
        if cur.d * (hi.t - lo.t) >= 0:
            hi = lo
        lo = cur
    return SearchResult(lo, False, evals)


def _cubic_min(p: Point, q: Point, lo: float, hi: float) -> float:
    """Minimiser of the cubic through ``(t, f, d)`` of ``p`` and ``q``, clipped to
    ``[lo, hi]``; the midpoint when the cubic has no minimum there."""
    if not (p.finite and q.finite) or p.t == q.t:
        return 0.5 * (lo + hi)
    d1 = p.d + q.d - 3 * (p.f - q.f) / (p.t - q.t)
    radicand = d1 * d1 - p.d * q.d
    if radicand < 0:
        return 0.5 * (lo + hi)
    d2 = math.copysign(math.sqrt(radicand), q.t - p.t)
    denom = q.d - p.d + 2 * d2
    if denom == 0:
        return 0.5 * (lo + hi)
    t = q.t - (q.t - p.t) * (q.d + d2 - d1) / denom
    return min(max(t, lo), hi) if math.isfinite(t) else 0.5 * (lo + hi)
