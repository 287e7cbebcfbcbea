"""Two-dimensional primitives: :class:`Rectangle`, :class:`Disk`, :class:`Ellipse`."""

from __future__ import annotations

import math

import numpy as np

from .boundary import CurvePatch, EllipseArc
from .geometry import ArrayLike, Geometry, check_positive, check_vector
from .geometry_nd import Ball, Box


class Rectangle(Box):
    """Axis-aligned rectangle; boundary parts ``"left", "right", "bottom", "top"``."""

    def __init__(self, xmin: ArrayLike, xmax: ArrayLike, name: str | None = None) -> None:
        if np.asarray(xmin).shape != (2,):
            raise ValueError(f"Rectangle xmin must have 2 coordinates, got {xmin!r}")
        super().__init__(xmin, xmax, name)

    def _face_names(self):
        return ["left", "right", "bottom", "top"]


class Disk(Ball):
    """Disk ``|x - center| <= radius``; boundary part ``"boundary"``."""

    def __init__(self, center: ArrayLike, radius: float, name: str | None = None) -> None:
        if np.asarray(center).shape != (2,):
            raise ValueError(f"Disk center must have 2 coordinates, got {center!r}")
        super().__init__(center, radius, name)


def _ellipse_distance(p, e0, e1):
    """Unsigned distance from local points ``p (n, 2)`` to the ellipse with semi-axes e0 >= e1.

    Eberly's robust method: bisection on the Lagrange multiplier of the closest point.
    """
    y0, y1 = np.abs(p[:, 0]), np.abs(p[:, 1])
    dist = np.empty(len(p))
    on_axis = y1 <= 1e-300
    # Off the major axis: the closest point follows from one monotone root.
    z0, z1 = y0[~on_axis] / e0, y1[~on_axis] / e1
    r0 = (e0 / e1) ** 2
    n0 = r0 * z0
    g = z0**2 + z1**2 - 1
    s0, s1 = z1 - 1, np.where(g < 0, 0.0, np.hypot(n0, z1) - 1)
    for _ in range(120):
        s = (s0 + s1) / 2
        f = (n0 / (s + r0)) ** 2 + (z1 / (s + 1)) ** 2 - 1
        s0, s1 = np.where(f > 0, s, s0), np.where(f > 0, s1, s)
    s = (s0 + s1) / 2
    x0, x1 = r0 * y0[~on_axis] / (s + r0), y1[~on_axis] / (s + 1)
    dist[~on_axis] = np.hypot(x0 - y0[~on_axis], x1 - y1[~on_axis])
    # On the major axis, points near the centre are closest to an off-axis point.
    y = y0[on_axis]
    near = y < (e0**2 - e1**2) / e0
    x0 = np.where(near, e0**2 * y / max(e0**2 - e1**2, 1e-300), e0)
    x1 = np.where(near, e1 * np.sqrt(np.clip(1 - (x0 / e0) ** 2, 0, None)), 0.0)
    dist[on_axis] = np.hypot(x0 - y, x1)
    return dist


class Ellipse(Geometry):
    """Ellipse with ``center``, semi-axes ``semimajor``, ``semiminor`` rotated by ``angle``.

    Boundary part ``"boundary"``. Distance is exact (Eberly's closest-point root). Quadrature
    "gauss": the disk's polar rule mapped affinely (exact to degree ``2n - 1``).
    """

    rules = ("gauss", "montecarlo")

    def __init__(
        self,
        center: ArrayLike,
        semimajor: float,
        semiminor: float,
        angle: float = 0.0,
        name: str | None = None,
    ) -> None:
        self.center = check_vector(center, 2, "center")
        self.a = check_positive(semimajor, "semimajor")
        self.b = check_positive(semiminor, "semiminor")
        self.angle = float(angle)
        c, s = math.cos(self.angle), math.sin(self.angle)
        self.rot = np.array([[c, -s], [s, c]])
        half = (
            np.sqrt((self.a * c) ** 2 + (self.b * s) ** 2),
            np.sqrt((self.a * s) ** 2 + (self.b * c) ** 2),
        )
        super().__init__(2, self.center - half, self.center + half, name)
        self._unit = Disk([0.0, 0.0], 1.0)

    def _local(self, x):
        return (x - self.center) @ self.rot

    def _raw_part_names(self):
        return ["boundary"]

    def _inside(self, x):
        p = self._local(x)
        return (p[:, 0] / self.a) ** 2 + (p[:, 1] / self.b) ** 2 <= 1 + 1e-12

    def _distance(self, x, smooth=False):
        p = self._local(x)
        if self.a >= self.b:
            dist = _ellipse_distance(p, self.a, self.b)
        else:
            dist = _ellipse_distance(p[:, ::-1], self.b, self.a)
        inside = (p[:, 0] / self.a) ** 2 + (p[:, 1] / self.b) ** 2 < 1
        return np.where(inside, -dist, dist)

    def _normal(self, x):
        p = self._local(x)
        grad = np.stack([p[:, 0] / self.a**2, p[:, 1] / self.b**2], axis=1) @ self.rot.T
        return grad / np.linalg.norm(grad, axis=1, keepdims=True)

    def _assign_raw(self, x):
        return np.full(len(x), "boundary", dtype=object)

    def _patches(self):
        curve = EllipseArc(self.center, self.a, self.b, self.angle)
        return [CurvePatch(curve, 0.0, 2 * math.pi, "boundary")]

    def _measure(self):
        return math.pi * self.a * self.b

    def _from_unit_disk(self, p):
        return self.center + (p * np.array([self.a, self.b])) @ self.rot.T

    def _map_unit(self, u):
        return self._from_unit_disk(self._unit._map_unit(u))

    def _rule_size(self, n, rule, **kw):
        return self._unit._rule_size(n, rule)

    def _quadrature(self, n, rule, **kw):
        p, w = self._unit._quadrature(n, rule)
        return self._from_unit_disk(p), w * self.a * self.b
