"""Approximate distance functions (ADFs) for exact boundary conditions.

An ADF ``phi`` of some boundary pieces is a torch function of the points with ``phi > 0`` in
the domain, ``phi = 0`` on the pieces and ``|grad phi| = 1`` there (normalised to first
order), smooth in the open domain, so ``u = g + phi N`` meets ``u = g`` exactly and a
strong-form residual can take its second derivatives (Sukumar & Srivastava 2022, "Exact
imposition of boundary conditions with distance functions in physics-informed deep neural
networks", CMAME 389).

Every piece is one column of ``(N, m)``:

- a line or plane: the signed distance ``c - n . x`` (``n`` the outward normal), used when the
  plane meets the domain nowhere but on the piece;
- a circle, ellipse or sphere: ``g / sqrt(|grad g|^2 + (g / l)^2)`` with
  ``g = 1 - |A^-1 R^T (x - c)|^2`` (exact at the centre for a circle, ``l`` the smallest axis);
- a trimmed piece (a segment or arc whose line or curve also runs through the domain):
  ``sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2)``, with ``f`` the line or curve above and a
  trimming function ``t`` positive exactly on the piece (a disk over a segment, the chord's
  half-plane for an arc).

Pieces join by R-equivalence of order 1, ``1 / phi = sum_i 1 / phi_i``, which keeps the zero
set and the normalisation on every piece; :func:`blend` is the matching transfinite
interpolation of boundary values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch

Piece = Callable[[torch.Tensor], torch.Tensor]  # x (N, d) -> (N, m)


def _t(a: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(a, dtype=x.dtype, device=x.device)


class Flat:
    """Signed distances ``offsets - x @ normals.T`` to ``m`` lines/planes: ``(N, m)``."""

    def __init__(self, normals: np.ndarray, offsets: np.ndarray):
        self.normals = np.asarray(normals, float).reshape(len(offsets), -1)
        self.offsets = np.asarray(offsets, float)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _t(self.offsets, x) - x @ _t(self.normals, x).T

    def negated(self) -> Flat:
        return Flat(-self.normals, -self.offsets)

    def key(self) -> tuple:
        return ("flat", *np.round(np.c_[self.normals, self.offsets], 12).ravel())


class Quadric:
    """Normalised ellipse/ellipsoid function ``(N, 1)``, positive on the ``sign`` side.

    ``sign = 1``: the domain is inside the curve near the piece; ``-1``: outside (a hole).
    """

    def __init__(self, center: np.ndarray, rot: np.ndarray, axes: np.ndarray, sign: float):
        self.center, self.rot = np.asarray(center, float), np.asarray(rot, float)
        self.axes, self.sign = np.asarray(axes, float), float(sign)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        p = (x - _t(self.center, x)) @ _t(self.rot, x)
        axes = _t(self.axes, x)
        g = 1 - ((p / axes) ** 2).sum(1)
        grad2 = ((2 * p / axes**2) ** 2).sum(1)  # |grad g|^2, rotation invariant
        ell = float(self.axes.min())
        return (self.sign * g / torch.sqrt(grad2 + (g / ell) ** 2))[:, None]

    def negated(self) -> Quadric:
        return Quadric(self.center, self.rot, self.axes, -self.sign)

    def key(self) -> tuple:
        shape: np.ndarray = np.asarray(np.r_[self.center, self.rot.ravel(), self.axes]).round(12)
        return ("quadric", *list(shape), self.sign)


class Ball2:
    """Trimming disks over segments: ``((L/2)^2 - |x - mid|^2) / L``, ``(N, m)``, positive
    exactly on the open segments of midpoints ``mid (m, d)`` and lengths ``length (m,)``."""

    def __init__(self, mid: np.ndarray, length: np.ndarray):
        self.mid, self.length = np.asarray(mid, float), np.asarray(length, float)

    @classmethod
    def over(cls, a: np.ndarray, b: np.ndarray) -> Ball2:
        """The disks over segments ``a -> b`` (each ``(m, d)``)."""
        return cls((a + b) / 2, np.linalg.norm(b - a, axis=1))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        r2 = ((x[:, None, :] - _t(self.mid, x)[None]) ** 2).sum(-1)
        half = _t(self.length, x) / 2
        return (half**2 - r2) / (2 * half)


class Trimmed:
    """The zero set of ``f`` where ``t >= 0``: ``(N, m)``, zero only on the pieces.

    Near a piece on the domain's side (``f >= -tol``, ``t > 0``; ``tol`` absorbs the
    round-off of points sampled on the piece) it is evaluated as
    ``f sqrt(1 + (f^3 / (2 (rho + t)))^2)``, the same function written without the square
    root of ``f^2``, so its derivatives on the piece are the one-sided ones from inside.
    """

    def __init__(self, f: Piece, t: Piece, tol: np.ndarray):
        self.f, self.t, self.tol = f, t, np.asarray(tol, float).reshape(-1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        f, t = self.f(x), self.t(x)
        r2 = t**2 + f**4
        tip = r2 == 0  # the end points of a piece
        rho = torch.sqrt(torch.where(tip, torch.ones_like(r2), r2))
        near = (f >= -_t(self.tol, x)) & (t > 0)
        k = f**3 / (2 * torch.where(near, rho + t, torch.ones_like(t)))
        inner = f * torch.sqrt(1 + k**2)
        s2 = f**2 + ((rho - t) / 2) ** 2
        outer = torch.sqrt(torch.where(near | tip, torch.ones_like(s2), s2))
        return torch.where(tip, torch.zeros_like(f), torch.where(near, inner, outer))


def join(phi: torch.Tensor) -> torch.Tensor:
    """R-equivalence ``1 / sum_i (1 / phi_i)`` of the columns of ``phi (N, m)``: ``(N,)``.

    Written as ``phi_k / (1 + phi_k sum_{i != k} 1 / phi_i)`` with ``k`` the smallest column,
    so it is exact (value 0, gradient ``grad phi_k``) on a piece and finite at corners.
    """
    if phi.shape[1] == 1:
        return phi[:, 0]
    k = phi.argmin(1, keepdim=True)
    low = phi.gather(1, k)
    inv = _inverse(phi)
    rest = inv.sum(1, keepdim=True) - inv.gather(1, k)
    return (low / (1 + low * rest))[:, 0]


def blend(phi: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Transfinite interpolation ``sum_i w_i g_i`` with ``w_i = (1/phi_i) / sum_j (1/phi_j)``.

    ``phi (N, m)``: one ADF per condition; ``values (N, m)``: their values ``g_i``. On the
    zero set of ``phi_i`` the weight ``w_i`` is exactly 1 and the others exactly 0, so the
    result equals ``g_i`` there to round-off. Returns ``(N,)``.
    """
    k = phi.argmin(1, keepdim=True)
    low = phi.gather(1, k)
    ratio = low * _inverse(phi)
    ratio = ratio.scatter(1, k, torch.ones_like(low))  # phi_k / phi_k, exactly 1
    return (ratio * values).sum(1) / ratio.sum(1)


