"""Boundary patches: pieces of a boundary that can be sampled and integrated over.

A patch maps the unit cube ``[0, 1)^k`` (``k = max(d - 1, 1)``) onto its piece of boundary
uniformly in length/area and knows an exact quadrature rule for itself. Each patch carries the
name of the boundary part it belongs to. In 2-D every patch is a :class:`CurvePatch` (a
straight segment or an elliptic arc between two parameters), oriented with the domain on its
left, which lets CSG clip curves exactly.
"""

import math

import numpy as np

from .adf import Ball2, Flat, Quadric
from .quadrature import cell_rule_size, gauss_legendre, simplex_rule, tensor_rule
from .sampler import sample

#: points per patch at which a piece's line or curve is checked for passing through the domain
EXTENSION_SAMPLES = 257


def _line_in_box(p0, p1, lo, hi):
    """Parameters ``s`` of ``p0 + s (p1 - p0)`` off the segment (``s`` outside ``[0, 1]``) but
    inside the box ``[lo, hi]``: ``(k, d)`` points of the line's extension."""
    d = p1 - p0
    smin, smax = -np.inf, np.inf
    for a in range(len(d)):
        if abs(d[a]) > 0:
            s0, s1 = sorted(((lo[a] - p0[a]) / d[a], (hi[a] - p0[a]) / d[a]))
            smin, smax = max(smin, s0), min(smax, s1)
    if not np.isfinite(smin) or smax <= smin:
        return np.zeros((0, len(d)))
    s = np.linspace(smin, smax, 4 * EXTENSION_SAMPLES)
    s = s[(s < -1e-9) | (s > 1 + 1e-9)]
    return p0 + s[:, None] * d


class Segment:
    """Straight curve ``c(t) = p0 + t (p1 - p0)``, ``t`` in ``[0, 1]``."""

    straight = True

    def __init__(self, p0, p1):
        self.p0, self.p1 = np.asarray(p0, float), np.asarray(p1, float)

    def point(self, t):
        return self.p0 + np.asarray(t, float)[:, None] * (self.p1 - self.p0)

    def deriv(self, t):
        return np.broadcast_to(self.p1 - self.p0, (len(t), 2))

    def arclength(self, ta, tb):
        return abs(tb - ta) * float(np.linalg.norm(self.p1 - self.p0))

    def t_at(self, ta, tb, f):
        return ta + f * (tb - ta)


class EllipseArc:
    """Elliptic curve ``c(t) = center + R(angle) (a cos t, b sin t)``; a circle when a == b."""

    straight = False

    def __init__(self, center, a, b, angle=0.0):
        self.center = np.asarray(center, float)
        self.a, self.b = float(a), float(b)
        c, s = math.cos(angle), math.sin(angle)
        self.rot = np.array([[c, -s], [s, c]])

    def point(self, t):
        local = np.stack([self.a * np.cos(t), self.b * np.sin(t)], axis=1)
        return self.center + local @ self.rot.T

    def deriv(self, t):
        local = np.stack([-self.a * np.sin(t), self.b * np.cos(t)], axis=1)
        return local @ self.rot.T

    def _speed(self, t):
        return np.hypot(self.a * np.sin(t), self.b * np.cos(t))

    def _cumulative(self, ta, tb, m=512):
        """Arc length from ``ta`` to ``m + 1`` equispaced parameters (8-point Gauss per panel)."""
        knots = np.linspace(ta, tb, m + 1)
        x, w = gauss_legendre(8)
        h = (tb - ta) / m
        panels = (self._speed(knots[:-1, None] + h * x[None]) * w).sum(1) * abs(h)
        return knots, np.concatenate([[0.0], np.cumsum(panels)])

    def arclength(self, ta, tb):
        if self.a == self.b:
            return self.a * abs(tb - ta)
        return float(self._cumulative(ta, tb)[1][-1])

    def t_at(self, ta, tb, f):
        if self.a == self.b:
            return ta + f * (tb - ta)
        # Invert the arc-length table; the points stay exactly on the curve either way.
        knots, s = self._cumulative(ta, tb, 2048)
        return np.interp(f * s[-1], s, knots)


