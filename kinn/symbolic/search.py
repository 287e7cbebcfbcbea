"""Formula search by separability on a smooth model of the data (the trained network).

A trained network can be evaluated anywhere in its domain, so it answers questions the raw data
cannot: is ``T(f)`` additively separable, ``T(f)(x_A, x_B) = g(x_A) + h(x_B)``, or separable as a
product around a constant, ``T(f) = k + g(x_A) h(x_B)``, for some simple outer transform ``T``
(identity, log, square, reciprocal, ...)? Both are checked with mixed differences on random
quadruples of points. Separable parts are split and searched recursively; one-variable parts
are edge fits from :mod:`kinn.symbolic.fit`. The constants of the assembled formula are then
refined jointly on the data and snapped to simple values (integers, fractions, multiples of pi)
wherever that does not make the fit worse.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy
from scipy.optimize import least_squares

from .fit import SelectionRule, fit_edge
from .library import Library

__all__ = ["count_ops", "refine_constants", "round_constants", "separable_search", "snap_constants"]

Model = Callable[[np.ndarray], np.ndarray]

_LEAF_TRANSFORMS = ("id", "log")

# alternatives a node hands up (plus its most accurate one; a parent combines them all)
_KEEP = 6

# formulas the whole search hands to the data, where constants are refitted and compared
_ROOT_KEEP = 24

# one decade of error is worth ten operations when formulas are compared
_OPS_WEIGHT = 0.1


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


def _clean(err: float, tol: float) -> float:
    """0 for a test passed at the noise level, up to ~1.5 for one passed only just."""
    return math.log10(max(err, 0.1 * tol) / (0.1 * tol))


def _sign(values: np.ndarray) -> int:
    if np.all(values > 0):
        return 1
    if np.all(values < 0):
        return -1
    return 0


class _Search:
    def __init__(self, library: Library, rule: SelectionRule, seed: int, n: int):
        self.library, self.rule, self.n = library, rule, n
        self.rng = np.random.default_rng(seed)

    def box(self, lo, hi, m):
        return lo + (hi - lo) * self.rng.random((m, lo.size))

    def node(
        self,
        f: Model,
        lo,
        hi,
        syms,
        depth: int,
        noise: float,
        leaf_all: bool = False,
        keep: int = _KEEP,
    ) -> list[sympy.Expr]:
        """Formulas for ``f`` on the box [lo, hi] in ``syms``, best first (the :data:`_KEEP`
        shortest and the most accurate; an empty list when none is found). ``noise`` is the
        absolute error of ``f``: children inherit it (scaled through transforms), so a small
        part of the model is not asked for more relative accuracy than the model has.
        ``leaf_all``: a one-variable ``f`` is also fitted through every transform (for a
        variable that is a ratio or product of inputs, whose powers the library lacks)."""
        probe = self.box(lo, hi, self.n)
        values = f(probe)
        scale = float(np.std(values))
        if not np.all(np.isfinite(values)):
            return []
        if scale <= max(noise, 1e-12 * (1.0 + float(np.abs(values).mean()))):
            return [sympy.Float(float(values.mean()))]
        tol = min(max(noise / scale, 1e-6), 0.3)
        sign = _sign(values)
        options = []
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
            if not spread > 1e-12 * (1 + np.abs(tv).mean()) or not noise_g < spread:
                continue
            if len(syms) == 1:
                # powers and reciprocals of a candidate are mostly candidates already; log
                # adds what the library lacks (exp of a candidate, free power laws)
                if tr.name in _LEAF_TRANSFORMS or leaf_all:
                    options.extend(self._leaf(g, lo, hi, syms[0], tr, s, noise_g / spread))
            elif depth > 0:
                options.extend(self._split(g, lo, hi, syms, tr, s, noise_g, spread))
        options.sort(key=lambda o: o[0])
        # build a few working options; among those that agree with the model to within its
        # accuracy, the shortest formula wins
        found = []
        for _, build in options[:8]:
            exact = False
            for expr in build(depth):
                err = self._error(expr, f, lo, hi, syms, scale)
                if err <= 3 * tol:
                    ops = count_ops(expr)
                    key = 2 * math.log10(max(err, tol)) + _OPS_WEIGHT * ops
                    found.append((key, ops, err, expr))
                    exact = exact or err <= 0.1 * tol
            # one-variable options are fitted already: all of them are compared
            if (exact and not leaf_all) or (len(found) >= 3 and len(syms) > 1):
                break
        found.sort(key=lambda t: t[:2])
        # formulas that agree with the model equally well are told apart on the data later:
        # the shortest ones and the most accurate one go up
        if leaf_all and len(syms) == 1:
            keep = len(found)  # the model cannot rank functions the library lacks: all go up
        keep = found[:keep]
        best = min(found, key=lambda t: t[2], default=None)
        if best is not None and all(best is not t for t in keep):
            keep.append(best)
        return [t[3] for t in keep]

    def _error(self, expr, f, lo, hi, syms, scale) -> float:
        x = self.box(lo, hi, self.n)
        try:
            with np.errstate(all="ignore"):
                pred = sympy.lambdify(syms, expr, "numpy")(*x.T)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return math.inf
        with np.errstate(all="ignore"):
            err = np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - f(x)) ** 2)) / scale
        return float(err) if np.isfinite(err) else math.inf

    def _leaf(self, g, lo, hi, sym, tr, s, tol):
        x = np.linspace(lo[0], hi[0], 400)
        values = g(x[:, None])
        if not np.all(np.isfinite(values)):
            return []
        fit = fit_edge(x, values, self.library, self.rule).chosen
        if fit.r2 < 1.0 - (3 * tol) ** 2:
            return []
        score = self.rule.score(fit, floor=(tol / 3) ** 2) + self.rule.weight * tr.complexity
        expr = s * tr.inverse(fit.sympy(sym))
        return [(score, lambda depth: [expr])]

    def _split(self, g, lo, hi, syms, tr, s, noise, spread_g):
        k = len(syms)
        p, q = (self.box(lo, hi, self.n) for _ in range(2))
        tol = min(max(noise / spread_g, 1e-6), 0.3)
        cost = self.rule.weight * tr.complexity
        options = []
        for r in range(1, k // 2 + 1):
            for part in itertools.combinations(range(k), r):
                if 2 * r == k and 0 not in part:
                    continue
                A = list(part)
                B = [i for i in range(k) if i not in part]
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
                if add <= 3 * tol:
                    build = self._additive(g, lo, hi, syms, A, B, tr, s, noise)
                    options.append((cost + _clean(add, tol), build))
                for kind, d in enumerate(shifts):
                    # errors in t of relative size tol move e by about |t - d| * tol * spread
                    e = (t1 - d) * (t4 - d) - (t2 - d) * (t3 - d)
                    ref = np.sqrt(np.mean((t1 - d) ** 2)) * spread
                    err = float(np.sqrt(np.mean(e**2)) / max(ref, 1e-300))
                    if err <= 3 * tol:
                        build = self._product(g, lo, hi, syms, A, B, d, tr, s, t1 - d, p, noise)
                        options.append((cost + 0.1 + 0.2 * kind + _clean(err, tol), build))
        options.extend(self._scalings(g, lo, hi, syms, tr, s, noise, tol))
        return options

    def _scalings(self, g, lo, hi, syms, tr, s, noise, tol):
        """Dependence on two positive inputs through ``x_i / x_j`` (``power`` 1) or
        ``x_i * x_j`` (``power`` -1) only: ``g`` is unchanged when ``x_i -> lam x_i``,
        ``x_j -> lam^power x_j``, the scale invariance of dimensional analysis. The pair is
        then replaced by one variable ``u = x_i x_j^-power`` and the rest searched on."""
        k = len(syms)
        p = self.box(lo, hi, self.n)
        t = g(p)
        spread = float(np.std(t))
        if not spread > 0:
            return []
        cost = self.rule.weight * tr.complexity
        options = []
        for i, j in itertools.combinations(range(k), 2):
            if lo[i] <= 0 or lo[j] <= 0:
                continue
            for power in (1, -1):
                if power == 1:
                    a, b = (
                        np.maximum(lo[i] / p[:, i], lo[j] / p[:, j]),
                        np.minimum(hi[i] / p[:, i], hi[j] / p[:, j]),
                    )
                else:
                    a, b = (
                        np.maximum(lo[i] / p[:, i], p[:, j] / hi[j]),
                        np.minimum(hi[i] / p[:, i], p[:, j] / lo[j]),
                    )
                lam = a * (b / a) ** self.rng.random(len(p))
                moved, only_i, only_j = p.copy(), p.copy(), p.copy()
                moved[:, i] *= lam
                moved[:, j] *= lam**power
                only_i[:, i] = moved[:, i]
                only_j[:, j] = moved[:, j]
                err = float(np.sqrt(np.mean((g(moved) - t) ** 2)) / spread)
                dep_i = float(np.sqrt(np.mean((g(only_i) - t) ** 2)) / spread)
                dep_j = float(np.sqrt(np.mean((g(only_j) - t) ** 2)) / spread)
                # the test means something only where both inputs matter on their own
                if err <= 3 * tol and min(dep_i, dep_j) > 10 * max(err, tol):
                    build = self._reduce(g, lo, hi, syms, i, j, power, p, tr, s, noise)
                    options.append((cost + 0.3 + _clean(err, tol), build))
        return options

    def _reduce(self, g, lo, hi, syms, i, j, power, p, tr, s, noise):
        k = len(syms)
        keep = [m for m in range(k) if m != j]
        u_sym = sympy.Dummy("u", positive=True)
        u = p[:, i] * p[:, j] ** -power
        # the ends of the u range are reached only at corners of the box
        lo2, hi2 = lo[keep].copy(), hi[keep].copy()
        col = keep.index(i)
        lo2[col], hi2[col] = np.quantile(u, [0.02, 0.98])
        syms2 = [u_sym if m == i else syms[m] for m in keep]

        def reduced(z):
            uz = z[:, col]
            if power == 1:  # x_i = u x_j
                a, b = np.maximum(lo[j], lo[i] / uz), np.minimum(hi[j], hi[i] / uz)
            else:  # x_i = u / x_j
                a, b = np.maximum(lo[j], uz / hi[i]), np.minimum(hi[j], uz / lo[i])
            xj = np.sqrt(a * np.maximum(b, a))
            x = np.empty((len(z), k))
            x[:, keep] = z
            x[:, j] = xj
            x[:, i] = uz * xj**power
            return g(x)

        def build(depth):
            inner = self.node(reduced, lo2, hi2, syms2, depth - 1, noise, leaf_all=True)
            ratio = syms[i] * syms[j] ** -power
            return [s * tr.inverse(e.xreplace({u_sym: ratio})) for e in inner]

        return build

    @staticmethod
    def _compose(x_a, A, x_b, B, k):
        x = np.empty((x_a.shape[0], k))
        x[:, A] = x_a
        x[:, B] = x_b
        return x

    def _additive(self, g, lo, hi, syms, A, B, tr, s, noise):
        k = len(syms)
        a0, b0 = 0.5 * (lo[A] + hi[A]), 0.5 * (lo[B] + hi[B])
        base = float(g(self._compose(a0[None], A, b0[None], B, k))[0])

        def build(depth):
            left = self.node(
                lambda xa: g(self._compose(xa, A, np.broadcast_to(b0, (len(xa), len(B))), B, k)),
                lo[A], hi[A], [syms[i] for i in A], depth - 1, noise,
            )  # fmt: skip
            if not left:
                return []
            right = self.node(
                lambda xb: g(self._compose(np.broadcast_to(a0, (len(xb), len(A))), A, xb, B, k))
                - base,
                lo[B], hi[B], [syms[i] for i in B], depth - 1, noise,
            )  # fmt: skip
            if not right:
                return []
            return [s * tr.inverse(a + b) for a in left for b in right]

        return build

    def _product(self, g, lo, hi, syms, A, B, d, tr, s, shifted, p, noise):
        k = len(syms)
        # anchor where neither factor is small, as central as possible (the model is most
        # accurate away from the corners of its box)
        size = np.abs(shifted)
        dist = np.abs((p - 0.5 * (lo + hi)) / (hi - lo)).max(1)
        j = int(np.argmin(np.where(size >= 0.5 * size.max(), dist, np.inf)))
        a0, b0 = p[j, A], p[j, B]
        base = float(shifted[j])

        def build(depth):
            left = self.node(
                lambda xa: g(self._compose(xa, A, np.broadcast_to(b0, (len(xa), len(B))), B, k))
                - d,
                lo[A], hi[A], [syms[i] for i in A], depth - 1, noise,
            )  # fmt: skip
            if not left:
                return []
            right = self.node(
                lambda xb: (g(self._compose(np.broadcast_to(a0, (len(xb), len(A))), A, xb, B, k))
                            - d) / base,
                lo[B], hi[B], [syms[i] for i in B], depth - 1, noise / abs(base),
            )  # fmt: skip
            if not right:
                return []
            return [s * tr.inverse(sympy.Float(d) + a * b) for a in left for b in right]

        return build


def separable_search(
    model: Model,
    lo,
    hi,
    symbols: list[sympy.Symbol],
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

    def f(x):
        return np.asarray(model(x), dtype=np.float64).reshape(-1)

    noise = tol * float(np.std(f(search.box(lo, hi, n_probe))))
    found = search.node(f, lo, hi, list(symbols), depth, noise, keep=_ROOT_KEEP)
    if alternatives:
        return found
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# constants: joint refinement on the data, then snapping to simple values


def _parametrize(expr: sympy.Expr):
    floats = sorted(expr.atoms(sympy.Float), key=lambda v: sympy.default_sort_key(v))
    params = sympy.symbols(f"_p0:{len(floats)}")
    template = expr.xreplace(dict(zip(floats, params)))
    return template, list(params), np.array([float(v) for v in floats])


def _compile(template, symbols, params):
    fn = sympy.lambdify(list(symbols) + list(params), template, "numpy")

    def evaluate(X, theta):
        with np.errstate(all="ignore"):
            out = fn(*X.T, *theta)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), (X.shape[0],))

    return evaluate


def _rmse(evaluate, X, y, theta) -> float:
    r = evaluate(X, theta) - y
    return float(np.sqrt(np.mean(r**2))) if np.all(np.isfinite(r)) else math.inf


def _fit(evaluate, X, y, theta0, max_nfev=100):
    if theta0.size == 0:
        return theta0, _rmse(evaluate, X, y, theta0)

    def resid(theta):
        r = evaluate(X, theta) - y
        return np.where(np.isfinite(r), r, 1e6)

    try:
        sol = least_squares(resid, theta0, method="lm", max_nfev=max_nfev * (theta0.size + 1))
        theta = sol.x
    except (ValueError, np.linalg.LinAlgError):
        theta = theta0
    rmse, rmse0 = _rmse(evaluate, X, y, theta), _rmse(evaluate, X, y, theta0)
    return (theta, rmse) if rmse <= rmse0 else (theta0, rmse0)


def refine_constants(expr: sympy.Expr, symbols, X, y) -> tuple[sympy.Expr, float]:
    """Refit every float constant of ``expr`` jointly by least squares on ``X: (N, d)``,
    ``y: (N,)``. Returns the refined expression and its RMSE."""
    template, params, theta = _parametrize(expr)
    evaluate = _compile(template, symbols, params)
    theta, rmse = _fit(evaluate, np.asarray(X, float), np.asarray(y, float), theta)
    return template.xreplace(dict(zip(params, [sympy.Float(v) for v in theta]))), rmse


def _nice_values(v: float) -> list[sympy.Expr]:
    out = [sympy.Integer(0)]
    for ref, unit, top in ((1.0, sympy.Integer(1), 1000), (math.pi, sympy.pi, 24)):
        frac = Fraction(v / ref).limit_denominator(12)
        if abs(frac.numerator) <= top:
            out.append(sympy.Rational(frac.numerator, frac.denominator) * unit)
    return sorted(set(out), key=lambda e: (sympy.count_ops(e), abs(float(e) - v)))


def snap_constants(
    expr: sympy.Expr, symbols, X, y, rel_tol: float = 0.05
) -> tuple[sympy.Expr, float]:
    """Replace float constants of ``expr`` by simple exact numbers (0, integers, fractions with
    denominators up to 12, the same times pi) one at a time, refitting the remaining floats, as
    long as the RMSE on ``X, y`` grows by at most a factor ``1 + rel_tol`` (plus 1e-7 of the
    spread of ``y``). Returns the simplified expression and its RMSE."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    floor = 1e-7 * float(np.std(y) + np.abs(y).mean())
    expr, rmse = refine_constants(expr, symbols, X, y)
    limit = rmse * (1 + rel_tol) + floor
    for _ in range(2):
        template, params, theta = _parametrize(expr)
        fixed: dict = {}
        for i in np.argsort(np.abs(theta)):
            free = [j for j in range(len(params)) if j != i and params[j] not in fixed]
            for value in _nice_values(theta[i]):
                if abs(float(value) - theta[i]) > 0.2 * max(1.0, abs(theta[i])):
                    continue
                trial = template.xreplace({**fixed, params[i]: value})
                evaluate = _compile(trial, symbols, [params[j] for j in free])
                th, r = _fit(evaluate, X, y, theta[free], max_nfev=20)
                if r <= limit:
                    fixed[params[i]] = value
                    theta[free] = th
                    break
        rest = {
            params[j]: sympy.Float(theta[j]) for j in range(len(params)) if params[j] not in fixed
        }
        expr = sympy.simplify(template.xreplace({**fixed, **rest}))
        expr, rmse = refine_constants(expr, symbols, X, y)
    return expr, rmse


def count_ops(expr: sympy.Expr) -> int:
    """Complexity of a formula: the number of sympy operations (floats count as one)."""
    return int(sympy.count_ops(expr)) + len(expr.atoms(sympy.Float))


def round_constants(expr: sympy.Expr, digits: int = 6) -> sympy.Expr:
    """Round every float constant of ``expr`` to ``digits`` significant digits; a float times
    pi becomes one float (snapping can leave ``0.31831*pi`` where ``1/pi`` was meant)."""
    if not (isinstance(digits, int) and digits >= 1):
        raise ValueError(f"digits must be a positive int, got {digits!r}")
    merged = {}
    for term in expr.atoms(sympy.Mul):
        floats = [a for a in term.args if isinstance(a, sympy.Float)]
        if floats and sympy.pi in term.args:
            rest = [a for a in term.args if a != sympy.pi and a not in floats]
            value = sympy.Float(float(sympy.Mul(*floats) * sympy.pi))
            merged[term] = sympy.Mul(value, *rest)
    expr = expr.xreplace(merged)
    return expr.xreplace(
        {f: sympy.Float(float(f"{float(f):.{digits}g}"), digits) for f in expr.atoms(sympy.Float)}
    )
