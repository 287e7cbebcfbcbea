"""Constructive solid geometry: union ``a | b``, difference ``a - b``, intersection ``a & b``.

In 2-D the boundary of a CSG shape is built exactly: every operand curve is clipped where it
stops being boundary (transitions found by bisection), so boundary sampling, boundary
quadrature and the area (Green's theorem on the clipped curves) are exact. In other
dimensions the operands' boundary patches are filtered point by point, and the volume is
a quasi-Monte Carlo estimate (``2**16`` Sobol points in the bounding box).
"""

import numpy as np

from .boundary import FilteredPatch
from .geometry import Geometry
from .quadrature import cell_rule_size
from .sampler import sample

_OPS = ("union", "difference", "intersection")


def _filtered(patch, keep, flip):
    if isinstance(patch, FilteredPatch):
        inner = patch.keep
        return FilteredPatch(
            patch.base, lambda x: inner(x) & keep(x), patch.flip ^ flip, patch.part
        )
    return FilteredPatch(patch, keep, flip)


def _survives(patch) -> bool:
    """Whether any of a boundary patch is left (filtered patches are probed at points)."""
    if not isinstance(patch, FilteredPatch):
        return patch.measure > 0
    x, _ = patch.base.map(sample(256, max(patch.dim - 1, 1), "sobol", seed=0))
    return bool(patch.keep(x).any())


