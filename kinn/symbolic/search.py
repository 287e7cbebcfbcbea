"""Formula search by separability on a smooth model of the data (the trained network).

A trained network can be evaluated anywhere in its domain, so it answers questions the raw data
cannot: is ``T(f)`` additively separable, ``T(f)(x_A, x_B) = g(x_A) + h(x_B)``, or separable as a
product around a constant, ``T(f) = k + g(x_A) h(x_B)``, for some simple outer transform ``T``
(identity, log, square, reciprocal, ...)? Both are checked with mixed differences on random
quadruples of points. Separable parts are split and searched recursively; one-variable parts
are edge fits from :mod:`kinn.symbolic.fit`. The constants of the assembled formula are then
refined and snapped on the data by :mod:`kinn.symbolic.constants`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from .fit import SelectionRule, fit_edge
from .formula import count_ops, numeric
from .library import Library

__all__ = ["separable_search"]

Model = Callable[[np.ndarray], np.ndarray]

# The search's constants. Those marked "hand-set" were chosen while the search was developed
# against the ten equations of benchmarks.symbolic (not its --extra ones); the others follow
# from what they measure.

# outer transforms a one-variable part is fitted through (hand-set): powers and reciprocals of
# a candidate are mostly candidates already; log adds what the library lacks (exp of a
# candidate, free power laws)
_LEAF_TRANSFORMS = ("id", "log")
# alternatives a node hands up, plus its most accurate one; a parent combines them all
# (hand-set: the product of two nodes' lists is refitted, so this bounds the cost)
_KEEP = 6
# formulas the whole search hands to the data, where constants are refitted and compared
# (hand-set, as _KEEP)
_ROOT_KEEP = 24
# a formula's rank is log10(err^2) + _OPS_WEIGHT * ops: a decade of squared error is worth ten
# operations (hand-set)
_OPS_WEIGHT = 0.1
# a test or fit passes at up to three times the error expected of the model (three standard
# errors), and errors below a third of it are noise
_ACCEPT = 3.0
# a test passed at a tenth of the expected error is exact: no other option need be built
_EXACT = 0.1
# the relative accuracy asked of a part: never below float64 rounding of a fitted constant, and
# never so loose (30 %) that any smooth function passes
_TOL_MIN, _TOL_MAX = 1e-6, 0.3
# values whose spread is this far below their size are constant (float64 rounding)
_FLAT = 1e-12
# options built per node, best ranked first, and how many working formulas of several
# variables end the building (hand-set: building is where the time goes)
_BUILD = 8
_ENOUGH = 3
# samples of a one-variable part for its edge fit: the edge fitter subsamples to 200 points
# for refinement, so this is twice that
_LEAF_POINTS = 400
# rank penalties, in decades of error, of the less likely structures (hand-set): a product
# over a sum, a product around a constant over one around zero, a scale-invariant pair
_PRODUCT_COST = 0.1
_SHIFT_COST = 0.2
_SCALING_COST = 0.3
# the scale-invariance test means something only where moving either input alone changes the
# model ten times more than the test's error
_DEPENDS = 10.0
# the range of a reduced variable u = x_i x_j^-power: its ends are reached only at corners of
# the box, so the outer 2 % on each side are left out
_U_RANGE = (0.02, 0.98)


@dataclass(frozen=True)
class _Transform:
    name: str
    complexity: int
    forward: Callable[[np.ndarray], np.ndarray]  # applied to sign * f
    inverse: Callable[[sympy.Expr], sympy.Expr]
    positive: bool  # forward needs sign * f > 0
    slope: Callable[[np.ndarray], np.ndarray]  # |forward'|, carries the model's error along


_TRANSFORMS = (
    _Transform("id", 0, lambda t: t, lambda s: s, False, np.ones_like),
    _Transform("log", 1, np.log, sympy.exp, True, lambda t: 1 / t),
    _Transform("square", 1, np.square, sympy.sqrt, True, lambda t: 2 * t),
    _Transform("inverse", 1, np.reciprocal, lambda s: 1 / s, True, lambda t: t**-2.0),
    _Transform("sqrt", 1, np.sqrt, lambda s: s**2, True, lambda t: 0.5 / np.sqrt(t)),
    _Transform(
        "inverse square",
        2,
        lambda t: t**-2.0,
        lambda s: 1 / sympy.sqrt(s),
        True,
        lambda t: 2 * t**-3.0,
    ),  # fmt: skip
)


@dataclass(frozen=True)
class _Box:
    """A node's domain: bounds ``lo, hi: (k,)`` and the symbol of each input."""

    lo: np.ndarray
    hi: np.ndarray
    syms: list

    @property
    def k(self) -> int:
        return len(self.syms)

    def part(self, idx: list[int]) -> _Box:
        return _Box(self.lo[idx], self.hi[idx], [self.syms[i] for i in idx])


