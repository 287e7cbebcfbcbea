"""The constants of a formula: joint refinement on the data, snapping to simple values, rounding.

A formula read off a network carries float constants that are only as accurate as the network.
:func:`refine_constants` refits them all at once on the data; :func:`snap_constants` then tries
simple exact values (0, integers, small fractions, the same times pi) one constant at a time and
keeps each that does not worsen the fit, so the right structure ends as a short formula.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy
from scipy.optimize import least_squares

from .formula import numeric

__all__ = ["refine_constants", "round_constants", "snap_constants"]

# least-squares evaluations per free constant (+1): refinement, and each trial while snapping
_REFINE_NFEV, _SNAP_NFEV = 100, 20
# a non-finite residual counts as this large, so the solver steps back into the domain
_OUTSIDE = 1e6
# simple values: fractions with denominators up to 12 and numerators up to 1000 (up to 24 for
# multiples of pi), tried only within 20 % (or 0.2 absolute) of the fitted value
_MAX_DENOMINATOR, _MAX_NUMERATOR, _MAX_PI_NUMERATOR = 12, 1000, 24
_SNAP_REACH = 0.2
# passes over all constants: a constant fixed in the first may free another in the second
_SNAP_PASSES = 2


def _parametrize(expr: sympy.Expr):
    """``(template, params, theta)``: ``expr`` with every float replaced by a parameter symbol,
    the symbols, and the floats ``(p,)`` in the same order."""
    floats = sorted(expr.atoms(sympy.Float), key=lambda v: sympy.default_sort_key(v))
    params = sympy.symbols(f"_p0:{len(floats)}")
    template = expr.xreplace(dict(zip(floats, params)))
    return template, list(params), np.array([float(v) for v in floats])


def _rmse(evaluate, X, y, theta) -> float:
    r = evaluate(X, theta) - y
    return float(np.sqrt(np.mean(r**2))) if np.all(np.isfinite(r)) else math.inf


def _least_squares(evaluate, X, y, theta0, max_nfev: int = _REFINE_NFEV):
    """``(theta, rmse)``: Levenberg-Marquardt from ``theta0``, never worse than the start."""
    if theta0.size == 0:
        return theta0, _rmse(evaluate, X, y, theta0)

    def resid(theta):
        r = evaluate(X, theta) - y
        return np.where(np.isfinite(r), r, _OUTSIDE)

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
    evaluate = numeric(template, symbols, params)
    theta, rmse = _least_squares(evaluate, np.asarray(X, float), np.asarray(y, float), theta)
    return template.xreplace(dict(zip(params, [sympy.Float(v) for v in theta]))), rmse


def _nice_values(v: float) -> list[sympy.Expr]:
    """Simple exact values near ``v``, the shortest (then the closest) first."""
    out = [sympy.Integer(0)]
    for ref, unit, top in (
        (1.0, sympy.Integer(1), _MAX_NUMERATOR),
        (math.pi, sympy.pi, _MAX_PI_NUMERATOR),
    ):
        frac = Fraction(v / ref).limit_denominator(_MAX_DENOMINATOR)
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
    for _ in range(_SNAP_PASSES):
        template, params, theta = _parametrize(expr)
        fixed: dict = {}
        for i in np.argsort(np.abs(theta)):
            free = [j for j in range(len(params)) if j != i and params[j] not in fixed]
            for value in _nice_values(theta[i]):
                if abs(float(value) - theta[i]) > _SNAP_REACH * max(1.0, abs(theta[i])):
                    continue
                trial = template.xreplace({**fixed, params[i]: value})
                evaluate = numeric(trial, symbols, [params[j] for j in free])
                th, r = _least_squares(evaluate, X, y, theta[free], max_nfev=_SNAP_NFEV)
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