class CurvePatch:
    """The curve between parameters ``ta`` and ``tb`` (``tb < ta`` runs it backwards).

    The domain lies to the left of the direction of travel, so the outward normal is the
    tangent turned clockwise.
    """

    dim = 2
    exact = True

    def __init__(self, curve, ta, tb, part):
        self.curve, self.ta, self.tb, self.part = curve, float(ta), float(tb), part
        self.measure = curve.arclength(self.ta, self.tb)

    def renamed(self, part):
        return CurvePatch(self.curve, self.ta, self.tb, part)

    def flipped(self):
        return CurvePatch(self.curve, self.tb, self.ta, self.part)

    def _at(self, t):
        d = self.curve.deriv(t) * np.sign(self.tb - self.ta)
        normal = np.stack([d[:, 1], -d[:, 0]], axis=1)
        return self.curve.point(t), normal / np.linalg.norm(normal, axis=1, keepdims=True)

    def map(self, u):
        return self._at(self.curve.t_at(self.ta, self.tb, u[:, 0]))

    def rule_size(self, n):
        return n

    def quadrature(self, n):
        t, w = gauss_legendre(n, self.ta, self.tb)
        x, normal = self._at(t)
        return x, normal, np.abs(w) * np.linalg.norm(self.curve.deriv(t), axis=1)

    def distance_piece(self, lo, hi):
        """``(piece, trim, extension)`` for :meth:`Geometry.adf`: the ADF of the untrimmed
        line or curve (positive inside), a trimming function positive on this patch only, and
        points of the line or curve inside the box ``[lo, hi]`` but off this patch."""
        pa, pb = self.curve.point(np.array([self.ta, self.tb]))
        if self.curve.straight:
            _, normal = self._at(np.array([(self.ta + self.tb) / 2]))
            piece = Flat(normal, normal @ pa)
            return piece, Ball2.over(pa[None], pb[None]), _line_in_box(pa, pb, lo, hi)
        c = self.curve
        tm = (self.ta + self.tb) / 2
        xm, normal = self._at(np.array([tm]))
        local = (xm[0] - c.center) @ c.rot
        outward = c.rot @ (local / np.array([c.a, c.b]) ** 2)  # the curve's own outward normal
        piece = Quadric(c.center, c.rot, np.array([c.a, c.b]), np.sign(normal[0] @ outward))
        span = self.tb - self.ta
        if abs(span) >= 2 * math.pi * (1 - 1e-12) or np.linalg.norm(pb - pa) <= 1e-12 * c.a:
            return piece, None, np.zeros((0, 2))
        chord = pb - pa
        nu = np.array([-chord[1], chord[0]]) / np.linalg.norm(chord)
        nu = nu if (xm[0] - pa) @ nu > 0 else -nu
        trim = Flat(-nu[None], np.array([-nu @ pa]))  # (x - pa) . nu
        rest = self.tb + np.sign(span) * np.linspace(0, 2 * math.pi - abs(span), EXTENSION_SAMPLES)
        return piece, trim, c.point(rest[1:-1])

    def clip(self, keep, samples=257):
        """Sub-patches where ``keep(x)`` holds; transitions located by bisection."""
        t = np.linspace(self.ta, self.tb, samples)
        inside = keep(self.curve.point(t))
        if inside.all():
            return [self]
        flips = np.nonzero(inside[1:] != inside[:-1])[0]
        lo, hi = t[flips], t[flips + 1]
        lo_state = inside[flips]
        for _ in range(60):
            mid = (lo + hi) / 2
            same = keep(self.curve.point(mid)) == lo_state
            lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
        cuts = np.concatenate([[self.ta], (lo + hi) / 2, [self.tb]])
        states = np.concatenate([[inside[0]], ~lo_state])
        return [
            CurvePatch(self.curve, cuts[i], cuts[i + 1], self.part)
            for i in range(len(states))
            if states[i] and cuts[i] != cuts[i + 1]
        ]


class PointPatch:
    """An end point of a 1-D domain; its measure counts the point once."""

    dim = 1
    exact = True
    measure = 1.0

    def __init__(self, x, normal, part):
        self.x, self.normal, self.part = float(x), float(normal), part

    def renamed(self, part):
        return PointPatch(self.x, self.normal, part)

    def flipped(self):
        return PointPatch(self.x, -self.normal, self.part)

    def map(self, u):
        return np.full((len(u), 1), self.x), np.full((len(u), 1), self.normal)

    def rule_size(self, n):
        return 1

    def quadrature(self, n):
        return np.array([[self.x]]), np.array([[self.normal]]), np.ones(1)

    def distance_piece(self, lo, hi):
        return Flat(np.array([[self.normal]]), np.array([self.normal * self.x])), None, None


class BoxFacePatch:
    """The face ``x[axis] = value`` of an axis-aligned box in ``d >= 3`` dimensions."""

    exact = True

    def __init__(self, xmin, xmax, axis, side, part):
        self.xmin, self.xmax, self.axis, self.side, self.part = xmin, xmax, axis, side, part
        self.dim = len(xmin)
        self.others = [i for i in range(self.dim) if i != axis]
        self.measure = float(np.prod((xmax - xmin)[self.others]))

    def renamed(self, part):
        return BoxFacePatch(self.xmin, self.xmax, self.axis, self.side, part)

    def _embed(self, free):
        x = np.empty((len(free), self.dim))
        x[:, self.others] = free
        x[:, self.axis] = self.xmax[self.axis] if self.side > 0 else self.xmin[self.axis]
        normal = np.zeros_like(x)
        normal[:, self.axis] = self.side
        return x, normal

    def map(self, u):
        lo, hi = self.xmin[self.others], self.xmax[self.others]
        return self._embed(lo + u[:, : self.dim - 1] * (hi - lo))

    def rule_size(self, n):
        return n ** (self.dim - 1)

    def quadrature(self, n):
        free, w = tensor_rule([gauss_legendre(n, self.xmin[i], self.xmax[i]) for i in self.others])
        return (*self._embed(free), w)

    def distance_piece(self, lo, hi):
        normal = np.zeros((1, self.dim))
        normal[0, self.axis] = self.side
        value = self.xmax[self.axis] if self.side > 0 else self.xmin[self.axis]
        # The plane inside the box [lo, hi] but off this face.
        m = max(2, round(EXTENSION_SAMPLES ** (1 / (self.dim - 1))))
        free, _ = tensor_rule([(np.linspace(lo[i], hi[i], m), np.ones(m)) for i in self.others])
        off = np.any((free < self.xmin[self.others]) | (free > self.xmax[self.others]), axis=1)
        x, _ = self._embed(free[off])
        return Flat(normal, np.array([self.side * value])), None, x


