"""Fields as VTK files ParaView opens as surfaces and volumes: ``.vtu`` with real cells, and a
``.pvd`` collection of ``.vtu`` files for problems in space and time."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import meshio
import numpy as np

from kinn._files import atomic_write_text

__all__ = [
    "cells_of",
    "space_mesh",
    "write_pvd",
    "write_result",
    "write_time_series",
    "write_vtu",
]

_SIMPLEX = {1: "line", 2: "triangle", 3: "tetra"}


def cells_of(points: np.ndarray, geometry=None, cells: list | None = None) -> list:
    """meshio cell blocks ``[(type, (m, k) int array)]`` covering ``points (n, d)``.

    ``cells`` given: kept. A :class:`kinn.geometry.Mesh` whose nodes are ``points``: its own
    cells. Otherwise a Delaunay triangulation (lines in 1-D, triangles in 2-D, tetrahedra in
    3-D) whose cells are kept where their centroid is ``geometry.inside`` (holes and
    re-entrant corners stay empty; see :func:`_in_domain`). More than three coordinates
    (space-time in 3-D): vertices.
    """
    if cells:
        return [(str(kind), np.asarray(conn, dtype=np.int64)) for kind, conn in cells]
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    own = _mesh_cells(points, geometry)
    if own is not None:
        return own
    if d == 1:
        order = np.argsort(points[:, 0], kind="stable")
        return [("line", np.stack([order[:-1], order[1:]], 1).astype(np.int64))]
    if d > 3 or n <= d:
        return [("vertex", np.arange(n, dtype=np.int64).reshape(n, 1))]
    from scipy.spatial import Delaunay

    simplices = Delaunay(points).simplices.astype(np.int64)
    if geometry is not None and hasattr(geometry, "inside"):
        simplices = simplices[_in_domain(points, simplices, geometry)]
    return [(_SIMPLEX[d], simplices)]


def _in_domain(points: np.ndarray, simplices: np.ndarray, geometry) -> np.ndarray:
    """Bool ``(m,)``: the simplex stays inside the domain. Its centroid must be inside, and
    with a signed distance, no edge midpoint may lie outside by more than a fifth of the
    edge (a chord of a curved boundary stays; a triangle across a hole or slit goes)."""
    p = points[simplices]
    if not hasattr(geometry, "distance"):
        return np.asarray(geometry.inside(p.mean(axis=1)), dtype=bool)

    def distance(x: np.ndarray) -> np.ndarray:
        d = geometry.distance(np.ascontiguousarray(x))
        return np.asarray(d.cpu() if hasattr(d, "cpu") else d, dtype=np.float64)

    keep = distance(p.mean(axis=1)) <= 0
    k = p.shape[1]
    for a in range(k):
        for b in range(a + 1, k):
            length = np.linalg.norm(p[:, a] - p[:, b], axis=1)
            keep &= distance((p[:, a] + p[:, b]) / 2) <= 0.2 * length
    return keep


def _mesh_cells(points: np.ndarray, geometry) -> list | None:
    mesh_points = getattr(geometry, "points", None)
    mesh_cells = getattr(geometry, "cells", None)
    if not isinstance(mesh_cells, dict) or mesh_points is None:
        return None
    mesh_points = np.asarray(mesh_points, dtype=np.float64)
    if mesh_points.shape != points.shape or not np.allclose(mesh_points, points):
        return None
    return [(kind, np.asarray(conn, dtype=np.int64)) for kind, conn in mesh_cells.items()]


def write_vtu(
    path: str | os.PathLike,
    points: np.ndarray,
    cells: list | None,
    point_data: dict[str, np.ndarray],
) -> Path:
    """Write ``point_data`` (each ``(n,)``) on ``points (n, d)`` as a VTK unstructured grid.

    ``cells``: meshio-style ``[(type, (m, k) int array)]``; without them every point is a
    ``vertex`` cell (use :func:`cells_of` for real cells). Coordinates beyond the third
    (space-time in 3-D) go to point data ``x3``, ``x4``, ... Written atomically.
    """
    path = Path(path)
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    xyz = np.zeros((n, 3))
    xyz[:, : min(d, 3)] = points[:, :3]
    data = {}
    for name, values in point_data.items():
        values = np.asarray(values, dtype=np.float64)
        if values.size != n:
            raise ValueError(f"point_data[{name!r}] must have {n} values, got shape {values.shape}")
        data[name] = values.reshape(n)
    for k in range(3, d):
        data[f"x{k}"] = points[:, k].copy()
    if cells:
        blocks = [(str(kind), np.asarray(conn, dtype=np.int64)) for kind, conn in cells]
    else:
        blocks = [("vertex", np.arange(n, dtype=np.int64).reshape(n, 1))]
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh = meshio.Mesh(xyz, blocks, point_data=data)
    # meshio writes only to a name: a temporary one beside the target, then moved into place.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.vtu")
    try:
        meshio.write(tmp, mesh, file_format="vtu")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_pvd(path: str | os.PathLike, files: Sequence[tuple[float, str | os.PathLike]]) -> Path:
    """A ParaView collection ``path`` (``.pvd``) of ``(time, .vtu file)`` pairs; the files are
    referred to relative to the collection's folder."""
    path = Path(path)
    lines = [
        '<?xml version="1.0"?>',
        '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
        "  <Collection>",
    ]
    for time, file in files:
        rel = os.path.relpath(Path(file).resolve(), path.parent.resolve())
        lines.append(f'    <DataSet timestep="{float(time)!r}" part="0" file={quoteattr(rel)}/>')
    lines += ["  </Collection>", "</VTKFile>", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text("\n".join(lines), path)


def _point_data(evaluation) -> dict[str, np.ndarray]:
    """Every field, and ``<name>_reference`` and ``<name>_error`` where there is a reference."""
    n = evaluation.points.shape[0]
    data = {k: v for k, v in evaluation.fields.items() if v.shape == (n,)}
    for name, ref in evaluation.reference.items():
        data[f"{name}_reference"] = ref
        data[f"{name}_error"] = evaluation.error[name]
    return data


def write_result(result, path: str | os.PathLike, evaluation=None) -> Path:
    """``fields.vtu``-style file of a :class:`kinn.train.Result` on its evaluation set: its
    cells (real ones: :meth:`Result.evaluate` fills them with :func:`cells_of`), point data
    for every field, ``<name>_reference`` and ``<name>_error`` (prediction - reference).
    ``evaluation``: ``result.evaluate()`` when already computed."""
    ev = evaluation if evaluation is not None else result.evaluate()
    return write_vtu(
        path, ev.points, cells_of(ev.points, result.geometry, ev.cells), _point_data(ev)
    )


def write_time_series(
    result, folder: str | os.PathLike, times=None, name: str = "fields", h: float | None = None
) -> Path:
    """Slices ``t = times`` of a space-time result as ``folder/<name>_<k>.vtu`` files and the
    collection ``folder/<name>.pvd``, on the spatial geometry's mesh (a grid of 201 points
    in 1-D, its triangulation with element size ``h`` in 2-D, Delaunay cells in 3-D).
    ``times``: default 11 instants across the time domain. Point data: every field and, where
    the problem has an exact solution, ``<field>_reference`` and ``<field>_error``."""
    geometry = result.geometry
    space, td = getattr(geometry, "geometry", None), getattr(geometry, "timedomain", None)
    if space is None or td is None:
        raise ValueError(
            "result.geometry must be a space-time geometry (geometry * TimeDomain), got "
            f"{type(geometry).__name__}"
        )
    times = np.linspace(td.t0, td.t1, 11) if times is None else np.asarray(times, float)
    x, cells = space_mesh(space, h)
    folder = Path(folder)
    files = []
    for k, t in enumerate(times):
        xt = np.concatenate([x, np.full((len(x), 1), t)], 1)
        data = result.predict(xt)
        data = {f: v for f, v in data.items() if v.shape == (len(x),)}
        for field, ref in result.exact(xt).items():
            if field in data:
                data[f"{field}_reference"] = ref
                data[f"{field}_error"] = data[field] - ref
        files.append((t, write_vtu(folder / f"{name}_{k:04d}.vtu", x, cells, data)))
    return write_pvd(folder / f"{name}.pvd", files)


def space_mesh(space, h: float | None = None) -> tuple[np.ndarray, list]:
    """Points ``(n, d)`` and meshio cells covering a spatial geometry (1-D, 2-D or 3-D)."""
    lo, hi = (np.asarray(b, dtype=np.float64) for b in space.bbox)
    if space.dim == 1:
        x = np.linspace(lo[0], hi[0], 201)[:, None]
        return x, [("line", np.stack([np.arange(200), np.arange(1, 201)], 1))]
    if space.dim == 2 and hasattr(space, "triangulate"):
        mesh = space.triangulate(h)
        return np.asarray(mesh.points), [(k, np.asarray(c)) for k, c in mesh.cells.items()]
    if isinstance(getattr(space, "cells", None), dict):
        return np.asarray(space.points), [(k, np.asarray(c)) for k, c in space.cells.items()]
    x = np.asarray(space.sample_interior(4096, "sobol", seed=0)).astype(np.float64)
    return x, cells_of(x, space)
