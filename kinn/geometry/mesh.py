"""Unstructured meshes (triangles, quads, tetrahedra, hexahedra) as geometries, via meshio."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .boundary import CurvePatch, Segment, TrianglesPatch
from .geometry import ArrayLike, Geometry
from .polygon import map_to_triangles, segment_distance
from .quadrature import (
    cell_rule_size,
    collapsed_gauss,
    gauss_legendre,
    simplex_rule,
    tensor_rule,
)

_DIM = {"triangle": 2, "quad": 2, "tetra": 3, "hexahedron": 3}
_SIZE = {"triangle": 3, "quad": 4, "tetra": 4, "hexahedron": 8}
# Simplex splits; the hexahedron's six tetrahedra follow the paths from vertex 0 to 6.
_SPLIT: dict[str, list[tuple[int, ...]]] = {
    "triangle": [(0, 1, 2)],
    "quad": [(0, 1, 2), (0, 2, 3)],
    "tetra": [(0, 1, 2, 3)],
    "hexahedron": [
        (0, 1, 2, 6),
        (0, 1, 5, 6),
        (0, 4, 5, 6),
        (0, 4, 7, 6),
        (0, 3, 7, 6),
        (0, 3, 2, 6),
    ],
}
_FACETS = {
    "triangle": [(0, 1), (1, 2), (2, 0)],
    "quad": [(0, 1), (1, 2), (2, 3), (3, 0)],
    "tetra": [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)],
    "hexahedron": [
        (0, 1, 2, 3),
        (4, 5, 6, 7),
        (0, 1, 5, 4),
        (1, 2, 6, 5),
        (2, 3, 7, 6),
        (3, 0, 4, 7),
    ],
}
# Reference corners of the tensor-product cells (VTK / meshio node order).
_CORNERS = {
    "quad": np.array([(0, 0), (1, 0), (1, 1), (0, 1)], float),
    "hexahedron": np.array(
        [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
        float,
    ),
}


def _is_block(c):
    return hasattr(c, "type") or (isinstance(c, tuple) and isinstance(c[0], str))


def _as_cell_dict(cells, point_dim):
    """``{type: (m, k) int array}`` from a dict, meshio cell blocks / pairs, or one array."""
    if isinstance(cells, dict):
        items = list(cells.items())
    elif len(cells) and _is_block(cells[0]):
        items = [(c.type, c.data) if hasattr(c, "type") else c for c in cells]
    else:
        arr = np.asarray(cells)
        nodes = arr.shape[1] if arr.ndim == 2 else None
        kind = {3: "triangle", 4: "quad" if point_dim == 2 else "tetra", 8: "hexahedron"}
        if nodes not in kind:
            raise ValueError(f"cells must be an (m, 3|4|8) index array, got shape {arr.shape}")
        items = [(kind[nodes], arr)]
    out = {}
    for kind, data in items:
        if kind in _DIM:
            data = np.asarray(data, dtype=np.int64).reshape(-1, _SIZE[kind])
            out[kind] = np.concatenate([out[kind], data]) if kind in out else data
    return out


def _shape_functions(corners, xi):
    """Multilinear shape functions ``(q, k)`` and gradients ``(q, k, d)`` at ``xi (q, d)``."""
    factors = np.where(corners[None], xi[:, None], 1 - xi[:, None])  # (q, k, d)
    sign = np.where(corners, 1.0, -1.0)[None]
    values = factors.prod(axis=2)
    grads = np.empty_like(factors)
    for j in range(xi.shape[1]):
        others = np.delete(factors, j, axis=2).prod(axis=2)
        grads[:, :, j] = sign[:, :, j] * others
    return values, grads


class Mesh(Geometry):
    """A mesh of triangles/quads (2-D) or tetrahedra/hexahedra (3-D) as a geometry.

    ``Mesh(points (N, d), cells)`` with ``cells`` a dict ``{"triangle": (m, 3), ...}``, a
    list of meshio cell blocks, or one index array (type inferred). Lower-dimensional cells
    (lines, boundary faces) are ignored. Boundary = facets used by one cell, part
    ``"boundary"``. Interior sampling is area/volume-weighted over cells. Quadrature:
    "gauss" (``n`` points per direction in every cell) or "triangle"/"mesh" (degree ``n``
    simplex rules; quads/hexes get Gauss of the same degree); quads and hexes are
    integrated through their multilinear map.
    """

    rules = ("gauss", "triangle", "mesh", "montecarlo")

    def __init__(self, points: ArrayLike, cells: Any, name: str | None = None) -> None:
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] not in (2, 3) or not np.all(np.isfinite(pts)):
            raise ValueError(f"mesh points must be finite (N, 2) or (N, 3), got {pts.shape}")
        given = _as_cell_dict(cells, pts.shape[1])
        dim = max((_DIM[k] for k, c in given.items() if len(c)), default=0)
        if dim == 0:
            raise ValueError("mesh has no cells of type triangle, quad, tetra or hexahedron")
        cells = {k: c for k, c in given.items() if _DIM[k] == dim and len(c)}
        if dim == 2 and pts.shape[1] == 3:
            if np.ptp(pts[:, 2]) > 1e-12 * max(np.ptp(pts), 1.0):
                raise ValueError("2-D cells with non-planar points (surface meshes) unsupported")
            pts = pts[:, :2]
        if dim == 3 and pts.shape[1] == 2:
            raise ValueError("3-D cells (tetra/hexahedron) need 3-D points")
        for kind, c in cells.items():
            if c.min() < 0 or c.max() >= len(pts):
                raise ValueError(f"{kind} cells index points outside [0, {len(pts)})")
        self.points, self.cells = pts, cells
        simplices = np.concatenate([pts[c[:, s]] for k, c in cells.items() for s in _SPLIT[k]])
        edges = simplices[:, 1:] - simplices[:, :1]
        det = np.linalg.det(edges)
        if np.any(np.abs(det) <= 1e-14 * np.ptp(pts) ** dim):
            raise ValueError("mesh has degenerate (zero-measure) cells")
        self._simplices = simplices
        self._volumes = np.abs(det) / math.factorial(dim)
        self._inverse = np.linalg.inv(edges.transpose(0, 2, 1))  # x - v0 -> barycentric
        super().__init__(dim, pts.min(axis=0), pts.max(axis=0), name)
        self._build_boundary()

    @classmethod
    def from_file(cls, path: str | os.PathLike, name: str | None = None) -> Mesh:
        """Read any meshio format (``.msh``, ``.vtu``, ``.vtk``, ``.xdmf``, ...)."""
        import meshio

        m = meshio.read(path)
        return cls(m.points, m.cells, name=name)

    def write(self, path: str | os.PathLike) -> None:
        """Write the mesh with meshio (format from the file extension)."""
        import meshio

        pts = self.points
        if self.dim == 2:
            pts = np.hstack([pts, np.zeros((len(pts), 1))])  # most formats store 3-D points
        meshio.write_points_cells(str(path), pts, [(k, c) for k, c in self.cells.items()])

    def _build_boundary(self):
        owners, keys = [], []
        for kind, c in self.cells.items():
            centroid = self.points[c].mean(axis=1)
            for f in _FACETS[kind]:
                keys.append(np.sort(c[:, f], axis=1))
                owners.append((c[:, f], centroid))
        width = max(len(k[0]) for k in keys)
        padded = np.concatenate(
            [np.pad(k, ((0, 0), (0, width - k.shape[1])), constant_values=-1) for k in keys]
        )
        _, inverse, counts = np.unique(padded, axis=0, return_inverse=True, return_counts=True)
        once = counts[inverse.ravel()] == 1
        facets, centroids, start = [], [], 0
        for f, cen in owners:
            sel = once[start : start + len(f)]
            facets += list(f[sel])
            centroids += list(cen[sel])
            start += len(f)
        centroids = np.array(centroids)
        if self.dim == 2:
            f = np.array(facets)
            a, b = self.points[f[:, 0]], self.points[f[:, 1]]
            rel, ab = centroids - a, b - a
            left = ab[:, 0] * rel[:, 1] - ab[:, 1] * rel[:, 0] > 0
            self._seg_a, self._seg_b = np.where(left[:, None], a, b), np.where(left[:, None], b, a)
            d = self._seg_b - self._seg_a
            normal = np.stack([d[:, 1], -d[:, 0]], axis=1)
        else:
            tris, cen = [], []
            for f, c in zip(facets, centroids):
                for t in [(0, 1, 2)] if len(f) == 3 else [(0, 1, 2), (0, 2, 3)]:
                    tris.append(self.points[f[list(t)]])
                    cen.append(c)
            self._facets = np.array(tris)
            normal = np.cross(
                self._facets[:, 1] - self._facets[:, 0], self._facets[:, 2] - self._facets[:, 0]
            )
            outward = ((self._facets.mean(axis=1) - np.array(cen)) * normal).sum(1) > 0
            normal *= np.where(outward, 1.0, -1.0)[:, None]
        self._facet_normals = normal / np.linalg.norm(normal, axis=1, keepdims=True)

    def _raw_part_names(self):
        return ["boundary"]

    def _assign_raw(self, x):
        return np.full(len(x), "boundary", dtype=object)

    def _patches(self):
        if self.dim == 2:
            return [
                CurvePatch(Segment(a, b), 0.0, 1.0, "boundary")
                for a, b in zip(self._seg_a, self._seg_b)
            ]
        return [TrianglesPatch(self._facets, self._facet_normals, "boundary")]

    def _inside(self, x):
        eps = 1e-10
        out = np.zeros(len(x), bool)
        step = max(1, 2_000_000 // len(self._simplices))
        for i in range(0, len(x), step):
            rel = x[i : i + step, None, :] - self._simplices[None, :, 0]
            bary = np.einsum("cij,ncj->nci", self._inverse, rel)
            ok = np.all(bary >= -eps, axis=2) & (bary.sum(axis=2) <= 1 + eps)
            out[i : i + step] = ok.any(axis=1)
        return out

    def _facet_distances(self, x):
        if self.dim == 2:
            return segment_distance(x, self._seg_a, self._seg_b)
        tri = self._facets
        a = tri[:, 0]
        rel = x[:, None, :] - a[None]
        height = (rel * self._facet_normals[None]).sum(-1)
        foot = rel - height[..., None] * self._facet_normals[None]
        e1, e2 = tri[:, 1] - a, tri[:, 2] - a
        g = np.stack([e1, e2], axis=1)  # (m, 2, 3)
        gram_inv = np.linalg.inv(np.einsum("mid,mjd->mij", g, g))
        st = np.einsum("mij,nmj->nmi", gram_inv, np.einsum("mjd,nmd->nmj", g, foot))
        within = (st[..., 0] >= 0) & (st[..., 1] >= 0) & (st.sum(-1) <= 1)
        edges = np.stack(
            [segment_distance(x, tri[:, i], tri[:, (i + 1) % 3]) for i in range(3)], axis=-1
        ).min(axis=-1)
        return np.where(within, np.abs(height), edges)

    def _distance(self, x, smooth=False):
        dist = self._facet_distances(x).min(axis=1)
        return np.where(self._inside(x) & (dist > 0), -dist, dist)

    def _normal(self, x):
        return self._facet_normals[np.argmin(self._facet_distances(x), axis=1)]

    def _measure(self):
        return float(self._volumes.sum())

    def _map_unit(self, u):
        if self.dim == 2:
            return map_to_triangles(self._simplices, u)
        cum = np.concatenate([[0.0], np.cumsum(self._volumes)])
        s = u[:, 0] * cum[-1]
        k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(self._volumes) - 1)
        a = np.clip((s - cum[k]) / self._volumes[k], 0, 1)
        b, c = u[:, 1].copy(), u[:, 2].copy()
        # Fold the unit cube onto the unit tetrahedron, preserving volume (Rocchini-Cignoni).
        fold = a + b > 1
        a[fold], b[fold] = 1 - a[fold], 1 - b[fold]
        fold1 = b + c > 1
        fold2 = ~fold1 & (a + b + c > 1)
        a1, b1, c1 = a.copy(), b.copy(), c.copy()
        b[fold1], c[fold1] = 1 - c1[fold1], 1 - a1[fold1] - b1[fold1]
        a[fold2], c[fold2] = 1 - b1[fold2] - c1[fold2], a1[fold2] + b1[fold2] + c1[fold2] - 1
        t = self._simplices[k]
        return (
            t[:, 0]
            + a[:, None] * (t[:, 1] - t[:, 0])
            + b[:, None] * (t[:, 2] - t[:, 0])
            + c[:, None] * (t[:, 3] - t[:, 0])
        )

    def _rule_size(self, n, rule, **kw):
        count = 0
        for kind, c in self.cells.items():
            if kind in ("triangle", "tetra"):
                count += len(c) * cell_rule_size(self.dim, n, rule)[0]
            else:
                count += len(c) * (n if rule == "gauss" else math.ceil((n + 1) / 2)) ** self.dim
        return count, cell_rule_size(self.dim, n, rule)[1]

    def _quadrature(self, n, rule, **kw):
        pts, weights = [], []
        for kind, c in self.cells.items():
            vertices = self.points[c]
            if kind in ("triangle", "tetra"):
                bary, w = (
                    collapsed_gauss(self.dim, n) if rule == "gauss" else simplex_rule(self.dim, n)
                )
                x = np.einsum("qk,ckd->cqd", bary, vertices)
                edges = vertices[:, 1:] - vertices[:, :1]
                vol = np.abs(np.linalg.det(edges)) / math.factorial(self.dim)
                wq = vol[:, None] * w[None]
            else:
                m = n if rule == "gauss" else math.ceil((n + 1) / 2)
                xi, w = tensor_rule([gauss_legendre(m)] * self.dim)
                values, grads = _shape_functions(_CORNERS[kind], xi)
                x = np.einsum("qk,ckd->cqd", values, vertices)
                jac = np.einsum("qkj,ckd->cqdj", grads, vertices)
                wq = np.abs(np.linalg.det(jac)) * w[None]
            pts.append(x.reshape(-1, self.dim))
            weights.append(wq.ravel())
        return np.concatenate(pts), np.concatenate(weights)