class SpherePatch:
    """The sphere ``|x - center| = radius`` in 3-D."""

    dim = 3
    exact = True

    def __init__(self, center, radius, part):
        self.center, self.radius, self.part = center, radius, part
        self.measure = 4 * math.pi * radius**2

    def renamed(self, part):
        return SpherePatch(self.center, self.radius, part)

    def _embed(self, z, phi):
        rho = np.sqrt(np.clip(1 - z**2, 0, None))
        normal = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
        return self.center + self.radius * normal, normal

    def map(self, u):
        # Archimedes: z uniform in [-1, 1] is area-preserving, so quasi-random stays uniform.
        return self._embed(1 - 2 * u[:, 0], 2 * math.pi * u[:, 1])

    def distance_piece(self, lo, hi):
        piece = Quadric(self.center, np.eye(3), np.full(3, self.radius), 1.0)
        return piece, None, None

    def rule_size(self, n):
        return 2 * n * n

    def quadrature(self, n):
        z, wz = gauss_legendre(n, -1.0, 1.0)
        phi = 2 * math.pi * np.arange(2 * n) / (2 * n)
        pts, w = tensor_rule([(z, wz), (phi, np.full(2 * n, math.pi / n))])
        return (*self._embed(pts[:, 0], pts[:, 1]), w * self.radius**2)


class TrianglesPatch:
    """Flat triangles in 3-D, ``triangles (m, 3, 3)`` with outward ``normals (m, 3)``."""

    dim = 3
    exact = True

    def __init__(self, triangles, normals, part):
        self.triangles, self.normals, self.part = triangles, normals, part
        cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        self.areas = np.linalg.norm(cross, axis=1) / 2
        self.measure = float(self.areas.sum())
        self._cum = np.concatenate([[0.0], np.cumsum(self.areas)])

    def renamed(self, part):
        return TrianglesPatch(self.triangles, self.normals, part)

    def map(self, u):
        # The first coordinate picks a triangle by area and is reused inside it.
        s = u[:, 0] * self.measure
        k = np.clip(np.searchsorted(self._cum, s, side="right") - 1, 0, len(self.areas) - 1)
        r = np.sqrt(np.clip((s - self._cum[k]) / self.areas[k], 0, 1))
        v = u[:, 1]
        tri = self.triangles[k]
        x = (1 - r)[:, None] * tri[:, 0] + (r * (1 - v))[:, None] * tri[:, 1]
        return x + (r * v)[:, None] * tri[:, 2], self.normals[k]

    def rule_size(self, n):
        return len(self.areas) * cell_rule_size(2, 2 * n - 1, "triangle")[0]

    def quadrature(self, n):
        bary, w = simplex_rule(2, 2 * n - 1)
        x = np.einsum("mk,ckd->cmd", bary, self.triangles).reshape(-1, 3)
        normals = np.repeat(self.normals, len(w), axis=0)
        return x, normals, (self.areas[:, None] * w[None]).ravel()


class FilteredPatch:
    """The part of ``base`` where ``keep(x)`` holds; normals flipped when ``flip``.

    Its ``measure`` is the base's (an upper bound); samplers reject the points ``keep``
    refuses, and its quadrature masks the base rule, which is exact only away from the cut.
    """

    exact = False

    def __init__(self, base, keep, flip, part=None):
        self.base, self.keep, self.flip = base, keep, flip
        self.part = base.part if part is None else part
        self.dim, self.measure = base.dim, base.measure

    def renamed(self, part):
        return FilteredPatch(self.base, self.keep, self.flip, part)

    def map(self, u):
        x, normal = self.base.map(u)
        return x, -normal if self.flip else normal

    def rule_size(self, n):
        return self.base.rule_size(n)

    def quadrature(self, n):
        x, normal, w = self.base.quadrature(n)
        mask = self.keep(x)
        return x[mask], (-normal if self.flip else normal)[mask], w[mask]

    def distance_piece(self, lo, hi):
        """The base's untrimmed piece; its extension adds the base points ``keep`` drops."""
        found = getattr(self.base, "distance_piece", None)
        if found is None:
            return None
        piece, _, extension = found(lo, hi)
        x, _ = self.base.map(sample(EXTENSION_SAMPLES, max(self.dim - 1, 1), "sobol", seed=0))
        dropped = x[~self.keep(x)]
        extension = dropped if extension is None else np.concatenate([extension, dropped])
        return (piece.negated() if self.flip else piece), None, extension