def _inverse(phi: torch.Tensor) -> torch.Tensor:
    pos = phi > 0
    return torch.where(pos, 1 / torch.where(pos, phi, torch.ones_like(phi)), torch.zeros_like(phi))


class DistanceFunction:
    """An ADF: ``phi(x (N, d)) -> (N,)``, ``>= 0`` in the domain, 0 on its boundary pieces.

    Built by :meth:`kinn.geometry.Geometry.adf`; ``pieces(x)`` gives the ``(N, m)`` columns
    that :func:`join` combines. Differentiable to any order in the open domain.
    """

    def __init__(self, pieces: Sequence[Piece], dim: int, parts: tuple[str, ...] = ()):
        if not pieces:
            raise ValueError("a distance function needs at least one boundary piece")
        self._pieces, self.dim, self.parts = list(pieces), dim, tuple(parts)

    def pieces(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {tuple(x.shape)}")
        return torch.cat([p(x) for p in self._pieces], dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return join(self.pieces(x))

    def __repr__(self) -> str:
        return f"DistanceFunction(parts={list(self.parts)}, pieces={len(self._pieces)})"


class Columns:
    """A distance function of some coordinates of ``x`` (the space of a space-time point)."""

    def __init__(self, inner: DistanceFunction, cols: slice):
        self.inner, self.cols = inner, cols

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.pieces(x[:, self.cols])


def collect(pieces: Sequence[object]) -> list[Piece]:
    """Batch the flat pieces and the trimmed segments, and drop duplicate pieces (a line or
    circle shared by two parts)."""
    flats: list[Flat] = []
    segments: list[Trimmed] = []
    others: list = []
    seen: set[tuple] = set()
    for p in pieces:
        key = p.key() if hasattr(p, "key") else None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        if isinstance(p, Flat):
            flats.append(p)
        elif isinstance(p, Trimmed) and isinstance(p.f, Flat) and isinstance(p.t, Ball2):
            segments.append(p)
        else:
            others.append(p)
    out: list[Piece] = []
    if flats:
        out.append(_stack_flats(flats))
    if segments:
        trims = [cast(Ball2, p.t) for p in segments]  # checked above
        trim = Ball2(
            np.concatenate([t.mid for t in trims]), np.concatenate([t.length for t in trims])
        )
        tol = np.concatenate([p.tol for p in segments])
        out.append(Trimmed(_stack_flats([cast(Flat, p.f) for p in segments]), trim, tol))
    return out + others


def _stack_flats(flats: Sequence[Flat]) -> Flat:
    return Flat(
        np.concatenate([f.normals for f in flats]), np.concatenate([f.offsets for f in flats])
    )
