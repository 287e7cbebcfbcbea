"""Simple polygons (any number of vertices, convex or not), triangles and Koch snowflakes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .boundary import CurvePatch, Segment
from .geometry import ArrayLike, Geometry
from .quadrature import cell_rule_size, collapsed_gauss, simplex_rule


def _cross(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def segment_distance(x, a, b):
    """Distances ``(n, m)`` from points ``x (n, 2)`` to segments ``a -> b`` (each ``(m, 2)``)."""
    ab = b - a
    rel = x[:, None, :] - a[None]
    t = np.clip((rel * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-300), 0, 1)
    return np.linalg.norm(rel - t[..., None] * ab, axis=-1)


def _segments_cross(a, b, c, d):
    """Bool ``(m, k)``: segment ``a_i b_i`` meets ``c_j d_j`` (touching counts)."""
    ab, cd = (b - a)[:, None], (d - c)[None]
    scale = max(float(np.ptp(np.concatenate([a, b, c, d]), axis=0).max()), 1e-300)
    eps = 1e-12 * scale**2
    # Orientation signs with a tolerance, so nearly collinear edges are judged as collinear.
    o1, o2 = (
        np.sign(np.where(np.abs(o) <= eps, 0, o))
        for o in (_cross(ab, c[None] - a[:, None]), _cross(ab, d[None] - a[:, None]))
    )
    o3, o4 = (
        np.sign(np.where(np.abs(o) <= eps, 0, o))
        for o in (_cross(cd, a[:, None] - c[None]), _cross(cd, b[:, None] - c[None]))
    )
    proper = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    lo, hi = np.minimum(a, b)[:, None], np.maximum(a, b)[:, None]
    lo2, hi2 = np.minimum(c, d)[None], np.maximum(c, d)[None]
    boxes = np.all((lo <= hi2 + 1e-12 * scale) & (lo2 <= hi + 1e-12 * scale), axis=-1)
    collinear = (o1 == 0) & (o2 == 0)
    return np.where(collinear, boxes, proper)


def ear_clip(v):
    """Triangulate a simple counter-clockwise polygon ``v (m, 2)`` -> indices ``(m - 2, 3)``."""
    idx = list(range(len(v)))
    tris = []
    i, misses, lenient = 0, 0, False
    while len(idx) > 3:
        k = len(idx)
        a, b, c = idx[(i - 1) % k], idx[i % k], idx[(i + 1) % k]
        turn = _cross(v[b] - v[a], v[c] - v[b])
        ok = turn > 0 or (lenient and turn >= -1e-14)
        if ok:
            others = np.array([j for j in idx if j not in (a, b, c)])
            p = v[others]
            # Closed containment test: an ear may not even touch another vertex.
            s1 = _cross(v[b] - v[a], p - v[a])
            s2 = _cross(v[c] - v[b], p - v[b])
            s3 = _cross(v[a] - v[c], p - v[c])
            ok = not np.any((s1 >= 0) & (s2 >= 0) & (s3 >= 0))
        if ok:
            if turn > 0:
                tris.append((a, b, c))
            idx.pop(i % k)
            i, misses, lenient = max(i - 1, 0), 0, False
        else:
            i, misses = i + 1, misses + 1
            if misses > k:
                # Only collinear vertices are left to remove: accept zero-area ears once.
                if lenient:
                    raise ValueError("ear clipping failed: polygon is not simple")
                lenient, misses = True, 0
    tris.append(tuple(idx))
    return np.array(tris)


class Polygon(Geometry):
    """Simple polygon through ``vertices (m, 2)`` in either orientation.

    Boundary parts: ``"edge0", ..., "edge{m-1}"`` (edge ``i`` joins vertex ``i`` to ``i+1``);
    ``edge_names`` renames them, either a list of ``m`` names or a mapping
    ``name -> [edge indices]`` (edges sharing a name form one part). Quadrature over the exact
    ear-clipping triangulation: "gauss" (collapsed Gauss, ``n`` points per direction per
    triangle, degree ``2n - 1``) and "triangle"/"mesh" (symmetric rule of degree ``n``).
    """

    rules = ("gauss", "triangle", "mesh", "montecarlo")

    def __init__(
        self,
        vertices: ArrayLike,
        name: str | None = None,
        edge_names: Sequence[str] | dict[str, Sequence[int]] | None = None,
    ) -> None:
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3 or not np.all(np.isfinite(v)):
            raise ValueError(f"Polygon needs at least 3 finite 2-D vertices, got shape {v.shape}")
        if np.allclose(v[0], v[-1]) and len(v) > 3:
            v = v[:-1]
        m = len(v)
        names = self._edge_names(edge_names, m)
        scale = float(np.ptp(v, axis=0).max())
        nxt = np.roll(v, -1, axis=0)
        if np.any(np.linalg.norm(nxt - v, axis=1) <= 1e-14 * scale):
            raise ValueError("degenerate polygon: two consecutive vertices coincide")
        d, d_next = nxt - v, np.roll(nxt - v, -1, axis=0)
        folds = (np.abs(_cross(d, d_next)) <= 1e-12 * scale**2) & ((d * d_next).sum(1) < 0)
        if folds.any():
            k = int(np.argmax(folds))
            raise ValueError(f"degenerate polygon: edge {(k + 1) % m} folds back onto edge {k}")
        meets = _segments_cross(v, nxt, v, nxt)
        i, j = np.triu_indices(m, 2)
        adjacent = (j - i == 1) | ((i == 0) & (j == m - 1))
        bad = meets[i, j] & ~adjacent
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"self-intersecting polygon: edges {i[k]} and {j[k]} intersect")
        area = 0.5 * float(np.sum(_cross(v, nxt)))
        if abs(area) <= 1e-14 * scale**2:
            raise ValueError(f"degenerate polygon: zero area (vertices {v.tolist()})")
        if area < 0:
            # Keep the domain on the left of every edge; edge i now runs backwards.
            v = v[::-1].copy()
            names = [names[(m - 2 - k) % m] for k in range(m)]
        self.vertices, self.names = v, names
        self._area = abs(area)
        self._triangles = v[ear_clip(v)]
        super().__init__(2, v.min(axis=0), v.max(axis=0), name)

    @staticmethod
    def _edge_names(edge_names, m):
        names = [f"edge{i}" for i in range(m)]
        if edge_names is None:
            return names
        if isinstance(edge_names, dict):
            for part, edges in edge_names.items():
                for e in edges:
                    if not 0 <= int(e) < m:
                        raise ValueError(f"edge index {e} of part {part!r} not in [0, {m})")
                    names[int(e)] = str(part)
            return names
        if len(edge_names) != m:
            raise ValueError(f"edge_names needs {m} names, got {len(edge_names)}")
        return [str(s) for s in edge_names]

    def _raw_part_names(self):
        return self.names

    def _edge_distances(self, x):
        return segment_distance(x, self.vertices, np.roll(self.vertices, -1, axis=0))

    def _inside(self, x):
        return self._distance(x) <= 1e-12 * self._scale()

    def _distance(self, x, smooth=False):
        a, b = self.vertices, np.roll(self.vertices, -1, axis=0)
        dist = self._edge_distances(x).min(axis=1)
        # Even-odd rule with a ray towards +x.
        ya, yb = a[None, :, 1], b[None, :, 1]
        y = x[:, 1:2]
        straddles = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = a[None, :, 0] + (y - ya) * (b[None, :, 0] - a[None, :, 0]) / (yb - ya)
        inside = (np.sum(straddles & (x[:, 0:1] < xc), axis=1) % 2) == 1
        return np.where(inside, -dist, dist)

    def _nearest_edge(self, x):
        return np.argmin(self._edge_distances(x), axis=1)

    def _normal(self, x):
        d = np.roll(self.vertices, -1, axis=0) - self.vertices
        normal = np.stack([d[:, 1], -d[:, 0]], axis=1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        return normal[self._nearest_edge(x)]

    def _assign_raw(self, x):
        return np.array(self.names, dtype=object)[self._nearest_edge(x)]

    def _patches(self):
        v = self.vertices
        return [
            CurvePatch(Segment(v[i], v[(i + 1) % len(v)]), 0.0, 1.0, self.names[i])
            for i in range(len(v))
        ]

    def _measure(self):
        return self._area

    def _map_unit(self, u):
        return map_to_triangles(self._triangles, u)

    def _rule_size(self, n, rule, **kw):
        size, meaning = cell_rule_size(2, n, rule)
        return len(self._triangles) * size, meaning

    def _quadrature(self, n, rule, **kw):
        return triangle_quadrature(self._triangles, n, rule)


def triangle_areas(tri):
    """Areas ``(m,)`` of triangles ``tri (m, 3, 2)``."""
    return 0.5 * np.abs(_cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]))


def map_to_triangles(tri, u):
    """Area-uniform map of ``u (n, 2)`` onto triangles ``tri (m, 3, 2)`` -> ``(n, 2)``.

    The first coordinate picks a triangle (by area) and, rescaled, serves again inside it.
    """
    areas = triangle_areas(tri)
    cum = np.concatenate([[0.0], np.cumsum(areas)])
    s = u[:, 0] * cum[-1]
    k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(tri) - 1)
    r = np.sqrt(np.clip((s - cum[k]) / areas[k], 0, 1))
    t = tri[k]
    v = u[:, 1:2]
    return (1 - r)[:, None] * t[:, 0] + (r[:, None] * (1 - v)) * t[:, 1] + r[:, None] * v * t[:, 2]


def triangle_quadrature(tri, n, rule):
    """Rule over triangles ``tri (m, 3, 2)``: "gauss" n points per direction, else degree n."""
    bary, w = collapsed_gauss(2, n) if rule == "gauss" else simplex_rule(2, n)
    pts = np.einsum("qk,ckd->cqd", bary, tri).reshape(-1, 2)
    return pts, (triangle_areas(tri)[:, None] * w[None]).ravel()


class Triangle(Polygon):
    """Triangle with vertices ``x1, x2, x3`` (DeepXDE's argument names)."""

    def __init__(
        self,
        x1: ArrayLike,
        x2: ArrayLike,
        x3: ArrayLike,
        name: str | None = None,
        edge_names: Sequence[str] | dict[str, Sequence[int]] | None = None,
    ) -> None:
        super().__init__([x1, x2, x3], name=name, edge_names=edge_names)


def koch_snowflake(level, side=1.0, center=(0.0, 0.0), name=None):
    """Koch snowflake polygon of refinement ``level`` built on an equilateral triangle.

    Its area is ``sqrt(3)/4 side^2 (8/5 - 3/5 (4/9)^level)``; ``3 * 4**level`` edges.
    """
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise ValueError(f"Koch snowflake level must be an integer >= 0, got {level!r}")
    if not float(side) > 0:
        raise ValueError(f"Koch snowflake side must be positive, got {side!r}")
    angles = math.pi / 2 + 2 * math.pi * np.arange(3) / 3
    radius = side / math.sqrt(3)
    v = np.asarray(center, float) + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    turn = np.array([[0.5, math.sqrt(3) / 2], [-math.sqrt(3) / 2, 0.5]])  # rotate by -60 deg
    for _ in range(level):
        a, b = v, np.roll(v, -1, axis=0)
        p, q = a + (b - a) / 3, a + 2 * (b - a) / 3
        # Counter-clockwise boundary: the outward bump is to the right of each edge.
        peak = p + (q - p) @ turn.T
        v = np.stack([a, p, peak, q], axis=1).reshape(-1, 2)
    return Polygon(v, name=name)
