"""Fitting one 1-D function ``y ~ c * f(a * x + b) + d`` for every candidate in a library.

For each (a, b) the outer constants c, d solve a linear least-squares problem in closed form, so
only the inner constants are searched: first on a coarse grid whose scale comes from the data
(``x`` is mapped to ``t`` in [-1, 1], so no fixed box limits a or b), then refined by
``scipy.optimize.least_squares`` on the reduced (variable-projection) problem. The coarse search
uses a fixed-size subsample, so memory does not grow with the number of points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy
import torch
from scipy.optimize import least_squares

from .formula import r2
from .library import Candidate, Library, default_library

__all__ = ["CandidateFit", "EdgeFit", "SelectionRule", "fit_edge"]

# samples of the grid search and of the least-squares refinement: fixed subsamples, so time
# and memory do not grow with N (hand-set against the edge-fit timing of benchmarks.symbolic)
_N_COARSE = 96
_N_REFINE = 200
# candidates refined after the grid search (refinement costs most of a fit), skipping those a
# hundredfold worse than the leader (hand-set)
_N_REFINED = 3
_RUNNER_UP = 100.0
# points per axis of the two finer grids around the best grid point
_ZOOM = 9
# starting grids, with the data at t = (x - mid) / half in [-1, 1]: slopes of u = alpha t,
# zeros of u = alpha (t - gamma) up to one half-width beyond the data, phases of periodic
# candidates, gaps (in half-widths) between the data and the pole of an inverse power, and
# centres of the other powers up to three half-widths away (hand-set ranges)
_ALPHA = np.geomspace(0.05, 30.0, 18)
_GAMMA = np.linspace(-2.0, 2.0, 13)
_BETA_PERIODIC = np.linspace(-math.pi, math.pi, 24, endpoint=False)
_POLE_GAP = np.geomspace(1e-3, 1e2, 36)
_CENTER = np.linspace(-3.0, 3.0, 31)


@dataclass(frozen=True)
class CandidateFit:
    """The best ``c * f(a * x + b) + d`` for one candidate ``f``, with its R^2 on the samples."""

    candidate: Candidate
    a: float
    b: float
    c: float
    d: float
    r2: float

    @property
    def name(self) -> str:
        return self.candidate.name

    @property
    def complexity(self) -> int:
        return self.candidate.complexity

    def sympy(self, x: sympy.Expr) -> sympy.Expr:
        """The fitted function of ``x`` as a sympy expression (constants as Floats; the inner
        constants a candidate keeps fixed appear as exact integers)."""
        kind = self.candidate.inner
        if kind == "none":
            inner = x
        elif kind == "a":
            inner = sympy.Float(self.a) * x
        elif kind == "shift":
            inner = sympy.Integer(round(self.a)) * (x + sympy.Float(self.a * self.b))
        else:
            inner = sympy.Float(self.a) * x + sympy.Float(self.b)
        if self.name == "0":
            return sympy.Float(self.d)
        return sympy.Float(self.c) * self.candidate.sympy_fn(inner) + sympy.Float(self.d)

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """The fitted function evaluated on a tensor ``x: (N,)``."""
        return self.c * self.candidate.torch_fn(self.a * x + self.b) + self.d

    def numpy(self, x: np.ndarray) -> np.ndarray:
        u = self.a * np.asarray(x, dtype=np.float64) + self.b
        return self.c * self.candidate.numpy_fn(u) + self.d

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "d": self.d,
            "r2": self.r2,
            "complexity": self.complexity,
        }


@dataclass(frozen=True)
class SelectionRule:
    """How a candidate is chosen from the Pareto front of (1 - R^2, complexity).

    By default (``r2_threshold=None``) the chosen candidate minimises
    ``log10(1 - R^2 + 1e-12) + weight * complexity``: one more unit of complexity must buy a
    ``10 ** weight``-fold smaller error. With ``r2_threshold`` set, the simplest Pareto candidate
    with ``R^2 >= r2_threshold`` is chosen (the most accurate one when none reaches it).
    """

    weight: float = 1.0
    r2_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.r2_threshold is not None and not 0.0 <= self.r2_threshold <= 1.0:
            raise ValueError(
                f"r2_threshold must lie in [0, 1] or be None, got {self.r2_threshold!r}"
            )
        if not (isinstance(self.weight, (int, float)) and self.weight >= 0.0):
            raise ValueError(f"weight must be a non-negative float, got {self.weight!r}")

    def score(self, fit: CandidateFit, floor: float = 1e-12) -> float:
        """``log10(max(1 - R^2, floor)) + weight * complexity``: errors below ``floor`` (the
        noise level of the samples) all count the same, so complexity decides between them."""
        return math.log10(max(1.0 - fit.r2, floor, 1e-300)) + self.weight * fit.complexity

    def choose(self, fits: list[CandidateFit]) -> CandidateFit:
        front = pareto_front(fits)
        if self.r2_threshold is None:
            # the constant (R^2 = 0) only wins when nothing explains any variance: a fixed
            # weight must not let zero beat a clean but imperfect fit
            useful = [f for f in front if f.r2 > 0.0]
            return min(useful or front, key=self.score)
        good = [f for f in front if f.r2 >= self.r2_threshold]
        if good:
            return min(good, key=lambda f: (f.complexity, -f.r2))
        return max(front, key=lambda f: f.r2)


@dataclass(frozen=True)
class EdgeFit:
    """All candidate fits of one edge, the Pareto front and the chosen one."""

    fits: list[CandidateFit]
    chosen: CandidateFit
    front: list[CandidateFit] = field(default_factory=list)

    def __getitem__(self, name: str) -> CandidateFit:
        for f in self.fits:
            if f.name == name:
                return f
        raise ValueError(f"no fit for candidate {name!r}; fitted: {[f.name for f in self.fits]}")


def pareto_front(fits: list[CandidateFit]) -> list[CandidateFit]:
    """Candidates not beaten by a simpler-or-equal one that is at least as accurate."""
    ordered = sorted(fits, key=lambda f: (f.complexity, -f.r2))
    front, best = [], -math.inf
    for f in ordered:
        if f.r2 > best + 1e-12:
            front.append(f)
            best = f.r2
    return front


def _as_1d(v, what: str) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().double().numpy()
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (N,), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains non-finite values")
    return arr


def _stride(n: int, k: int) -> np.ndarray:
    return np.arange(n) if n <= k else np.linspace(0, n - 1, k).round().astype(np.int64)


def _evaluate(cand: Candidate, u: np.ndarray) -> np.ndarray:
    """f(u) with NaN wherever u leaves the safe domain or the value is not finite."""
    with np.errstate(all="ignore"):
        val = cand.numpy_fn(u)
        bad = ~(cand.in_domain(u) & np.isfinite(val))
    if bad.any():
        val = np.where(bad, np.nan, val)
    return val


def _ls_cd(F: np.ndarray, y: np.ndarray):
    """Closed-form c, d and SSE for y ~ c F + d along the last axis (rows of F are designs)."""
    Fm = F.mean(-1, keepdims=True)
    ym = y.mean()
    Fc = F - Fm
    yc = y - ym
    ff = (Fc * Fc).sum(-1)
    fy = (Fc * yc).sum(-1)
    yy = float((yc * yc).sum())
    with np.errstate(all="ignore"):
        c = np.where(ff > 1e-300, fy / np.maximum(ff, 1e-300), 0.0)
    sse = yy - c * fy
    d = ym - c * Fm[..., 0]
    return c, d, sse


class _Inner:
    """Map between search coordinates ``theta`` and (a, b) in x coordinates for one candidate."""

    def __init__(self, cand: Candidate, lo: float, hi: float):
        self.cand = cand
        self.m = 0.5 * (lo + hi)
        self.h = max(0.5 * (hi - lo), 1e-12)
        self.lo, self.hi = lo, hi

    def grid(self) -> list[np.ndarray]:
        """Starting grids, one array (G, n_theta) per sign/branch."""
        cand, m, h = self.cand, self.m, self.h
        if cand.inner == "ab":
            if cand.periodic:
                A, B = np.meshgrid(_ALPHA, _BETA_PERIODIC, indexing="ij")
            else:
                A, G = np.meshgrid(_ALPHA, _GAMMA, indexing="ij")
                B = -A * G
            return [np.stack([A.ravel(), B.ravel()], 1)]
        if cand.inner == "a":
            return [np.concatenate([-_ALPHA[::-1], _ALPHA])[:, None]]
        # shift: u = s * (x + b); theta = (b,), with s fixed per branch
        if cand.domain[0] >= 0.0:
            return [(-self.lo + h * _POLE_GAP)[:, None], (-self.hi - h * _POLE_GAP)[:, None]]
        return [(-(m + h * _CENTER))[:, None]]

    def sign(self, branch: int) -> float:
        return -1.0 if branch == 1 else 1.0

    def u(self, theta: np.ndarray, x: np.ndarray, branch: int) -> np.ndarray:
        """u for thetas (G, k) and samples x (n,) -> (G, n)."""
        cand = self.cand
        t = (x - self.m) / self.h
        if cand.inner == "ab":
            return theta[:, :1] * t + theta[:, 1:2]
        if cand.inner == "a":
            return theta[:, :1] * t
        return self.sign(branch) * (x + theta[:, :1])

    def ab(self, theta: np.ndarray, branch: int) -> tuple[float, float, float]:
        """(a, b, scale) in x coordinates; c must be multiplied by ``scale``."""
        cand, m, h = self.cand, self.m, self.h
        if cand.inner == "ab":
            al, be = theta
            return al / h, be - al * m / h, 1.0
        if cand.inner == "a":
            # exp-like: f(alpha t) = f(a x - a m); the constant factor is folded into c
            a = theta[0] / h
            num = _evaluate(cand, np.array([a * m]))[0]
            return a, 0.0, (1.0 / num if np.isfinite(num) and num != 0 else math.nan)
        s = self.sign(branch)
        return s, s * theta[0], 1.0


def _coarse(cand: Candidate, x: np.ndarray, y: np.ndarray, xc, yc):
    """Coarse-to-fine grid search of one candidate's inner constants on the subsample.

    Returns (inner map, (sse, theta, branch) or None).
    """
    inner = _Inner(cand, float(x[0]), float(x[-1]))

    def scan(grid, branch):
        F = _evaluate(cand, inner.u(grid, xc, branch))
        ok = np.all(np.isfinite(F), axis=1)
        if not ok.any():
            return None
        _, _, sse = _ls_cd(np.where(ok[:, None], F, 0.0), yc)
        sse = np.where(ok, sse, np.inf)
        k = int(np.argmin(sse))
        return (float(sse[k]), grid[k].copy()) if np.isfinite(sse[k]) else None

    best = None
    for branch, grid in enumerate(inner.grid()):
        hit = scan(grid, branch)
        if hit is None:
            continue
        sse, theta = hit
        # zoom: a finer grid around the best point, spacing from the coarse grid itself
        step = np.array([_spacing(grid[:, j], theta[j]) for j in range(grid.shape[1])])
        offsets = np.linspace(-1.0, 1.0, _ZOOM if grid.shape[1] > 1 else _ZOOM**2)
        for _ in range(2):
            mesh = np.meshgrid(*[theta[j] + step[j] * offsets for j in range(theta.size)])
            hit = scan(np.stack([m.ravel() for m in mesh], 1), branch)
            if hit is not None and hit[0] <= sse:
                sse, theta = hit
            step = step * 2.0 / (offsets.size - 1)
        if best is None or sse < best[0]:
            best = (sse, theta, branch)
    return inner, best


def _spacing(values: np.ndarray, at: float) -> float:
    gaps = np.abs(np.unique(values) - at)
    gaps = gaps[gaps > 0]
    return float(gaps.min()) if gaps.size else 1.0


def _finish(cand, inner, theta, branch, x, y, score) -> CandidateFit | None:
    F = _evaluate(cand, inner.u(theta[None], x, branch))[0]
    if not np.all(np.isfinite(F)):
        return None
    c, d, sse = _ls_cd(F[None], y)
    a, b, scale = inner.ab(theta, branch)
    if not math.isfinite(scale):
        return None
    return CandidateFit(cand, float(a), float(b), float(c[0]) * scale, float(d[0]), score(sse[0]))


def _refine(cand, inner, theta0, branch, xr, yr) -> np.ndarray:
    penalty = 10.0 * (np.abs(yr - yr.mean()) + 1.0)

    def resid(theta):
        F = _evaluate(cand, inner.u(theta[None], xr, branch))[0]
        if not np.all(np.isfinite(F)):
            return penalty
        c, d, _ = _ls_cd(F[None], yr)
        return c[0] * F + d[0] - yr

    try:
        sol = least_squares(resid, theta0, method="lm", max_nfev=10 * (theta0.size + 1))
    except (ValueError, np.linalg.LinAlgError):
        return theta0
    return sol.x if np.all(np.isfinite(resid(sol.x))) else theta0


def fit_edge(
    x,
    y,
    library: Library | None = None,
    rule: SelectionRule | None = None,
) -> EdgeFit:
    """Fit ``y ~ c * f(a * x + b) + d`` for every candidate ``f`` in ``library``.

    Args:
        x, y: samples ``(N,)`` (numpy arrays or tensors) of one 1-D function.
        library: candidates (default :func:`default_library`).
        rule: selection rule on the Pareto front (default ``SelectionRule()``).

    Returns:
        :class:`EdgeFit` with one :class:`CandidateFit` per candidate (R^2 on all samples,
        complexity), the Pareto front and the chosen fit. Deterministic for given inputs.
    """
    x = _as_1d(x, "x")
    y = _as_1d(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < 4:
        raise ValueError(f"need at least 4 samples to fit an edge, got {x.shape[0]}")
    if not np.ptp(x) > 0:
        raise ValueError("x must not be constant: the edge has an empty domain")
    library = default_library() if library is None else library
    if not isinstance(library, Library) or len(library) == 0:
        raise ValueError(f"library must be a non-empty Library, got {library!r}")
    rule = SelectionRule() if rule is None else rule
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    ic, ir = _stride(x.size, _N_COARSE), _stride(x.size, _N_REFINE)
    yy = float(((y - y.mean()) ** 2).sum())
    ss = float((y**2).sum())

    def score(sse: float) -> float:
        return r2(sse, yy, ss)

    yyc = float(((y[ic] - y[ic].mean()) ** 2).sum())
    fits: dict[str, CandidateFit] = {}
    starts = []
    for cand in library:
        if cand.inner == "none":
            F = _evaluate(cand, x)
            ok = bool(np.all(np.isfinite(F)))
            c, d, sse = _ls_cd(np.where(ok, F, 0.0)[None], y)
            fits[cand.name] = CandidateFit(
                cand, 1.0, 0.0, float(c[0]), float(d[0]), score(sse[0]) if ok else -math.inf
            )
            continue
        inner, best = _coarse(cand, x, y, x[ic], y[ic])
        if best is None:
            fits[cand.name] = CandidateFit(cand, 1.0, 0.0, 0.0, float(y.mean()), -math.inf)
        else:
            starts.append((best[0] / max(yyc, 1e-300), cand, inner, best[1], best[2]))
    # refine the promising starts only; the others keep their (valid, coarse) fit
    starts.sort(key=lambda s: s[0])
    best_err = starts[0][0] if starts else 0.0
    for rank, (err, cand, inner, theta, branch) in enumerate(starts):
        # refine the top few, skipping runners-up a hundredfold worse than the leader: with
        # clean data that is every wrong candidate, and refinement costs most of a fit
        if rank < _N_REFINED and (rank == 0 or err <= _RUNNER_UP * best_err + 1e-12):
            theta = _refine(cand, inner, theta, branch, x[ir], y[ir])
        fit = _finish(cand, inner, theta, branch, x, y, score)
        fits[cand.name] = fit or CandidateFit(cand, 1.0, 0.0, 0.0, float(y.mean()), -math.inf)
    fits = [fits[c.name] for c in library]
    return EdgeFit(fits=fits, chosen=rule.choose(fits), front=pareto_front(fits))
