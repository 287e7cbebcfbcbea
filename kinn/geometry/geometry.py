"""The abstract :class:`Geometry` interface and the CSG operators every shape shares.

Public methods take and return torch tensors; subclasses implement numpy float64 hooks
(``_inside``, ``_distance``, ``_normal``, ``_patches``, ...) so that the numerics stay in
one precision and the tensor conversion lives in one place.

Sign convention: ``distance(x)`` is negative inside, zero on the boundary, positive outside.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .adf import DistanceFunction, Trimmed, collect
from .quadrature import RULES_1D, check_size, tensor_rule
from .sampler import check_count, check_method, rejection_sample, sample

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

    from .mesh import Mesh

# points: a tensor, an array or nested sequences of shape (n, d)
ArrayLike = torch.Tensor | np.ndarray | Sequence
Device = torch.device | str | None


def to_numpy(x: ArrayLike, dim: int) -> np.ndarray:
    """Points as numpy float64 ``(n, dim)``; raises ``ValueError`` on a wrong shape."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64).numpy()
    x = np.asarray(x, dtype=float)
    if x.ndim == 1 and dim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"points must have shape (n, {dim}), got {tuple(x.shape)}")
    return x


def to_tensor(
    a: ArrayLike, dtype: torch.dtype | None = None, device: Device = None
) -> torch.Tensor:
    dtype = torch.get_default_dtype() if dtype is None else dtype
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)