@dataclass(frozen=True)
class _View:
    """The model seen through an outer transform, ``g = T(sign * f)``, and the absolute error
    ``noise`` of ``g`` (the model's error carried through ``T``)."""

    g: Model
    transform: _Transform
    sign: int
    noise: float

    def undo(self, expr: sympy.Expr) -> sympy.Expr:
        """The formula of ``f`` from one of ``g``."""
        return self.sign * self.transform.inverse(expr)


@dataclass(frozen=True)
class _Split:
    """Inputs ``A | B`` of a separable node, the point ``anchor: (k,)`` where one part is held
    while the other is searched, and ``base``, the value the parts are measured from there."""

    A: list[int]
    B: list[int]
    anchor: np.ndarray
    base: float

    def _point(self, x: np.ndarray, idx: list[int]) -> np.ndarray:
        full = np.empty((x.shape[0], self.anchor.size))
        full[:] = self.anchor
        full[:, idx] = x
        return full

    def vary_a(self, g: Model) -> Model:
        """``x_A: (M, |A|) -> g(x_A, anchor_B)``."""
        return lambda xa: g(self._point(xa, self.A))

    def vary_b(self, g: Model) -> Model:
        """``x_B: (M, |B|) -> g(anchor_A, x_B)``."""
        return lambda xb: g(self._point(xb, self.B))


@dataclass(frozen=True)
class _Pair:
    """Inputs ``i, j`` the model depends on through ``u = x_i x_j^-power`` only, with the range
    ``[u_lo, u_hi]`` of ``u`` on the box."""

    i: int
    j: int
    power: int
    u_lo: float
    u_hi: float


def _clean(err: float, tol: float) -> float:
    """0 for a test passed at the noise level, up to ~1.5 for one passed only just."""
    return math.log10(max(err, _EXACT * tol) / (_EXACT * tol))


def _relative_tol(noise: float, spread: float) -> float:
    return min(max(noise / spread, _TOL_MIN), _TOL_MAX)


def _sign(values: np.ndarray) -> int:
    if np.all(values > 0):
        return 1
    if np.all(values < 0):
        return -1
    return 0


