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

from .constants import refine_constants, round_constants, snap_constants
from .fit import SelectionRule
from .formula import count_ops, numeric, r2_score
from .library import Library, default_library
from .network import SymbolicKAN, _fit_network, auto_symbolic, prune, train_affine
from .search import separable_search

__all__ = ["SymbolicReport", "fit_arrays", "fit_model"]

# fewer samples leave too few for the validation and test splits to mean anything
_MIN_SAMPLES = 20
# formulas with more float constants than these are not refined / snapped: joint least
# squares over many constants is slow and rarely changes the ranking
_MAX_REFINE, _MAX_SNAP = 16, 20
# formulas tied on the validation data that are snapped and compared again
_MAX_TIED = 6
# shares of the data: a fifth of the inside points tests, a sixth of the rest validates
_TEST_SHARE, _VAL_SHARE = 5, 6
# the search's relative tolerance: three times the network's relative validation error (a
# three-standard-error test), kept within [0.2 %, 5 %] (hand-set on benchmarks.symbolic)
_TOL_FACTOR = 3.0
_TOL_RANGE = (2e-3, 5e-2)
# formulas whose validation error (1 - R^2) is below half the network's are equally good, and
# a formula ten times more accurate than that shows the data to be more accurate than the
# network; the floor never drops below float64 rounding of R^2
_FLOOR_SHARE = 0.5
_DATA_FLOOR = 10.0
_MIN_FLOOR = 1e-14
# errors are compared in tenths of a decade (log10(1 - R^2) rounded to one decimal)
_DECIMALS = 1
# without a separable formula within half a decade of the floor, the network is read too
_NEAR_EXACT = 10**0.5


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
        bounds: ``(lo, hi)`` of each input over the training data.
        dropped_rows: rows of a data file left out before fitting (set by
            :func:`kinn.symbolic.fit_data`): ``{"count": rows dropped, "of": rows read,
            "reason": ..., "columns": {name: rows with a missing or non-finite value there}}``.
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
    dropped_rows: dict = field(default_factory=dict)

    @property
    def latex(self) -> str:
        return sympy.latex(self.formula)

    @property
    def complexity(self) -> int:
        return count_ops(self.formula)

    def callable(self) -> Callable[[np.ndarray], np.ndarray]:
        """``x: (N, d) -> (N,)`` numpy evaluation of the formula (NaN where it is undefined)."""
        return numeric(self.formula, self.inputs)

    def as_dict(self) -> dict:
        out = {
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
        if self.dropped_rows:
            out["dropped_rows"] = self.dropped_rows
        return out

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


@dataclass(frozen=True)
class _Data:
    """The samples ``X: (N, d)``, ``y: (N,)`` and their index sets: ``fit`` (the network and
    the constants are fitted on it) and ``val`` (formulas are ranked on it) make up
    ``train``, inside the training range; ``inside`` / ``outside`` are held-out tests inside
    and outside that range."""

    X: np.ndarray
    y: np.ndarray
    fit: np.ndarray
    val: np.ndarray
    train: np.ndarray
    inside: np.ndarray
    outside: np.ndarray

    @classmethod
    def split(cls, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, inner: float):
        """The training range is the central ``inner`` quantile box of the inputs; the points
        outside it are held out for extrapolation."""
        q = (1.0 - inner) / 2.0
        lo, hi = np.quantile(X, q, axis=0), np.quantile(X, 1.0 - q, axis=0)
        is_inside = np.all((X >= lo) & (X <= hi), axis=1)
        idx_in = rng.permutation(np.flatnonzero(is_inside))
        n_test = max(1, len(idx_in) // _TEST_SHARE)
        train = idx_in[n_test:]
        n_val = max(1, len(train) // _VAL_SHARE)
        return cls(
            X, y, train[n_val:], train[:n_val], train, idx_in[:n_test], np.flatnonzero(~is_inside)
        )

    def xy(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        idx = getattr(self, name)
        return self.X[idx], self.y[idx]


@dataclass(frozen=True)
class _Training:
    """How the network is built and trained (the options of :func:`fit_arrays`)."""

    hidden: int
    grid: int
    steps: int
    sparsity: float
    prune_threshold: float
    seed: int


class _Network:
    """The trained, pruned KAN as a numpy model of the data in its own units, with its
    edge-by-edge formula once :meth:`read`."""

    def __init__(self, data: _Data, training: _Training):
        self.std = _Standard(*data.xy("train"))
        X_fit, y_fit = data.xy("fit")
        self.xt, self.yt = self.std.x(X_fit), self.std.y(y_fit)
        d = data.X.shape[1]
        with torch.random.fork_rng(devices=[]):  # the caller's torch stream stays as it was
            torch.manual_seed(training.seed)
            self.kan = KAN([d, training.hidden, 1], grid=training.grid).double()
        _fit_network(self.kan, self.xt, self.yt, training.steps, training.sparsity)
        prune(self.kan, self.xt, training.prune_threshold)
        _fit_network(self.kan, self.xt, self.yt, training.steps // 2)
        self.sym = SymbolicKAN(copy.deepcopy(self.kan))
        self.formula: sympy.Expr | None = None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``X: (M, d) -> (M,)`` in the units of the data."""
        with torch.no_grad():
            out = self.kan(self.std.x(X))[:, 0].numpy()
        return out * self.std.ys + self.std.ym

    def read(self, symbols, library: Library, rule: SelectionRule) -> sympy.Expr:
        """Fit and lock every edge, retrain the affine constants, compose the formula."""
        self.sym, _ = auto_symbolic(self.sym, self.xt, library, rule)
        train_affine(self.sym, self.xt, self.yt)
        self.formula = self.sym.formula(self.std.inputs(symbols))[0] * self.std.ys + self.std.ym
        return self.formula


class _Ranking:
    """Candidate formulas with their constants refitted on the ``fit`` data, ranked by their
    validation error ``1 - R^2``; errors below ``floor`` count as ties."""

    def __init__(self, data: _Data, symbols: list[sympy.Symbol], floor: float):
        self.data, self.symbols, self.floor = data, symbols, floor
        self.rows: list[dict] = []  # what the report lists
        self.entries: list[tuple] = []  # (error, ops, index, formula)

    def _val_r2(self, expr: sympy.Expr) -> float:
        X, y = self.data.xy("val")
        return r2_score(y, numeric(expr, self.symbols)(X))

    def add(self, source: str, expr: sympy.Expr) -> None:
        try:
            if len(expr.atoms(sympy.Float)) <= _MAX_REFINE:
                expr, _ = refine_constants(expr, self.symbols, *self.data.xy("fit"))
            score = self._val_r2(expr)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return
        ops = count_ops(expr)
        self.rows.append(
            {"source": source, "formula": str(expr), "val_r2": score, "complexity": ops}
        )
        self.entries.append((1.0 - score, ops, len(self.entries), expr))

    def near_exact(self) -> bool:
        """Whether some formula is within half a decade of the floor."""
        return bool(self.entries) and min(self.entries)[0] <= _NEAR_EXACT * self.floor

    def choose(self, digits: int) -> sympy.Expr:
        """The formulas the data cannot tell apart are compared once their constants are
        snapped: the right structure snaps to a short formula, an approximation keeps odd
        constants. Returns the best, with its remaining floats rounded to ``digits``."""
        if not self.entries:
            raise ValueError("no formula could be evaluated on the data")
        # a formula far more accurate than the network shows the data are more accurate than
        # the network (little noise): then the network's error no longer hides differences
        floor = max(min(self.floor, _DATA_FLOOR * min(self.entries)[0]), _MIN_FLOOR)

        def key(err: float) -> float:
            return round(np.log10(max(err, floor)), _DECIMALS) if np.isfinite(err) else np.inf

        ranked = sorted((key(e), *rest) for e, *rest in self.entries)
        tied = [r for r in ranked if r[0] == ranked[0][0]][:_MAX_TIED]
        final = []
        for _, _, index, expr in tied:
            if len(expr.atoms(sympy.Float)) <= _MAX_SNAP:
                expr, _ = snap_constants(expr, self.symbols, *self.data.xy("fit"))
            expr = round_constants(expr, digits)
            final.append((key(1.0 - self._val_r2(expr)), count_ops(expr), index, expr))
        return min(final)[3]


def _check_inputs(X, y, names, inner) -> tuple[np.ndarray, np.ndarray, list[str]]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (N, d) and y (N,), got {X.shape} and {y.shape}")
    if X.shape[0] < _MIN_SAMPLES:
        raise ValueError(f"need at least {_MIN_SAMPLES} samples, got {X.shape[0]}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    if not 0.0 < inner <= 1.0:
        raise ValueError(f"inner must lie in (0, 1], got {inner!r}")
    d = X.shape[1]
    names = list(names) if names is not None else [f"x_{i + 1}" for i in range(d)]
    if len(names) != d:
        raise ValueError(f"got {len(names)} names for {d} input columns")
    return X, y, names


def _scores(formula: sympy.Expr, symbols, data: _Data, net: _Network) -> dict[str, float]:
    f = numeric(formula, symbols)
    (X_in, y_in), (X_out, y_out) = data.xy("inside"), data.xy("outside")
    f_in, f_out = f(X_in), f(X_out)
    net_in, net_out = net(X_in), net(X_out)
    X_train, y_train = data.xy("train")
    return {
        "data_train": r2_score(y_train, f(X_train)),
        "data_inside": r2_score(y_in, f_in),
        "data_outside": r2_score(y_out, f_out),
        "network_data": r2_score(y_in, net_in),
        "network_inside": r2_score(net_in, f_in),
        "network_outside": r2_score(net_out, f_out),
    }


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
        seed: seeds the split, the network initialisation and the search, which are
            reproducible; on noisy data, snapping the constants of tied formulas can still end
            at a different formula from one process to the next.
    """
    start = time.perf_counter()
    X, y, names = _check_inputs(X, y, names, inner)
    library = library or default_library()
    rule = rule or SelectionRule()
    symbols = _symbols(names)
    data = _Data.split(X, y, np.random.default_rng(seed), inner)
    net = _Network(data, _Training(hidden, grid, steps, sparsity, prune_threshold, seed))

    X_val, y_val = data.xy("val")
    net_val = net(X_val)
    _, y_train = data.xy("train")
    rel = float(np.sqrt(np.mean((net_val - y_val) ** 2)) / (np.std(y_train) or 1.0))
    floor = max(_FLOOR_SHARE * (1.0 - r2_score(y_val, net_val)), _MIN_FLOOR)
    ranking = _Ranking(data, symbols, floor)

    tol = float(np.clip(_TOL_FACTOR * rel, *_TOL_RANGE))
    found = separable_search(
        net, net.std.lo, net.std.hi, symbols, library, rule, tol=tol, seed=seed, alternatives=True
    )
    for expr in found:
        ranking.add("separable", expr)
    if not found or always_read_network:
        ranking.add("network", net.read(symbols, library, rule))
    if net.formula is None and not ranking.near_exact():
        # no near-exact separable formula: let the edge-by-edge reading compete
        ranking.add("network", net.read(symbols, library, rule))
    chosen = ranking.choose(digits)
    return SymbolicReport(
        formula=chosen,
        inputs=symbols,
        target=target,
        scores=_scores(chosen, symbols, data, net),
        candidates=ranking.rows,
        model=net.sym,
        network_formula=net.formula,
        seconds=time.perf_counter() - start,
        bounds=[(float(a), float(b)) for a, b in zip(net.std.lo, net.std.hi)],
        model_inputs=net.xt,
    )


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
