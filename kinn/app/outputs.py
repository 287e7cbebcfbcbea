"""Files a run leaves behind besides metrics.json: fields on the evaluation set (.vtu), plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import meshio
import numpy as np


def write_vtu(
    path: Path, points: np.ndarray, cells: list | None, point_data: dict[str, np.ndarray]
) -> Path:
    """Write ``point_data`` (each ``(n,)``) on ``points`` ``(n, d)`` as a VTK unstructured grid.

    ``cells`` are meshio-style ``[(type, (m, k) int array)]``; without them every point becomes
    a ``vertex`` cell. Coordinates beyond the third (space-time in 3-D) go to point data
    ``x3``, ``x4``, ...
    """
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    xyz = np.zeros((n, 3))
    xyz[:, : min(d, 3)] = points[:, :3]
    data = {name: np.asarray(v, dtype=np.float64).reshape(n) for name, v in point_data.items()}
    for k in range(3, d):
        data[f"x{k}"] = points[:, k].copy()
    if cells:
        blocks = [(str(kind), np.asarray(conn, dtype=np.int64)) for kind, conn in cells]
    else:
        blocks = [("vertex", np.arange(n, dtype=np.int64).reshape(n, 1))]
    meshio.write(path, meshio.Mesh(xyz, blocks, point_data=data))
    return path


def _triangles(cells: list | None) -> np.ndarray | None:
    """Triangles ``(m, 3)`` from triangle, higher-order triangle or quad cells, else None."""
    tris = []
    for kind, conn in cells or []:
        conn = np.asarray(conn, dtype=np.int64)
        if str(kind).startswith("triangle"):
            tris.append(conn[:, :3])
        elif str(kind).startswith("quad"):
            tris += [conn[:, [0, 1, 2]], conn[:, [0, 2, 3]]]
    return np.concatenate(tris) if tris else None


def plot_field(
    path: Path,
    name: str,
    points: np.ndarray,
    pred: np.ndarray,
    ref: np.ndarray,
    cells: list | None = None,
    inside: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Path:
    """Three panels, prediction | reference | error (prediction - reference), as a PNG.

    1-D: curves over x. 2-D: filled contours on the mesh triangles, or on a Delaunay
    triangulation of scattered points whose triangles are kept where ``inside(centroids)``
    (e.g. the hole of a plate stays empty). Higher dimensions: coloured scatter of (x0, x1).
    The figure is drawn off pyplot: matplotlib's backend and pyplot's figures stay as they were.
    """
    from matplotlib.figure import Figure
    from matplotlib.tri import Triangulation

    points = np.asarray(points, dtype=np.float64)
    pred, ref = np.asarray(pred, np.float64), np.asarray(ref, np.float64)
    err = pred - ref
    d = points.shape[1]
    fig = Figure(figsize=(13, 3.8) if d > 1 else (13, 3.2))
    axes = fig.subplots(1, 3)
    titles = (f"{name} (model)", f"{name} (reference)", f"error {name}")
    if d == 1:
        order = np.argsort(points[:, 0])
        x = points[order, 0]
        lim = (min(pred.min(), ref.min()), max(pred.max(), ref.max()))
        for ax, values, title in zip(axes, (pred, ref, err), titles):
            ax.plot(x, values[order], lw=1.5)
            ax.set_title(title)
            ax.set_xlabel("x")
        for ax in axes[:2]:
            pad = 0.05 * (lim[1] - lim[0] or 1.0)
            ax.set_ylim(lim[0] - pad, lim[1] + pad)
    else:
        vmin, vmax = float(min(pred.min(), ref.min())), float(max(pred.max(), ref.max()))
        emax = float(np.abs(err).max()) or 1.0
        tri = None
        if d == 2:
            triangles = _triangles(cells)
            tri = Triangulation(points[:, 0], points[:, 1], triangles)
            if triangles is None and inside is not None:
                centroids = points[tri.triangles].mean(axis=1)
                tri.set_mask(~np.asarray(inside(centroids), dtype=bool))
        panels = ((pred, "viridis", vmin, vmax), (ref, "viridis", vmin, vmax))
        panels += ((err, "RdBu_r", -emax, emax),)
        for ax, (values, cmap, lo, hi), title in zip(axes, panels, titles):
            if tri is not None:
                levels = np.linspace(lo, hi if hi > lo else lo + 1e-12, 41)
                art = ax.tricontourf(tri, values, levels=levels, cmap=cmap, extend="both")
            else:
                art = ax.scatter(points[:, 0], points[:, 1], c=values, s=4, cmap=cmap)
                art.set_clim(lo, hi)
            fig.colorbar(art, ax=ax, shrink=0.85)
            ax.set_title(title)
            ax.set_aspect("equal")
            ax.set_xlabel("x")
            ax.set_ylabel("y" if d == 2 else "x1")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