def _partitions(k: int) -> Iterator[tuple[list[int], list[int]]]:
    """Every split of ``range(k)`` into two non-empty parts, each once."""
    for r in range(1, k // 2 + 1):
        for part in itertools.combinations(range(k), r):
            if 2 * r == k and 0 not in part:
                continue
            yield list(part), [i for i in range(k) if i not in part]


class _Search:
    def __init__(self, library: Library, rule: SelectionRule, seed: int, n: int):
        self.library, self.rule, self.n = library, rule, n
        self.rng = np.random.default_rng(seed)

    def sample(self, box: _Box, m: int | None = None) -> np.ndarray:
        """``m`` (default ``n``) uniform points ``(m, k)`` of the box."""
        return box.lo + (box.hi - box.lo) * self.rng.random((m or self.n, box.lo.size))

    def node(
        self,
        f: Model,
        box: _Box,
        depth: int,
        noise: float,
        leaf_all: bool = False,
        keep: int = _KEEP,
    ) -> list[sympy.Expr]:
        """Formulas for ``f`` on ``box``, best first (the ``keep`` shortest and the most
        accurate; an empty list when none is found). ``noise`` is the absolute error of ``f``:
        children inherit it (scaled through transforms), so a small part of the model is not
        asked for more relative accuracy than the model has. ``leaf_all``: a one-variable
        ``f`` is also fitted through every transform (for a variable that is a ratio or
        product of inputs, whose powers the library lacks), and all its fits go up."""
        probe = self.sample(box)
        values = f(probe)
        scale = float(np.std(values))
        if not np.all(np.isfinite(values)):
            return []
        if scale <= max(noise, _FLAT * (1.0 + float(np.abs(values).mean()))):
            return [sympy.Float(float(values.mean()))]
        options = []
        for view, spread in _views(f, probe, values, noise):
            if box.k == 1:
                if view.transform.name in _LEAF_TRANSFORMS or leaf_all:
                    options.extend(self._leaf(view, box, view.noise / spread))
            elif depth > 0:
                options.extend(self._split(view, box, spread))
        options.sort(key=lambda o: o[0])
        found = self._build(options, f, box, depth, scale, _relative_tol(noise, scale), leaf_all)
        if leaf_all and box.k == 1:
            keep = len(found)  # the model cannot rank functions the library lacks: all go up
        return _best(found, keep)

    def _build(self, options, f, box, depth, scale, tol, leaf_all) -> list[tuple]:
        """Build the best-ranked options; ``(rank, ops, err, expr)`` of every formula that
        agrees with ``f`` to within its accuracy."""
        found = []
        for _, build in options[:_BUILD]:
            exact = False
            for expr in build(depth):
                err = self._error(expr, f, box, scale)
                if err <= _ACCEPT * tol:
                    ops = count_ops(expr)
                    rank = 2 * math.log10(max(err, tol)) + _OPS_WEIGHT * ops
                    found.append((rank, ops, err, expr))
                    exact = exact or err <= _EXACT * tol
            # one-variable options are fitted already: all of them are compared
            if (exact and not leaf_all) or (len(found) >= _ENOUGH and box.k > 1):
                break
        return found

    def _error(self, expr, f, box: _Box, scale) -> float:
        """RMS difference of ``expr`` and ``f`` on fresh points, relative to ``scale``."""
        x = self.sample(box)
        try:
            pred = numeric(expr, box.syms)(x)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return math.inf
        with np.errstate(all="ignore"):
            err = np.sqrt(np.mean((pred - f(x)) ** 2)) / scale
        return float(err) if np.isfinite(err) else math.inf

    def _cost(self, view: _View) -> float:
        return self.rule.weight * view.transform.complexity

    def _leaf(self, view: _View, box: _Box, tol: float):
        x = np.linspace(box.lo[0], box.hi[0], _LEAF_POINTS)
        values = view.g(x[:, None])
        if not np.all(np.isfinite(values)):
            return []
        fit = fit_edge(x, values, self.library, self.rule).chosen
        if fit.r2 < 1.0 - (_ACCEPT * tol) ** 2:
            return []
        score = self.rule.score(fit, floor=(tol / _ACCEPT) ** 2) + self._cost(view)
        expr = view.undo(fit.sympy(box.syms[0]))
        return [(score, lambda depth: [expr])]

    def _split(self, view: _View, box: _Box, spread_g: float):
        """Options from sums and products over every partition of the inputs, and from
        scale-invariant pairs."""
        g = view.g
        p, q = (self.sample(box) for _ in range(2))
        tol = _relative_tol(view.noise, spread_g)
        cost = self._cost(view)
        options = []
        for A, B in _partitions(box.k):
            pq = p.copy()
            pq[:, B] = q[:, B]
            qp = q.copy()
            qp[:, B] = p[:, B]
            t1, t4, t2, t3 = g(p), g(q), g(pq), g(qp)
            spread = float(np.std(np.concatenate([t1, t4])))
            m = t1 + t4 - t2 - t3
            add = np.sqrt(np.mean(m**2)) / spread
            prod = t1 * t4 - t2 * t3
            den = float(m @ m)
            shifts = [0.0] if den <= 0 else [0.0, float(m @ prod) / den]
            # rank by transform cost and by how cleanly the test passed
            if add <= _ACCEPT * tol:
                center = 0.5 * (box.lo + box.hi)
                split = _Split(A, B, center, float(g(center[None])[0]))
                options.append((cost + _clean(add, tol), self._additive(view, box, split)))
            for kind, d in enumerate(shifts):
                # errors in t of relative size tol move e by about |t - d| * tol * spread
                e = (t1 - d) * (t4 - d) - (t2 - d) * (t3 - d)
                ref = np.sqrt(np.mean((t1 - d) ** 2)) * spread
                err = float(np.sqrt(np.mean(e**2)) / max(ref, 1e-300))
                if err <= _ACCEPT * tol:
                    split = _product_anchor(box, A, B, p, t1 - d)
                    rank = cost + _PRODUCT_COST + _SHIFT_COST * kind + _clean(err, tol)
                    options.append((rank, self._product(view, box, split, d)))
        options.extend(self._scalings(view, box, tol))
        return options

    def _scalings(self, view: _View, box: _Box, tol: float):
        """Dependence on two positive inputs through ``x_i / x_j`` (``power`` 1) or
        ``x_i * x_j`` (``power`` -1) only: ``g`` is unchanged when ``x_i -> lam x_i``,
        ``x_j -> lam^power x_j``, the scale invariance of dimensional analysis. The pair is
        then replaced by one variable ``u = x_i x_j^-power`` and the rest searched on."""
        g, lo, hi = view.g, box.lo, box.hi
        p = self.sample(box)
        t = g(p)
        spread = float(np.std(t))
        if not spread > 0:
            return []
        cost = self._cost(view)
        options = []
        for i, j in itertools.combinations(range(box.k), 2):
            if lo[i] <= 0 or lo[j] <= 0:
                continue
            for power in (1, -1):
                # the largest lam range that keeps both moved inputs in the box
                if power == 1:
                    a = np.maximum(lo[i] / p[:, i], lo[j] / p[:, j])
                    b = np.minimum(hi[i] / p[:, i], hi[j] / p[:, j])
                else:
                    a = np.maximum(lo[i] / p[:, i], p[:, j] / hi[j])
                    b = np.minimum(hi[i] / p[:, i], p[:, j] / lo[j])
                lam = a * (b / a) ** self.rng.random(len(p))
                moved, only_i, only_j = p.copy(), p.copy(), p.copy()
                moved[:, i] *= lam
                moved[:, j] *= lam**power
                only_i[:, i] = moved[:, i]
                only_j[:, j] = moved[:, j]
                err = float(np.sqrt(np.mean((g(moved) - t) ** 2)) / spread)
                dep_i = float(np.sqrt(np.mean((g(only_i) - t) ** 2)) / spread)
                dep_j = float(np.sqrt(np.mean((g(only_j) - t) ** 2)) / spread)
                if err <= _ACCEPT * tol and min(dep_i, dep_j) > _DEPENDS * max(err, tol):
                    u_lo, u_hi = np.quantile(p[:, i] * p[:, j] ** -power, _U_RANGE)
                    pair = _Pair(i, j, power, float(u_lo), float(u_hi))
                    rank = cost + _SCALING_COST + _clean(err, tol)
                    options.append((rank, self._reduce(view, box, pair)))
        return options

    def _reduce(self, view: _View, box: _Box, pair: _Pair):
        i, j, power, lo, hi = pair.i, pair.j, pair.power, box.lo, box.hi
        keep = [m for m in range(box.k) if m != j]
        u_sym = sympy.Dummy("u", positive=True)
        col = keep.index(i)
        lo2, hi2 = lo[keep].copy(), hi[keep].copy()
        lo2[col], hi2[col] = pair.u_lo, pair.u_hi
        reduced_box = _Box(lo2, hi2, [u_sym if m == i else box.syms[m] for m in keep])

        def reduced(z):
            uz = z[:, col]
            if power == 1:  # x_i = u x_j
                a, b = np.maximum(lo[j], lo[i] / uz), np.minimum(hi[j], hi[i] / uz)
            else:  # x_i = u / x_j
                a, b = np.maximum(lo[j], uz / hi[i]), np.minimum(hi[j], uz / lo[i])
            xj = np.sqrt(a * np.maximum(b, a))
            x = np.empty((len(z), box.k))
            x[:, keep] = z
            x[:, j] = xj
            x[:, i] = uz * xj**power
            return view.g(x)

        def build(depth):
            inner = self.node(reduced, reduced_box, depth - 1, view.noise, leaf_all=True)
            ratio = box.syms[i] * box.syms[j] ** -power
            return [view.undo(e.xreplace({u_sym: ratio})) for e in inner]

        return build

    def _additive(self, view: _View, box: _Box, split: _Split):
        def build(depth):
            left = self.node(split.vary_a(view.g), box.part(split.A), depth - 1, view.noise)
            if not left:
                return []
            vary_b = split.vary_b(view.g)
            right = self.node(
                lambda xb: vary_b(xb) - split.base, box.part(split.B), depth - 1, view.noise
            )
            if not right:
                return []
            return [view.undo(a + b) for a in left for b in right]

        return build

    def _product(self, view: _View, box: _Box, split: _Split, d: float):
        def build(depth):
            vary_a, vary_b = split.vary_a(view.g), split.vary_b(view.g)
            left = self.node(lambda xa: vary_a(xa) - d, box.part(split.A), depth - 1, view.noise)
            if not left:
                return []
            right = self.node(
                lambda xb: (vary_b(xb) - d) / split.base,
                box.part(split.B),
                depth - 1,
                view.noise / abs(split.base),
            )
            if not right:
                return []
            return [view.undo(sympy.Float(d) + a * b) for a in left for b in right]

        return build


def _views(f: Model, probe: np.ndarray, values: np.ndarray, noise: float):
    """``(view, spread)`` for every outer transform that applies to ``f`` (``values = f(probe)``)
    and leaves its values a spread above their error."""
    sign = _sign(values)
    for tr in _TRANSFORMS:
        if tr.positive and sign == 0:
            continue
        s = sign if tr.positive else 1

        def g(x, tr=tr, s=s):
            with np.errstate(all="ignore"):
                return tr.forward(s * f(x))

        with np.errstate(all="ignore"):
            tv = g(probe)
            noise_g = noise * float(np.median(np.abs(tr.slope(s * values))))
        spread = float(np.std(tv)) if np.all(np.isfinite(tv)) else 0.0
        if spread > _FLAT * (1 + np.abs(tv).mean()) and noise_g < spread:
            yield _View(g, tr, s, noise_g), spread


def _product_anchor(box: _Box, A, B, p: np.ndarray, shifted: np.ndarray) -> _Split:
    """The probe point where neither factor is small, as central as possible (the model is
    most accurate away from the corners of its box); ``shifted = g(p) - d``."""
    size = np.abs(shifted)
    dist = np.abs((p - 0.5 * (box.lo + box.hi)) / (box.hi - box.lo)).max(1)
    j = int(np.argmin(np.where(size >= 0.5 * size.max(), dist, np.inf)))
    return _Split(A, B, p[j].copy(), float(shifted[j]))


def _best(found: list[tuple], keep: int) -> list[sympy.Expr]:
    """Formulas that agree with the model equally well are told apart on the data later: the
    ``keep`` best ranked (shortest) and the most accurate one go up."""
    found = sorted(found, key=lambda t: t[:2])
    kept = found[:keep]
    best = min(found, key=lambda t: t[2], default=None)
    if best is not None and all(best is not t for t in kept):
        kept.append(best)
    return [t[3] for t in kept]


def separable_search(
    model: Model,
    lo,
    hi,
    symbols: Sequence[sympy.Symbol],
    library: Library,
    rule: SelectionRule | None = None,
    tol: float = 1e-2,
    depth: int = 4,
    seed: int = 0,
    n_probe: int = 256,
    alternatives: bool = False,
) -> sympy.Expr | list[sympy.Expr] | None:
    """Search a formula for ``model`` on the box ``[lo, hi]`` by recursive separation.

    Args:
        model: ``x: (M, d) -> (M,)`` numpy callable, smooth on the box (e.g. a trained network).
        lo, hi: ``(d,)`` box bounds; symbols: one sympy symbol per input column.
        library, rule: edge candidates and their selection rule for one-variable parts.
        tol: relative accuracy expected of ``model``; separability tests and fits accept errors
            up to about this size (relative to the spread of the values).
        depth: maximal number of nested splits. seed: random probes (deterministic per seed).
        n_probe: points per probe of the model.
        alternatives: return every formula that agrees with ``model`` (up to 24, best first),
            so that formulas the model cannot tell apart can be compared on the data.

    Returns:
        A sympy expression with float constants that agrees with ``model`` to about ``tol``, or
        None when no separable structure explains it (with ``alternatives``: a list, maybe
        empty).
    """
    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    if lo.shape != hi.shape or lo.size != len(symbols) or not np.all(hi > lo):
        raise ValueError(
            f"lo, hi must be (d,) with hi > lo and d = len(symbols) = {len(symbols)}, "
            f"got lo={lo}, hi={hi}"
        )
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    search = _Search(library, rule or SelectionRule(), seed, n_probe)
    box = _Box(lo, hi, list(symbols))

    def f(x):
        return np.asarray(model(x), dtype=np.float64).reshape(-1)

    noise = tol * float(np.std(f(search.sample(box))))
    found = search.node(f, box, depth, noise, keep=_ROOT_KEEP)
    if alternatives:
        return found
    return found[0] if found else None
