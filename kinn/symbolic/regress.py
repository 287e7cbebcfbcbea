"""Fit and regress: train a KAN on data, extract its formula, check the formula.

The trained network is the smooth model the formula is read from. Two readings compete: the
separability search (:mod:`kinn.symbolic.search`) and the edge-by-edge reading of the pruned
network (:func:`kinn.symbolic.auto_symbolic`). Both formulas get their constants refitted and
snapped on the training data and the one with the best validation error (ties to the simpler)
is reported, together with its agreement with the data and the network on held-out points
inside and outside the training range.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy
import torch

from kinn.nn import KAN

from .fit import SelectionRule
from .library import Library, default_library
from .network import SymbolicKAN, auto_symbolic, prune, sparsity_penalty, train_affine
from .search import count_ops, refine_constants, round_constants, separable_search, snap_constants

__all__ = ["SymbolicReport", "fit_arrays", "fit_model", "r2_score"]

# joint least squares over many constants is slow and rarely changes the ranking
_MAX_REFINE = 16
_MAX_SNAP = 20
# formulas tied on the validation data that are snapped and compared again
_MAX_TIED = 6


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination of ``y_pred`` against ``y_true`` (both ``(N,)``)."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.size == 0:
        return float("nan")
    if not np.all(np.isfinite(y_pred)):
        return -float("inf")
    sst = float(np.sum((y_true - y_true.mean()) ** 2))
    sse = float(np.sum((y_true - y_pred) ** 2))
    if sst <= 1e-300:
        return 1.0 if sse <= 1e-24 else 0.0
    return 1.0 - sse / sst


@dataclass
class SymbolicReport:
    """The extracted formula and how well it agrees with the data and the network.

    Attributes:
        formula: sympy expression of the target in ``inputs``.
        inputs: the input symbols, in column order. target: the target's name.
        scores: R^2 values: ``data_train``, ``data_inside`` / ``data_outside`` (formula vs
            held-out data inside / outside the training range), ``network_inside`` /
            ``network_outside`` (formula vs network on held-out points), ``network_data``
            (network vs held-out data inside the range).
        candidates: every formula considered, with its source, validation R^2, complexity.
        model: the trained, pruned network as a :class:`SymbolicKAN` (its edges are locked
            when the edge-by-edge reading ran), or None. model_inputs: the standardised
            training inputs the network saw.
        network_formula: the edge-by-edge formula of the network, when it was read.
        seconds: wall time of the whole extraction.
    """

    formula: sympy.Expr
    inputs: list[sympy.Symbol]
    target: str
    scores: dict[str, float]
    candidates: list[dict] = field(default_factory=list)
    model: torch.nn.Module | None = None
    network_formula: sympy.Expr | None = None
    seconds: float = 0.0
    bounds: list[tuple[float, float]] = field(default_factory=list)
    model_inputs: torch.Tensor | None = None

    @property
    def latex(self) -> str:
        return sympy.latex(self.formula)

    @property
    def complexity(self) -> int:
        return count_ops(self.formula)

    def callable(self) -> Callable[[np.ndarray], np.ndarray]:
        """``x: (N, d) -> (N,)`` numpy evaluation of the formula (via ``sympy.lambdify``)."""
        fn = sympy.lambdify(self.inputs, self.formula, "numpy")

        def evaluate(x):
            x = np.asarray(x, dtype=np.float64)
            return np.broadcast_to(np.asarray(fn(*x.T), dtype=np.float64), (x.shape[0],))

        return evaluate

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "inputs": [str(s) for s in self.inputs],
            "formula": str(self.formula),
            "latex": self.latex,
            "complexity": self.complexity,
            "scores": self.scores,
            "candidates": self.candidates,
            "bounds": self.bounds,
            "seconds": self.seconds,
        }

    def __str__(self) -> str:
        lines = [f"{self.target} = {self.formula}"]
        lines += [f"  R^2 {k}: {v:.6g}" for k, v in self.scores.items()]
        return "\n".join(lines)


def _symbols(names: Sequence[str]) -> list[sympy.Symbol]:
    return [sympy.Symbol(str(n), real=True) for n in names]


class _Standard:
    """Inputs mapped to [-1, 1] over the training box; the target to zero mean, unit spread."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.lo, self.hi = X.min(0), X.max(0)
        self.mid, self.half = 0.5 * (self.lo + self.hi), 0.5 * (self.hi - self.lo)
        self.half = np.where(self.half > 0, self.half, 1.0)
        self.ym, self.ys = float(y.mean()), float(y.std()) or 1.0

    def x(self, X) -> torch.Tensor:
        return torch.as_tensor((np.asarray(X) - self.mid) / self.half, dtype=torch.float64)

    def y(self, y) -> torch.Tensor:
        return torch.as_tensor((np.asarray(y) - self.ym) / self.ys, dtype=torch.float64)[:, None]

    def inputs(self, symbols) -> list[sympy.Expr]:
        return [(s - float(m)) / float(h) for s, m, h in zip(symbols, self.mid, self.half)]