def check_vector(v, dim, what):
    """A length-``dim`` float vector from ``v``; ``ValueError`` naming ``what`` otherwise."""
    a = np.atleast_1d(np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, float))
    if a.shape != (dim,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be {dim} finite numbers, got {v!r}")
    return a


def check_positive(r, what):
    r = float(r)
    if not (r > 0 and math.isfinite(r)):
        raise ValueError(f"{what} must be positive and finite, got {r!r}")
    return r


class BoundaryPart:
    """A named part of a geometry's boundary, for attaching boundary conditions by name."""

    def __init__(self, geometry, name):
        self.geometry, self.name = geometry, name

    def sample(self, n: int, method: str = "sobol", **kw: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(points (n, d), normals (n, d))`` on this part."""
        return self.geometry.sample_boundary(n, method, part=self.name, **kw)

    def quadrature(self, n: int, rule: str = "gauss", **kw: Any) -> tuple[torch.Tensor, ...]:
        """``(points, normals, weights)`` whose weights sum to this part's length/area."""
        return self.geometry.boundary_quadrature(n, rule, part=self.name, **kw)

    def contains(self, x: ArrayLike, tol: float | None = None) -> torch.Tensor:
        """Bool ``(n,)``: which points lie on this part."""
        return self.geometry.on_boundary(x, tol, part=self.name)

    def __repr__(self):
        return f"BoundaryPart({self.name!r})"


class Geometry:
    """Abstract geometry in ``dim`` dimensions with bounding box ``xmin, xmax``.

    Subclasses implement ``_inside``, ``_distance``, ``_normal``, ``_patches`` (boundary
    patches with raw part names), ``_raw_part_names``, ``_assign_raw`` (part of each boundary
    point), ``_measure`` and optionally ``_map_unit(u)`` (a measure-preserving map of the unit
    cube ``(n, dim)`` onto the domain) and ``_quadrature(n, rule)``.
    """

    rules: tuple[str, ...] = ("montecarlo",)

    def __init__(self, dim, xmin, xmax, name=None):
        self.dim = dim
        self._xmin, self._xmax = np.asarray(xmin, float), np.asarray(xmax, float)
        self._name = name
        self._user_parts = OrderedDict()
        self._adf_cache: dict[tuple[str, ...], DistanceFunction] = {}

    # ---- numpy hooks -------------------------------------------------------------------
    _map_unit: Callable[[np.ndarray], np.ndarray] | None = None

    def _inside(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _distance(self, x: np.ndarray, smooth: bool = False) -> np.ndarray:
        raise NotImplementedError

    def _normal(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _patches(self) -> list:
        raise NotImplementedError

    def _raw_part_names(self) -> list[str]:
        raise NotImplementedError

    def _assign_raw(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _measure(self) -> float:
        raise NotImplementedError

    def _quadrature(self, n, rule, **kw):
        raise NotImplementedError

    def _rule_size(self, n: int, rule: str, **kw) -> tuple[int, str]:
        """How many points ``_quadrature(n, rule)`` creates, and what ``n`` means."""
        raise NotImplementedError

    def _has_user_parts(self):
        return bool(self._user_parts)

    def _named_patches(self):
        patches = self._patches()
        return [p.renamed(self._name) for p in patches] if self._name else patches

    def _assign(self, x):
        """Part name of each boundary point ``x (n, d)``: numpy array of str."""
        names = np.asarray(self._assign_raw(x), dtype=object)
        if self._name:
            names[:] = self._name
        for name, predicate in self._user_parts.items():
            mask = np.asarray(predicate(torch.as_tensor(x)), dtype=bool).reshape(-1)
            names[mask] = name
        return names

    def _scale(self):
        return float(np.linalg.norm(self._xmax - self._xmin))

    # ---- public interface --------------------------------------------------------------
    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(xmin, xmax)``, each a tensor ``(d,)``."""
        return to_tensor(self._xmin), to_tensor(self._xmax)

    @property
    def measure(self) -> float:
        """Length, area or volume (exact unless the subclass documents an estimate)."""
        if not hasattr(self, "_measure_cache"):
            self._measure_cache = float(self._measure())
        return self._measure_cache

    @property
    def name(self) -> str | None:
        return self._name

    def named(self, name: str) -> Self:
        """A copy whose whole boundary is the single part ``name`` (e.g. ``"hole"``)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a boundary part name must be a non-empty string, got {name!r}")
        other = copy.copy(self)
        other._name = name
        other._user_parts = OrderedDict(self._user_parts)
        other._adf_cache = {}
        return other

    def add_boundary_part(self, name: str, predicate: Callable[[torch.Tensor], Any]) -> Self:
        """Claim the boundary points where ``predicate(x (n, d)) -> bool (n,)`` as part ``name``.

        User parts take precedence over built-in ones, in the order they were added. Returns
        ``self`` so calls chain.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a boundary part name must be a non-empty string, got {name!r}")
        if not callable(predicate):
            raise ValueError(f"predicate for part {name!r} must be callable, got {predicate!r}")
        if name in self._built_in_part_names():
            raise ValueError(f"boundary part {name!r} already exists; pick another name")
        self._user_parts[name] = predicate
        return self

    def _built_in_part_names(self):
        return [self._name] if self._name else list(dict.fromkeys(self._raw_part_names()))

    @property
    def boundary_parts(self) -> dict[str, BoundaryPart]:
        """Ordered mapping ``name -> BoundaryPart`` (built-in parts, then user parts)."""
        names = self._built_in_part_names() + [n for n in self._user_parts]
        return OrderedDict((n, BoundaryPart(self, n)) for n in dict.fromkeys(names))

    def _check_part(self, part):
        if part is not None and part not in self.boundary_parts:
            raise ValueError(
                f"part must be a boundary part of {list(self.boundary_parts)}, got {part!r}"
            )

    def inside(self, x: ArrayLike) -> torch.Tensor:
        """Bool ``(n,)``: ``x (n, d)`` in the closed domain."""
        x = to_numpy(x, self.dim)
        return torch.as_tensor(self._inside(x))

    def distance(self, x: ArrayLike, smooth: bool = False) -> torch.Tensor:
        """Signed distance ``(n,)`` of ``x (n, d)``: negative inside, positive outside.

        Exact for primitives. CSG combines operands with min/max (exact zero set, exact
        outside unions); ``smooth=True`` uses R-function blends instead, which keep the zero
        set but are smooth away from corners (for hard constraints ``u = g + d N``).
        """
        x_t = x if isinstance(x, torch.Tensor) else None
        d = self._distance(to_numpy(x, self.dim), smooth)
        dtype = x_t.dtype if x_t is not None and x_t.is_floating_point() else None
        return to_tensor(d, dtype, x_t.device if x_t is not None else None)

    def adf(self, parts: str | Sequence[str] | None = None) -> DistanceFunction:
        """A smooth distance function of boundary ``parts`` for hard constraints.

        ``parts``: a part name, a list of them, or None / ``"boundary"`` for the whole
        boundary. Returns ``phi``, a torch function ``x (N, d) -> (N,)`` (differentiable to
        any order in the open domain) with ``phi > 0`` inside, ``phi = 0`` on the parts and
        ``|grad phi| = 1`` there: an approximate distance function (Sukumar & Srivastava
        2022; see :mod:`kinn.geometry.adf`). Straight edges and faces use their line or
        plane, circles, ellipses and spheres their normalised equation; where a line or curve
        runs on through the domain beyond its part (a re-entrant edge, a cut), the piece is
        trimmed to the part. Parts claimed by predicates (:meth:`add_boundary_part`), trimmed
        3-D faces and 3-D mesh facets have none: pass your own ``distance=`` there.
        """
        names = self._adf_parts(parts)
        if names not in self._adf_cache:
            lo, hi = self._xmin, self._xmax
            tol = 1e-9 * max(self._scale(), 1.0)
            pieces = []
            for name in names:
                patches = [p for p in self._named_patches() if p.part == name]
                if not patches:
                    raise ValueError(
                        f"boundary part {name!r} is claimed by a predicate and has no distance "
                        "function: pass distance=fn(x) -> (N,)"
                    )
                for patch in patches:
                    make = getattr(patch, "distance_piece", None)
                    found = make(lo, hi) if make is not None else None
                    if found is None:
                        raise ValueError(
                            f"boundary part {name!r} ({type(patch).__name__}) has no distance "
                            "function: pass distance=fn(x) -> (N,)"
                        )
                    piece, trim, extension = found
                    if extension is not None and len(extension):
                        if np.any(self._distance(extension) < -tol):
                            if trim is None:
                                raise ValueError(
                                    f"boundary part {name!r}: its surface runs on through the "
                                    "domain and cannot be trimmed here; pass distance=fn(x)"
                                )
                            piece = Trimmed(piece, trim, tol)
                    pieces.append(piece)
            self._adf_cache[names] = DistanceFunction(collect(pieces), self.dim, names)
        return self._adf_cache[names]

    def _adf_parts(self, parts) -> tuple[str, ...]:
        names = (parts,) if parts is None or isinstance(parts, str) else tuple(parts)
        if not names:
            raise ValueError(f"parts must name at least one boundary part, got {parts!r}")
        if None in names or "boundary" in names:
            return tuple(self._built_in_part_names())
        for name in names:
            self._check_part(name)
        return tuple(dict.fromkeys(names))

    def on_boundary(
        self, x: ArrayLike, tol: float | None = None, part: str | None = None
    ) -> torch.Tensor:
        """Bool ``(n,)``: ``|distance| <= tol`` (default ``1e-6 * diameter``), and on ``part``."""
        self._check_part(part)
        x = to_numpy(x, self.dim)
        tol = 1e-6 * max(self._scale(), 1.0) if tol is None else float(tol)
        mask = np.abs(self._distance(x)) <= tol
        if part is not None and mask.any():
            mask[mask] = self._assign(x[mask]) == part
        return torch.as_tensor(mask)

    def boundary_normal(self, x: ArrayLike) -> torch.Tensor:
        """Outward unit normals ``(n, d)`` at boundary points ``x (n, d)``."""
        x_np = to_numpy(x, self.dim)
        dtype = x.dtype if isinstance(x, torch.Tensor) and x.is_floating_point() else None
        return to_tensor(self._normal(x_np), dtype)

    def boundary_part_of(self, x: ArrayLike) -> list[str]:
        """Names of the boundary part each point ``x (n, d)`` lies on (nearest part)."""
        return [str(s) for s in self._assign(to_numpy(x, self.dim))]

    def sample_interior(
        self,
        n: int,
        method: str = "sobol",
        seed: int | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> torch.Tensor:
        """``n`` collocation points ``(n, d)`` inside, from sampler ``method``.

        Shapes with a measure-preserving map of the unit cube use it directly; others sample
        the bounding box with the same sequence and keep the points inside, topping up with
        its continuation.
        """
        n, method = check_count(n), check_method(method)
        if self._map_unit is not None:
            x = self._map_unit(sample(n, self.dim, method, seed))
        else:
            lo, hi = self._xmin, self._xmax
            guess = self.measure / float(np.prod(hi - lo))
            x = rejection_sample(
                n, self.dim, method, seed, lambda u: lo + u * (hi - lo), self._inside, guess
            )
        return to_tensor(x, dtype, device)

    def _boundary_patches(self, part):
        patches = self._named_patches()
        if part is not None:
            # Parts claimed by predicates (here or in an operand) come from the whole boundary.
            patches = [p for p in patches if p.part == part] or patches
        return patches

    def sample_boundary(
        self,
        n: int,
        method: str = "sobol",
        part: str | None = None,
        seed: int | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(points (n, d), normals (n, d))`` uniform on the boundary or on one ``part``."""
        n, method = check_count(n), check_method(method)
        self._check_part(part)
        patches = self._boundary_patches(part)
        k = max(self.dim - 1, 1)
        measures = np.array([p.measure for p in patches])
        cum = np.concatenate([[0.0], np.cumsum(measures)])
        filtered = any(not p.exact for p in patches)
        need_part = part is not None and self._has_user_parts()

        def to_rows(u):
            s = u[:, 0] * cum[-1]
            idx = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(patches) - 1)
            u = u.copy()
            u[:, 0] = np.clip((s - cum[idx]) / measures[idx], 0.0, np.nextafter(1.0, 0))
            rows = np.full((len(u), 2 * self.dim + 1), np.nan)
            for i in np.unique(idx):
                sel = idx == i
                x, normal = patches[i].map(u[sel])
                rows[sel, : self.dim], rows[sel, self.dim : 2 * self.dim] = x, normal
                keep = patches[i].keep(x) if not patches[i].exact else True
                rows[sel, -1] = keep
            return rows

        def keep(rows):
            mask = rows[:, -1] > 0
            if need_part and mask.any():
                mask[mask] = self._assign(rows[mask, : self.dim]) == part
            return mask

        if filtered or need_part:
            rows = rejection_sample(n, k, method, seed, to_rows, keep, 0.5)
        else:
            rows = to_rows(sample(n, k, method, seed))
        return (
            to_tensor(rows[:, : self.dim], dtype, device),
            to_tensor(rows[:, self.dim : 2 * self.dim], dtype, device),
        )

    def boundary_quadrature(
        self,
        n: int,
        rule: str = "gauss",
        part: str | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(points, normals, weights)`` on the boundary or one ``part``.

        ``n`` is the Gauss points per patch direction (per edge, arc or face). Weights sum to
        the length/area: exactly on straight edges, circle arcs, faces and spheres; CSG in
        3-D masks its operands' rules (accurate to the rule's resolution at the cut); user
        predicate parts keep the points the predicate claims.
        """
        n = check_count(n)
        if rule != "gauss":
            raise ValueError(f"rule must be 'gauss' for boundary quadrature, got {rule!r}")
        self._check_part(part)
        patches = self._boundary_patches(part)
        count = sum(p.rule_size(n) for p in patches)
        meaning = "n is the Gauss order per boundary patch (per edge, arc or face direction)"
        check_size(count, n, "gauss", f"the boundary of {type(self).__name__}", meaning)
        pts, normals, weights = zip(*(p.quadrature(n) for p in patches))
        x, normal, w = np.concatenate(pts), np.concatenate(normals), np.concatenate(weights)
        if part is not None and self._has_user_parts():
            mask = self._assign(x) == part
            x, normal, w = x[mask], normal[mask], w[mask]
        return (
            to_tensor(x, dtype, device),
            to_tensor(normal, dtype, device),
            to_tensor(w, dtype, device),
        )

    def quadrature(
        self,
        n: int,
        rule: str = "gauss",
        dtype: torch.dtype | None = None,
        device: Device = None,
        **kw: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(points (N, d), weights (N,))`` with weights summing to the measure.

        Rules per shape are listed in ``self.rules``. "montecarlo" works everywhere: ``n``
        quasi-random (``method=``, default Sobol) interior points, each weighted measure/n.
        See each shape for what ``n`` means (points per axis for tensor rules).
        """
        n = check_count(n)
        if rule not in self.rules:
            raise ValueError(
                f"rule must be one of {self.rules} for {type(self).__name__}, got {rule!r}"
            )
        if rule == "montecarlo":
            check_size(n, n, rule, type(self).__name__, "n is the number of points")
            draw = self.sample_interior(n, kw.get("method", "sobol"), kw.get("seed"), torch.float64)
            x, w = draw.numpy(), np.full(n, self.measure / n)
        else:
            count, meaning = self._rule_size(n, rule, **kw)
            check_size(count, n, rule, type(self).__name__, meaning)
            x, w = self._quadrature(n, rule, **kw)
        return to_tensor(x, dtype, device), to_tensor(w, dtype, device)

    def triangulate(self, h: float | None = None) -> Mesh:
        """A straight-edged :class:`~kinn.geometry.Mesh` of a 2-D domain (Delaunay)."""
        from .triangulation import triangulate

        return triangulate(self, h).mesh()

    # ---- CSG and space-time ------------------------------------------------------------
    def __or__(self, other):
        from .csg import CSG

        return CSG(self, other, "union")

    def __sub__(self, other):
        from .csg import CSG

        return CSG(self, other, "difference")

    def __and__(self, other):
        from .csg import CSG

        return CSG(self, other, "intersection")

    def __mul__(self, other):
        from .timedomain import GeometryXTime, TimeDomain

        if not isinstance(other, TimeDomain):
            raise ValueError(f"geometry * x needs x to be a TimeDomain, got {type(other)}")
        return GeometryXTime(self, other)


def tensor_box_rule(xmin, xmax, n, rule):
    """Tensor rule ``rule`` ("gauss", "trapezoid", "simpson") with ``n`` points per axis."""
    return tensor_rule([RULES_1D[rule](n, a, b) for a, b in zip(xmin, xmax)])
