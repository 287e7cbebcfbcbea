"""Formulas as numbers: one way to evaluate a sympy formula on data, one R^2, one complexity.

Every part of :mod:`kinn.symbolic` that turns a formula into values goes through
:func:`numeric`, so a formula that is undefined somewhere (a logarithm of a negative number, a
division by zero, a complex value) is treated the same everywhere: its value there is NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy

__all__ = ["count_ops", "numeric", "r2", "r2_score"]

# an imaginary part this far below the real part is rounding noise of a real value
_IMAG_TOL = 1e-9


def numeric(
    expr: sympy.Expr, symbols: Sequence[sympy.Symbol], params: Sequence[sympy.Symbol] = ()
) -> Callable[..., np.ndarray]:
    """``expr`` as a numpy function ``f(X, theta=())``.

    ``X: (N, d)`` holds one column per symbol of ``symbols`` (in that order), ``theta: (p,)``
    the values of ``params``. Returns ``(N,)`` float64, also for a constant formula; NaN where
    a value is complex (beyond rounding), non-finite where the formula is undefined.
    """
    fn = sympy.lambdify([*symbols, *params], expr, "numpy")

    def evaluate(X, theta=()) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*X.T, *theta))
        if np.iscomplexobj(out):
            real = np.abs(out.imag) <= _IMAG_TOL * (1.0 + np.abs(out.real))
            out = np.where(real, out.real, np.nan)
        return np.broadcast_to(out, (X.shape[0],)).astype(np.float64)

    return evaluate


def r2(sse: float, sst: float, ss: float) -> float:
    """``1 - sse / sst`` from the residual sum of squares ``sse``, the total sum of squares
    ``sst`` and the plain sum of squares ``ss`` of the target (its scale). A target whose
    spread is rounding noise of its size (``sst <= 1e-24 ss``) scores 1 where matched to that
    accuracy and 0 otherwise: R^2 is scale free, so is this test."""
    tiny = 1e-24 * ss
    if sst <= tiny:
        return 1.0 if sse <= tiny else 0.0
    return float(1.0 - max(sse, 0.0) / sst)


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination of ``y_pred`` against ``y_true`` (both ``(N,)``): NaN for
    no samples, ``-inf`` when a prediction is not finite."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.size == 0:
        return float("nan")
    if not np.all(np.isfinite(y_pred)):
        return -float("inf")
    sst = float(np.sum((y_true - y_true.mean()) ** 2))
    sse = float(np.sum((y_true - y_pred) ** 2))
    return r2(sse, sst, float(np.sum(y_true**2)))


def count_ops(expr: sympy.Expr) -> int:
    """Complexity of a formula: the number of sympy operations (floats count as one)."""
    return int(sympy.count_ops(expr)) + len(expr.atoms(sympy.Float))
