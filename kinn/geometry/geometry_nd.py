"""Shapes in any dimension: the axis-aligned :class:`Box` and the :class:`Ball` (2-D, 3-D)."""

from __future__ import annotations

import math

import numpy as np

from .boundary import BoxFacePatch, CurvePatch, EllipseArc, PointPatch, Segment, SpherePatch
from .geometry import ArrayLike, Geometry, check_positive, check_vector, tensor_box_rule
from .quadrature import gauss_jacobi01, gauss_legendre, tensor_rule


class Box(Geometry):
    """Axis-aligned box ``[xmin, xmax]`` in ``d = len(xmin)`` dimensions.

    Boundary parts: ``"x0_min", "x0_max", "x1_min", ...`` (subclasses rename them).
    Quadrature: "gauss", "trapezoid", "simpson" with ``n`` points per axis (``n ** d`` in
    all), "montecarlo" with ``n`` points.
    """

    rules = ("gauss", "trapezoid", "simpson", "montecarlo")

    def __init__(self, xmin: ArrayLike, xmax: ArrayLike, name: str | None = None) -> None:
        lo = np.atleast_1d(np.asarray(xmin, float))
        lo = check_vector(lo, len(lo), "xmin")
        hi = check_vector(xmax, len(lo), "xmax")
        if not np.all(hi > lo):
            raise ValueError(f"need xmax > xmin on every axis, got xmin={lo}, xmax={hi}")
        super().__init__(len(lo), lo, hi, name)

    def _face_names(self):
        return [f"x{i}_{side}" for i in range(self.dim) for side in ("min", "max")]

    def _raw_part_names(self):
        return self._face_names()

    def _inside(self, x):
        eps = 1e-12 * self._scale()
        return np.all((x >= self._xmin - eps) & (x <= self._xmax + eps), axis=1)

    def _distance(self, x, smooth=False):
        q = np.abs(x - (self._xmin + self._xmax) / 2) - (self._xmax - self._xmin) / 2
        outside = np.linalg.norm(np.maximum(q, 0), axis=1)
        return outside + np.minimum(q.max(axis=1), 0)

    def _nearest_face(self, x):
        gaps = np.stack([np.abs(x - self._xmin), np.abs(x - self._xmax)], axis=2)
        return np.argmin(gaps.reshape(len(x), -1), axis=1)  # face 2*axis + (0 min, 1 max)

    def _normal(self, x):
        face = self._nearest_face(x)
        normal = np.zeros_like(x)
        normal[np.arange(len(x)), face // 2] = np.where(face % 2 == 1, 1.0, -1.0)
        return normal

    def _assign_raw(self, x):
        return np.array(self._face_names(), dtype=object)[self._nearest_face(x)]

    def _patches(self):
        lo, hi, names = self._xmin, self._xmax, self._face_names()
        if self.dim == 1:
            return [PointPatch(lo[0], -1.0, names[0]), PointPatch(hi[0], 1.0, names[1])]
        if self.dim == 2:
            # Counter-clockwise, domain on the left: bottom, right, top, left.
            corners = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
            order = [names[2], names[1], names[3], names[0]]
            return [
                CurvePatch(Segment(corners[i], corners[(i + 1) % 4]), 0.0, 1.0, order[i])
                for i in range(4)
            ]
        return [
            BoxFacePatch(lo, hi, axis, side, names[2 * axis + (side > 0)])
            for axis in range(self.dim)
            for side in (-1, 1)
        ]

    def _measure(self):
        return float(np.prod(self._xmax - self._xmin))

    def _map_unit(self, u):
        return self._xmin + u * (self._xmax - self._xmin)

    def _rule_size(self, n, rule, **kw):
        return n**self.dim, f"n is the number of points per axis (n^{self.dim} in all)"

    def _quadrature(self, n, rule, **kw):
        return tensor_box_rule(self._xmin, self._xmax, n, rule)


class Ball(Geometry):
    """Ball ``|x - center| <= radius`` in 2-D (a disk) or 3-D (a sphere's solid).

    Boundary part: ``"boundary"``. Quadrature "gauss": polar/spherical product rule with
    ``n`` radial points, exact for polynomials of degree ``2n - 1``.
    """

    rules = ("gauss", "montecarlo")

    def __init__(self, center: ArrayLike, radius: float, name: str | None = None) -> None:
        center = np.atleast_1d(np.asarray(center, float))
        if len(center) not in (2, 3):
            raise ValueError(f"Ball center must have 2 or 3 coordinates, got {center!r}")
        c = check_vector(center, len(center), "center")
        self.center, self.radius = c, check_positive(radius, "radius")
        super().__init__(len(c), c - radius, c + radius, name)

    def _raw_part_names(self):
        return ["boundary"]

    def _inside(self, x):
        return np.linalg.norm(x - self.center, axis=1) <= self.radius * (1 + 1e-12)

    def _distance(self, x, smooth=False):
        return np.linalg.norm(x - self.center, axis=1) - self.radius

    def _normal(self, x):
        rel = x - self.center
        return rel / np.linalg.norm(rel, axis=1, keepdims=True)

    def _assign_raw(self, x):
        return np.full(len(x), "boundary", dtype=object)

    def _patches(self):
        if self.dim == 2:
            circle = EllipseArc(self.center, self.radius, self.radius)
            return [CurvePatch(circle, 0.0, 2 * math.pi, "boundary")]
        return [SpherePatch(self.center, self.radius, "boundary")]

    def _measure(self):
        r = self.radius
        return math.pi * r**2 if self.dim == 2 else 4 / 3 * math.pi * r**3

    def _map_unit(self, u):
        # Area/volume-preserving polar maps keep quasi-random points evenly spread.
        if self.dim == 2:
            r, phi = self.radius * np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1]
            return self.center + r[:, None] * np.stack([np.cos(phi), np.sin(phi)], axis=1)
        r = self.radius * np.cbrt(u[:, 0])
        z, phi = 1 - 2 * u[:, 1], 2 * math.pi * u[:, 2]
        rho = np.sqrt(np.clip(1 - z**2, 0, None))
        direction = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
        return self.center + r[:, None] * direction

    def _rule_size(self, n, rule, **kw):
        return 2 * n**self.dim, (
            f"n is the number of radial Gauss points (degree 2n - 1; 2 n^{self.dim} points)"
        )

    def _quadrature(self, n, rule, **kw):
        m = 2 * n  # the trapezoid rule in angle is exact for frequencies below m
        phi = (np.arange(m) + 0.5) * 2 * math.pi / m
        angle = (phi, np.full(m, 2 * math.pi / m))
        if self.dim == 2:
            s, ws = gauss_jacobi01(n, beta=1)
            pts, w = tensor_rule([(s, ws), angle])
            r = self.radius * pts[:, 0]
            xy = np.stack([r * np.cos(pts[:, 1]), r * np.sin(pts[:, 1])], axis=1)
            return self.center + xy, w * self.radius**2
        s, ws = gauss_jacobi01(n, beta=2)
        pts, w = tensor_rule([(s, ws), gauss_legendre(n, -1.0, 1.0), angle])
        r, z, phi = self.radius * pts[:, 0], pts[:, 1], pts[:, 2]
        rho = np.sqrt(1 - z**2)
        xyz = r[:, None] * np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
        return self.center + xyz, w * self.radius**3
