"""Point sets on the unit cube ``[0, 1)^d``: the samplers every geometry draws from.

Sequence methods ("random"/"pseudo", "lhs", "halton", "sobol") can be continued: a
:class:`Sequence` hands out the next points on each ``draw``. "grid" and "hammersley" are
fixed-size point sets; topping them up regenerates a larger set.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import qmc

METHODS = ("grid", "random", "pseudo", "lhs", "halton", "sobol", "hammersley")
_FIXED_SIZE = ("grid", "hammersley")


def check_count(n, what="n"):
    """Return ``n`` as an int, or raise ``ValueError`` if it is not a positive integer."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def check_method(method):
    if method not in METHODS:
        raise ValueError(f"unknown sampling method {method!r}; expected one of {METHODS}")
    return method


class Sequence:
    """A reproducible stream of points on ``[0, 1)^d``.

    ``draw(m)`` returns the next ``m`` points, shape ``(m, d)``; two sequences built with the
    same ``(d, method, seed)`` hand out the same points.
    """

    def __init__(self, d, method="sobol", seed=None):
        self.d = check_count(d, "dimension d")
        self.method = check_method(method)
        self.seed = seed
        if method == "sobol":
            self._engine = qmc.Sobol(d, scramble=True, seed=seed)
        elif method == "halton":
            self._engine = qmc.Halton(d, scramble=True, seed=seed)
        elif method == "lhs":
            self._engine = qmc.LatinHypercube(d, seed=seed)
        elif method in ("random", "pseudo"):
            self._rng = np.random.default_rng(seed)
        self._drawn = 0

    def draw(self, m):
        m = check_count(m, "m")
        if self.method in _FIXED_SIZE:
            # A fixed-size set has no continuation: hand out the tail of a larger set.
            pts = sample(self._drawn + m, self.d, self.method, self.seed)[self._drawn :]
        elif self.method in ("random", "pseudo"):
            pts = self._rng.random((m, self.d))
        else:
            with warnings.catch_warnings():
                # Sobol balance properties hold for powers of two; other sizes are still valid.
                warnings.simplefilter("ignore")
                pts = self._engine.random(m)
        self._drawn += m
        return pts


def sample(n: int, d: int, method: str = "sobol", seed: int | None = None) -> np.ndarray:
    """``n`` points on the unit cube ``[0, 1)^d`` as a numpy array ``(n, d)``.

    "grid" is cell-centred with ``ceil(n ** (1/d))`` points per axis, thinned evenly to
    exactly ``n`` when ``n`` is not a perfect power. "hammersley" uses ``(i + 1/2) / n`` as
    its first coordinate and a (seed-scrambled) Halton sequence for the others.
    """
    n = check_count(n)
    d = check_count(d, "dimension d")
    check_method(method)
    if method == "grid":
        m = math.ceil(round(n ** (1.0 / d), 9))
        axis = (np.arange(m) + 0.5) / m
        grid = np.stack(np.meshgrid(*([axis] * d), indexing="ij"), axis=-1).reshape(-1, d)
        return thin(grid, n)
    if method == "hammersley":
        first = (np.arange(n)[:, None] + 0.5) / n
        if d == 1:
            return first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rest = qmc.Halton(d - 1, scramble=seed is not None, seed=seed).random(n)
        return np.hstack([first, rest])
    return Sequence(d, method, seed).draw(n)


def thin(points, n):
    """Keep ``n`` of ``points`` (m >= n rows), evenly spread over the row order."""
    if len(points) == n:
        return points
    return points[np.round(np.linspace(0, len(points) - 1, n)).astype(int)]


def rejection_sample(n, d, method, seed, to_rows, keep, acceptance=0.5):
    """Draw ``n`` accepted rows: map unit-cube points with ``to_rows``, keep where ``keep``.

    ``to_rows(u)`` maps ``u: (m, d)`` to rows ``(m, k)``; ``keep(rows)`` returns a bool mask.
    Sequence methods top up with the continuation of the same sequence, so accepted points
    keep the sequence's low discrepancy; fixed-size sets are regenerated larger and thinned.
    """
    n = check_count(n)
    acceptance = min(max(acceptance, 1e-3), 1.0)
    if method in _FIXED_SIZE:
        m = math.ceil(n / acceptance * 1.1)
        for _ in range(30):
            rows = to_rows(sample(m, d, method, seed))
            rows = rows[keep(rows)]
            if len(rows) >= n:
                return thin(rows, n)
            m = math.ceil(m * max(1.5, 1.1 * n / max(len(rows), 1)))
        raise ValueError(f"could not place {n} points with method {method!r}: region too small")
    seq = Sequence(d, method, seed)
    chunks, count, drawn = [], 0, 0
    for _ in range(200):
        m = math.ceil((n - count) / acceptance * 1.1) + 16
        rows = to_rows(seq.draw(m))
        mask = keep(rows)
        drawn += m
        chunks.append(rows[mask])
        count += int(mask.sum())
        if count >= n:
            return np.concatenate(chunks)[:n]
        acceptance = max(count / drawn, 1e-3)
    raise ValueError(f"could not place {n} points with method {method!r}: region too small")