def _train(model, x, y, steps, sparsity: float):
    """Adam with an optional sparsity penalty, then L-BFGS without it."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        if sparsity > 0:
            loss = loss + sparsity * sparsity_penalty(model, x)
        loss.backward()
        opt.step()
    lbfgs = torch.optim.LBFGS(
        model.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe"
    )

    def closure():
        lbfgs.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        return loss

    lbfgs.step(closure)


def _split(X: np.ndarray, rng: np.random.Generator, inner: float):
    """Indices (train, inside test, outside test): the training range is the central
    ``inner`` quantile box; points outside it are held out for extrapolation."""
    q = (1.0 - inner) / 2.0
    lo, hi = np.quantile(X, q, axis=0), np.quantile(X, 1.0 - q, axis=0)
    inside = np.all((X >= lo) & (X <= hi), axis=1)
    idx_in = rng.permutation(np.flatnonzero(inside))
    n_test = max(1, len(idx_in) // 5)
    return idx_in[n_test:], idx_in[:n_test], np.flatnonzero(~inside)


def fit_arrays(
    X,
    y,
    names: Sequence[str] | None = None,
    target: str = "y",
    hidden: int = 8,
    grid: int = 5,
    steps: int = 300,
    sparsity: float = 1e-3,
    prune_threshold: float = 0.03,
    library: Library | None = None,
    rule: SelectionRule | None = None,
    inner: float = 0.9,
    digits: int = 6,
    always_read_network: bool = False,
    seed: int = 0,
) -> SymbolicReport:
    """Train a KAN ``[d, hidden, 1]`` on ``X: (N, d)``, ``y: (N,)`` and extract its formula.

    Args:
        names: input names (default ``x_1 .. x_d``); target: the target's name.
        hidden, grid, steps: network width, spline intervals, optimiser steps.
        sparsity: weight of :func:`sparsity_penalty` during the Adam phase.
        prune_threshold: relative edge score below which edges are pruned.
        library, rule: candidate functions and their selection rule.
        inner: the training range is the central ``inner`` quantile box of the inputs; the
            points outside it test extrapolation (0 < inner <= 1).
        digits: significant digits kept in the formula's remaining float constants.
        always_read_network: also read the network edge by edge (``auto_symbolic``) when the
            separability search already found a near-exact formula.
        seed: seeds the split, the network initialisation and the search (reproducible).
    """
    start = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (N, d) and y (N,), got {X.shape} and {y.shape}")
    if X.shape[0] < 20:
        raise ValueError(f"need at least 20 samples, got {X.shape[0]}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    if not 0.0 < inner <= 1.0:
        raise ValueError(f"inner must lie in (0, 1], got {inner!r}")
    d = X.shape[1]
    names = list(names) if names is not None else [f"x_{i + 1}" for i in range(d)]
    if len(names) != d:
        raise ValueError(f"got {len(names)} names for {d} input columns")
    library = library or default_library()
    rule = rule or SelectionRule()
    rng = np.random.default_rng(seed)
    train, test_in, test_out = _split(X, rng, inner)
    n_val = max(1, len(train) // 6)
    val, fit_idx = train[:n_val], train[n_val:]
    std = _Standard(X[train], y[train])
    symbols = _symbols(names)

    torch.manual_seed(seed)
    kan = KAN([d, hidden, 1], grid=grid).double()
    xt, yt = std.x(X[fit_idx]), std.y(y[fit_idx])
    _train(kan, xt, yt, steps, sparsity)
    prune(kan, xt, prune_threshold)
    _train(kan, xt, yt, steps // 2, 0.0)

    def network(x_np):
        with torch.no_grad():
            out = kan(std.x(x_np))[:, 0].numpy()
        return out * std.ys + std.ym

    net_val = network(X[val])
    rel = float(np.sqrt(np.mean((net_val - y[val]) ** 2)) / (np.std(y[train]) or 1.0))
    # formulas whose validation error is below half the network's are equally good
    floor = max(0.5 * (1.0 - r2_score(y[val], net_val)), 1e-14)
    candidates: list[tuple[str, sympy.Expr]] = []

    tol = float(np.clip(3.0 * rel, 2e-3, 5e-2))
    found = separable_search(
        network, std.lo, std.hi, symbols, library, rule, tol=tol, seed=seed, alternatives=True
    )
    candidates.extend(("separable", expr) for expr in found)
    # the edge-by-edge reading of the network, in standardised coordinates mapped back
    sym = SymbolicKAN(copy.deepcopy(kan))
    net_formula = None

    def read_network():
        nonlocal sym, net_formula
        sym, _ = auto_symbolic(sym, xt, library, rule)
        train_affine(sym, xt, yt)
        net_formula = sym.formula(std.inputs(symbols))[0] * std.ys + std.ym
        return net_formula

    if not found or always_read_network:
        candidates.append(("network", read_network()))

    rows: list[dict] = []
    ranked: list[tuple] = []

    def consider(source, expr):
        try:
            if len(expr.atoms(sympy.Float)) <= _MAX_REFINE:
                expr, _ = refine_constants(expr, symbols, X[fit_idx], y[fit_idx])
            score = r2_score(y[val], _evaluate(expr, symbols, X[val]))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return
        ops = count_ops(expr)
        rows.append({"source": source, "formula": str(expr), "val_r2": score, "complexity": ops})
        ranked.append((1.0 - score, ops, len(ranked), expr))

    for source, expr in candidates:
        consider(source, expr)
    if net_formula is None and (not ranked or min(ranked)[0] > 10**0.5 * floor):
        # no near-exact separable formula: let the edge-by-edge reading compete
        consider("network", read_network())
    if ranked:
        # a formula far more accurate than the network shows the data are more accurate than
        # the network (little noise): then the network's error no longer hides differences
        floor = max(min(floor, 10.0 * min(ranked)[0]), 1e-14)
        ranked = [(round(np.log10(max(e, floor)), 1), *rest) for e, *rest in ranked]
    if not ranked:
        raise ValueError("no formula could be evaluated on the data")
    # formulas the data cannot tell apart are compared once their constants are snapped: the
    # right structure snaps to a short formula, an approximation keeps odd constants
    ranked.sort()
    tied = [r for r in ranked if r[0] == ranked[0][0]][:_MAX_TIED]
    final = []
    for _, _, index, expr in tied:
        if len(expr.atoms(sympy.Float)) <= _MAX_SNAP:
            expr, _ = snap_constants(expr, symbols, X[fit_idx], y[fit_idx])
        expr = round_constants(expr, digits)
        err = 1.0 - r2_score(y[val], _evaluate(expr, symbols, X[val]))
        key = round(np.log10(max(err, floor)), 1) if np.isfinite(err) else np.inf
        final.append((key, count_ops(expr), index, expr))
    chosen = min(final)[3]

    f_in, f_out = _evaluate(chosen, symbols, X[test_in]), _evaluate(chosen, symbols, X[test_out])
    net_in, net_out = network(X[test_in]), network(X[test_out])
    scores = {
        "data_train": r2_score(y[train], _evaluate(chosen, symbols, X[train])),
        "data_inside": r2_score(y[test_in], f_in),
        "data_outside": r2_score(y[test_out], f_out),
        "network_data": r2_score(y[test_in], net_in),
        "network_inside": r2_score(net_in, f_in),
        "network_outside": r2_score(net_out, f_out),
    }
    return SymbolicReport(
        formula=chosen,
        inputs=symbols,
        target=target,
        scores=scores,
        candidates=rows,
        model=sym,
        network_formula=net_formula,
        seconds=time.perf_counter() - start,
        bounds=[(float(a), float(b)) for a, b in zip(std.lo, std.hi)],
        model_inputs=xt,
    )


def _evaluate(expr, symbols, X) -> np.ndarray:
    if X.shape[0] == 0:
        return np.zeros(0)
    fn = sympy.lambdify(symbols, expr, "numpy")
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*X.T), dtype=np.complex128)
    out = np.where(np.abs(out.imag) > 1e-9 * (1 + np.abs(out.real)), np.nan, out.real)
    return np.broadcast_to(out, (X.shape[0],)).astype(np.float64)


def fit_model(
    model: Callable[[torch.Tensor], torch.Tensor],
    bounds: Sequence[tuple[float, float]],
    names: Sequence[str] | None = None,
    target: str = "u",
    n_points: int = 2000,
    output: int = 0,
    seed: int = 0,
    **kwargs,
) -> SymbolicReport:
    """Extract a formula for one output of a trained model (e.g. a PDE solution field).

    ``model`` maps ``x: (N, d)`` tensors to ``(N, m)``; it is sampled at ``n_points`` random
    points of the box ``bounds`` (one ``(lo, hi)`` per input) and the samples go through
    :func:`fit_arrays` (``kwargs`` are passed on).
    """
    bounds = np.asarray(bounds, dtype=np.float64)
    if bounds.ndim != 2 or bounds.shape[1] != 2 or not np.all(bounds[:, 1] > bounds[:, 0]):
        raise ValueError(f"bounds must be [(lo, hi), ...] with hi > lo, got {bounds.tolist()}")
    rng = np.random.default_rng(seed)
    X = bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * rng.random((n_points, len(bounds)))
    param = next(iter(getattr(model, "parameters", lambda: iter(()))()), None)
    dtype = param.dtype if param is not None else torch.float64
    with torch.no_grad():
        out = model(torch.as_tensor(X, dtype=dtype))
    out = out.reshape(n_points, -1)[:, output].double().numpy()
    return fit_arrays(X, out, names=names, target=target, seed=seed, inner=1.0, **kwargs)