class CSG(Geometry):
    """``a <op> b`` for ``op`` in "union", "difference", "intersection".

    Boundary parts: the operands' parts; in a union or intersection parts of the same name
    merge, a difference refuses a cut whose remaining parts reuse the outer shape's names
    (name the cut: ``a - b.named("notch")``). Distance: min/max of the
    operands' distances (``smooth=True``: R-function blends). Quadrature in 2-D: "gauss"
    over a Delaunay triangulation whose boundary triangles follow the exact curves
    (``n`` points per direction per triangle, ``h=`` element size); elsewhere "montecarlo".
    """

    def __init__(self, a, b, op, name=None):
        if not isinstance(a, Geometry) or not isinstance(b, Geometry):
            raise ValueError(f"CSG needs two geometries, got {type(a)} and {type(b)}")
        if a.dim != b.dim:
            raise ValueError(f"CSG operands differ in dimension: {a.dim} and {b.dim}")
        if op not in _OPS:
            raise ValueError(f"op must be one of {_OPS}, got {op!r}")
        self.a, self.b, self.op = a, b, op
        if op == "union":
            lo, hi = np.minimum(a._xmin, b._xmin), np.maximum(a._xmax, b._xmax)
        elif op == "difference":
            lo, hi = a._xmin, a._xmax
        else:
            lo, hi = np.maximum(a._xmin, b._xmin), np.minimum(a._xmax, b._xmax)
            if np.any(lo >= hi):
                raise ValueError(
                    f"empty CSG result: intersection of disjoint bounding boxes "
                    f"{a._xmin}-{a._xmax} and {b._xmin}-{b._xmax}"
                )
        super().__init__(a.dim, lo, hi, name)
        self.rules = ("gauss", "triangle", "mesh", "montecarlo") if a.dim == 2 else ("montecarlo",)
        if self.measure <= 1e-12 * self._scale() ** self.dim:
            raise ValueError(
                f"empty CSG result: {op} of {type(a).__name__} and "
                f"{type(b).__name__} has no interior"
            )
        if op == "difference":
            self._check_cut_names()

    def _check_cut_names(self) -> None:
        """A cut's surviving edges face the other way than the outer shape's edges of the
        same name (the cut's "left" edge faces +x): refuse such names instead of merging."""
        self._named_patches()
        cut = self._patch_cache[len(self._patch_cache) - self._cut_count :]
        clash = sorted({p.part for p in cut if _survives(p)} & set(self.a.boundary_parts))
        if clash:
            raise ValueError(
                f"the cut of a CSG difference must not reuse the outer shape's part names, got "
                f"{clash} in both: name the cut, e.g. a - b.named('notch') (its whole "
                "boundary becomes one part), or cut with a Polygon given its own edge_names"
            )

    def _has_user_parts(self):
        return bool(self._user_parts) or self.a._has_user_parts() or self.b._has_user_parts()

    def _raw_part_names(self):
        return (
            self.a._built_in_part_names()
            + list(self.a._user_parts)
            + self.b._built_in_part_names()
            + list(self.b._user_parts)
        )

    def _inside(self, x):
        ia, ib = self.a._inside(x), self.b._inside(x)
        if self.op == "union":
            return ia | ib
        if self.op == "difference":
            return ia & ~(ib & (self.b._distance(x) < -1e-12 * self._scale()))
        return ia & ib

    def _distance(self, x, smooth=False):
        da, db = self.a._distance(x, smooth), self.b._distance(x, smooth)
        if self.op == "difference":
            db = -db
        if smooth:
            # R-functions: exact zero set, smooth wherever only one operand is near zero.
            root = np.sqrt(da**2 + db**2)
            return da + db - root if self.op == "union" else da + db + root
        return np.minimum(da, db) if self.op == "union" else np.maximum(da, db)

    def _closer_to_a(self, x):
        return np.abs(self.a._distance(x)) <= np.abs(self.b._distance(x))

    def _normal(self, x):
        use_a = self._closer_to_a(x)
        normal = np.empty_like(x)
        if use_a.any():
            normal[use_a] = self.a._normal(x[use_a])
        if (~use_a).any():
            nb = self.b._normal(x[~use_a])
            normal[~use_a] = -nb if self.op == "difference" else nb
        return normal

    def _assign_raw(self, x):
        use_a = self._closer_to_a(x)
        names = np.empty(len(x), dtype=object)
        if use_a.any():
            names[use_a] = self.a._assign(x[use_a])
        if (~use_a).any():
            names[~use_a] = self.b._assign(x[~use_a])
        return names

    def _keepers(self):
        """Point filters for the operands' boundaries: which of their points stay boundary."""
        a, b, op = self.a, self.b, self.op
        tol = 1e-12 * self._scale()

        def keep_a(x):
            db = b._distance(x)
            keep = db < -tol if op == "intersection" else db > tol
            close = np.abs(db) <= tol
            if close.any():
                # Coincident boundaries: a's copy stays iff the two normals agree (union,
                # intersection) or oppose (difference).
                agree = (a._normal(x[close]) * b._normal(x[close])).sum(axis=1) > 0
                keep[close] = agree if op != "difference" else ~agree
            return keep

        def keep_b(x):
            da = a._distance(x)
            return da > tol if op == "union" else da < -tol

        return keep_a, keep_b

    def _patches(self):
        """The boundary pieces of ``a`` that stay, then those of ``b``."""
        keep_a, keep_b = self._keepers()
        flip_b = self.op == "difference"
        pa, pb = self.a._named_patches(), self.b._named_patches()
        if self.dim == 2:
            from_a = [q for p in pa for q in p.clip(keep_a)]
            from_b = [q.flipped() if flip_b else q for p in pb for q in p.clip(keep_b)]
        else:
            from_a = [_filtered(p, keep_a, False) for p in pa]
            from_b = [_filtered(p, keep_b, flip_b) for p in pb]
        self._cut_count = len(from_b)
        return from_a + from_b

    def _named_patches(self):
        if not hasattr(self, "_patch_cache"):
            self._patch_cache = self._patches()
        return (
            [p.renamed(self._name) for p in self._patch_cache] if self._name else self._patch_cache
        )

    def _measure(self):
        if self.dim <= 2:
            # Divergence theorem with F = x / d on the exact boundary pieces.
            total = 0.0
            for p in self._named_patches():
                x, normal, w = p.quadrature(8)
                total += float(np.sum(w * (x * normal).sum(axis=1))) / self.dim
            return total
        u = sample(2**16, self.dim, "sobol", seed=0)
        hits = self._inside(self._xmin + u * (self._xmax - self._xmin)).mean()
        return float(hits * np.prod(self._xmax - self._xmin))

    def _rule_size(self, n, rule, h=None, **kw):
        from .triangulation import element_size, expected_triangles

        triangles = expected_triangles(self, element_size(self, h))
        size, meaning = cell_rule_size(2, n, rule)
        return triangles * size, f"{meaning}, on about {triangles} triangles of size h"

    def _quadrature(self, n, rule, h=None, **kw):
        from .triangulation import triangulate

        return triangulate(self, h).quadrature(n, rule)
