"""Shared pieces of the plots: figures made off pyplot, a triangulation masked to the domain."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure as _Figure


class Figure(_Figure):
    """A matplotlib ``Figure`` not registered with pyplot: the active backend, pyplot's
    current figure and its figure list stay as they were. It shows in a notebook as the value
    of a cell (or with ``display(fig)``) whether or not pyplot was imported, and saves with
    ``fig.savefig``."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def new_figure(width: float, height: float) -> Figure:
    """A :class:`Figure` of ``width`` x ``height`` inches with a constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def triangles_of(cells: list | None) -> np.ndarray | None:
    """Triangles ``(m, 3)`` from triangle, higher-order triangle or quad cells, else None."""
    tris = []
    for kind, conn in cells or []:
        conn = np.asarray(conn, dtype=np.int64)
        if str(kind).startswith("triangle"):
            tris.append(conn[:, :3])
        elif str(kind).startswith("quad"):
            tris += [conn[:, [0, 1, 2]], conn[:, [0, 2, 3]]]
    return np.concatenate(tris) if tris else None


def triangulation(points: np.ndarray, cells: list | None = None, geometry=None):
    """A matplotlib ``Triangulation`` of ``points (n, 2)`` from triangle or quad cells, or
    (without them) from :func:`kinn.io.cells_of`: Delaunay triangles kept inside
    ``geometry``, so holes, notches and slits stay empty."""
    from matplotlib.tri import Triangulation

    from kinn.io import cells_of

    triangles = triangles_of(cells)
    if triangles is None:
        triangles = triangles_of(cells_of(points, geometry))
    return Triangulation(points[:, 0], points[:, 1], triangles)


def symmetric_limit(values: np.ndarray) -> float:
    """The largest finite ``|value|`` (1 when there is none or it is 0)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """``(lo, hi)`` over the finite entries of every array, widened when they are equal."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        pad = max(abs(lo), 1.0) * 1e-6
        lo, hi = lo - pad, hi + pad
    return lo, hi
