"""Delaunay triangulation of a 2-D geometry whose boundary triangles follow the exact curves.

Boundary nodes are placed on every boundary piece (segments and elliptic arcs), interior
nodes on a triangular lattice at least ``h/2`` from the boundary, and triangles whose
centroid lies outside are dropped. A triangle with an edge on a curved piece is integrated
with fan rules from its opposite vertex (the map ``apex + s (c(t) - apex)`` covers the curved
triangle exactly), so quadrature weights sum to the exact area, not the polygon's.
"""

import math

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from .polygon import triangle_quadrature


class CurvedTriangulation:
    """Nodes ``(N, 2)``, counter-clockwise triangles ``(T, 3)`` and their curved edges."""

    def __init__(self, nodes, triangles, curved):
        self.nodes, self.triangles, self.curved = nodes, triangles, curved

    def mesh(self):
        """The straight-edged :class:`~kinn.geometry.Mesh` with the same nodes and triangles."""
        from .mesh import Mesh

        return Mesh(self.nodes, {"triangle": self.triangles})

    def quadrature(self, n, rule="gauss"):
        """``(points (M, 2), weights (M,))``; "gauss": ``n`` per direction, else degree ``n``."""
        from .quadrature import fan_rule

        straight = np.array([i not in self.curved for i in range(len(self.triangles))])
        tri = self.nodes[self.triangles[straight]]
        pts, w = triangle_quadrature(tri, n, rule)
        pts, weights = [pts], [w]
        m = n if rule == "gauss" else math.ceil((n + 2) / 2)
        for i, edges in self.curved.items():
            v = self.triangles[i]
            k = next(iter(edges))
            apex = self.nodes[v[(k + 2) % 3]]
            for e in range(3):
                # Straight edges through the apex sweep no area; every other edge is curved.
                if e not in edges:
                    continue
                curve, ta, tb = edges[e]
                # Arcs are not polynomial in t: a few extra points reach machine precision.
                x, wx = fan_rule(apex, curve, ta, tb, m, max(m, 6))
                pts.append(x)
                weights.append(wx)
        return np.concatenate(pts), np.concatenate(weights)


def _merge_close(points, tol):
    """Index of a representative for every point, merging points closer than ``tol``."""
    rep = np.arange(len(points))
    for i, j in sorted(cKDTree(points).query_pairs(tol)):
        rep[j] = rep[i] if rep[i] < rep[j] else rep[j]
    return rep


MAX_TRIANGLES = 2**22


def element_size(geom, h=None) -> float:
    """The element size ``h`` (default: diameter / 24), checked: positive, and not so small
    that the triangulation would pass :data:`MAX_TRIANGLES`."""
    h = geom._scale() / 24 if h is None else float(h)
    if not h > 0:
        raise ValueError(f"element size h must be positive, got {h!r}")
    count = expected_triangles(geom, h)
    if count > MAX_TRIANGLES:
        raise ValueError(
            f"h must keep the triangulation within {MAX_TRIANGLES:,} triangles, got h={h:g} "
            f"(about {count:.3g} triangles; the domain's diameter is {geom._scale():g})"
        )
    return h


def expected_triangles(geom, h: float) -> int:
    """About how many triangles :func:`triangulate` makes: twice the lattice nodes."""
    return math.ceil(2 * geom.measure / (h * h * math.sqrt(3) / 2)) + 1


def triangulate(geom, h=None):
    """Triangulate a 2-D geometry with element size ``h`` (default: diameter / 24)."""
    if geom.dim != 2:
        raise ValueError(f"triangulate needs a 2-D geometry, got dim={geom.dim}")
    scale = geom._scale()
    h = element_size(geom, h)
    coords, segments = [], []  # segments: (node a, node b, curve, ta, tb)
    for p in geom._named_patches():
        k = max(1, math.ceil(p.measure / h))
        if not p.curve.straight:
            k = max(k, math.ceil(abs(p.tb - p.ta) / (math.pi / 8)))
        t = np.linspace(p.ta, p.tb, k + 1)
        start = len(coords)
        coords += list(p.curve.point(t))
        segments += [(start + i, start + i + 1, p.curve, t[i], t[i + 1]) for i in range(k)]
    coords = np.array(coords)
    rep = _merge_close(coords, 1e-9 * scale)
    used, index = np.unique(rep, return_inverse=True)
    boundary_nodes = coords[used]
    edges = {}
    for a, b, curve, ta, tb in segments:
        a, b = index[a], index[b]
        if a != b:
            edges[(a, b)] = (curve, ta, tb)
    # Interior lattice, kept clear of the boundary so boundary edges stay Delaunay edges.
    lo, hi = geom._xmin, geom._xmax
    ys = np.arange(lo[1] + h / 2, hi[1], h * math.sqrt(3) / 2)
    rows = [
        np.stack(
            [
                np.arange(lo[0] + h / 2 * (1 + j % 2), hi[0], h),
                np.full_like(np.arange(lo[0] + h / 2 * (1 + j % 2), hi[0], h), y),
            ],
            1,
        )
        for j, y in enumerate(ys)
    ]
    lattice = np.concatenate(rows) if rows else np.zeros((0, 2))
    lattice = lattice[geom._distance(lattice) < -0.55 * h]
    nodes = np.concatenate([boundary_nodes, lattice])
    tri = Delaunay(nodes).simplices
    p = nodes[tri]
    area = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    tri[area < 0] = tri[area < 0][:, ::-1]
    tri = tri[geom._distance(nodes[tri].mean(axis=1)) < 0]
    curved, found = {}, set()
    for i, v in enumerate(tri):
        for e in range(3):
            key = (v[e], v[(e + 1) % 3])
            if key in edges:
                found.add(key)
                if not edges[key][0].straight:
                    curved.setdefault(i, {})[e] = edges[key]
    if len(found) != len(edges):
        raise ValueError(
            f"triangulation does not conform to the boundary with h={h:g}; pass a smaller h"
        )
    return CurvedTriangulation(nodes, tri, curved)
