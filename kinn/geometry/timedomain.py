"""Time intervals and space-time products for evolution problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch

from .adf import Columns, DistanceFunction, Flat
from .geometry import ArrayLike, BoundaryPart, Device, Geometry, to_numpy, to_tensor
from .geometry_1d import Interval
from .quadrature import check_size, gauss_legendre
from .sampler import check_count, check_method, rejection_sample, sample


class TimeDomain(Interval):
    """Time interval ``[t0, t1]``; boundary parts ``"initial"`` and ``"final"``."""

    def __init__(self, t0: float, t1: float, name: str | None = None) -> None:
        if not float(t1) > float(t0):
            raise ValueError(f"TimeDomain needs t0 < t1, got t0={t0!r}, t1={t1!r}")
        super().__init__(t0, t1, name)
        self.t0, self.t1 = float(t0), float(t1)

    def _face_names(self):
        return ["initial", "final"]


class GeometryXTime:
    """Space-time cylinder ``geometry x [t0, t1]``; points are ``(n, d + 1)``, time last.

    Interior and lateral-boundary samples come from one ``(d + 1)``-dimensional sequence so
    quasi-random points stay evenly spread in space-time. Lateral boundary parts are the
    spatial geometry's; ``sample_initial`` gives the ``t = t0`` slice.
    """

    def __init__(self, geometry: Geometry, timedomain: TimeDomain) -> None:
        if not isinstance(geometry, Geometry) or not isinstance(timedomain, TimeDomain):
            raise ValueError(
                "GeometryXTime needs a Geometry and a TimeDomain, got "
                f"{type(geometry).__name__} and {type(timedomain).__name__}"
            )
        self.geometry, self.timedomain = geometry, timedomain
        self.dim = geometry.dim + 1

    @property
    def measure(self) -> float:
        return self.geometry.measure * (self.timedomain.t1 - self.timedomain.t0)

    @property
    def boundary_parts(self) -> dict[str, BoundaryPart]:
        return self.geometry.boundary_parts

    @property
    def bbox(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(xmin, xmax)`` tensors ``(d + 1,)``, time last."""
        g, td = self.geometry, self.timedomain
        return to_tensor(np.append(g._xmin, td.t0)), to_tensor(np.append(g._xmax, td.t1))

    def distance(self, x: ArrayLike, smooth: bool = False) -> torch.Tensor:
        """Signed distance ``(n,)`` of the space part to the spatial boundary (lateral wall)."""
        space, _ = self._split(x)
        return self.geometry.distance(torch.as_tensor(space), smooth)

    def adf(self, parts: str | Sequence[str] | None = None) -> DistanceFunction:
        """A smooth distance function (see :meth:`Geometry.adf`) of space-time parts:
        spatial part names or ``"boundary"`` (the lateral wall, also the default), and
        ``"initial"`` / ``"final"`` (the slices ``t = t0`` / ``t = t1``)."""
        names = (parts,) if parts is None or isinstance(parts, str) else tuple(parts)
        if not names:
            raise ValueError(f"parts must name at least one boundary part, got {parts!r}")
        times = [p for p in names if p in ("initial", "final")]
        space = [p for p in names if p not in ("initial", "final")]
        pieces: list = []
        if space:
            lateral = cast(list[str], space)  # [None]: the whole lateral boundary
            pieces.append(Columns(self.geometry.adf(lateral), slice(0, -1)))
        td, e = self.timedomain, np.eye(self.dim)[-1:]
        for p in times:  # t - t0 and t1 - t
            pieces.append(
                Flat(-e, np.array([-td.t0])) if p == "initial" else Flat(e, np.array([td.t1]))
            )
        return DistanceFunction(pieces, self.dim, cast(tuple[str, ...], names))

    def boundary_part_of(self, x: ArrayLike) -> list[str]:
        """Spatial boundary part of each lateral boundary point ``x (n, d + 1)``."""
        space, _ = self._split(x)
        return self.geometry.boundary_part_of(space)

    def _split(self, x):
        x = to_numpy(x, self.dim)
        return x[:, :-1], x[:, -1]

    def inside(self, x: ArrayLike) -> torch.Tensor:
        """Bool ``(n,)``: space part inside the geometry and time within ``[t0, t1]``."""
        space, t = self._split(x)
        td = self.timedomain
        return self.geometry.inside(space) & torch.as_tensor((t >= td.t0) & (t <= td.t1))

    def on_boundary(
        self, x: ArrayLike, tol: float | None = None, part: str | None = None
    ) -> torch.Tensor:
        """Bool ``(n,)``: on the lateral boundary (space boundary at any time in range)."""
        space, _ = self._split(x)
        return self.geometry.on_boundary(space, tol, part) & self.inside(x)

    def boundary_normal(self, x: ArrayLike) -> torch.Tensor:
        """Outward normals ``(n, d + 1)`` of the lateral boundary (zero time component)."""
        space, _ = self._split(x)
        normal = self.geometry.boundary_normal(space)
        return _with_zero_time(normal)

    def _space_time(self, u, space_map, t_col):
        td = self.timedomain
        t = td.t0 + u[:, t_col] * (td.t1 - td.t0)
        return np.hstack([space_map(np.delete(u, t_col, axis=1)), t[:, None]])

    def sample_interior(
        self,
        n: int,
        method: str = "sobol",
        seed: int | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> torch.Tensor:
        """``n`` points ``(n, d + 1)`` in the space-time interior."""
        n, method = check_count(n), check_method(method)
        g, td = self.geometry, self.timedomain
        if g._map_unit is not None:
            x = self._space_time(sample(n, self.dim, method, seed), g._map_unit, self.dim - 1)
        else:
            lo = np.append(g._xmin, td.t0)
            hi = np.append(g._xmax, td.t1)
            x = rejection_sample(
                n,
                self.dim,
                method,
                seed,
                lambda u: lo + u * (hi - lo),
                lambda x: g._inside(x[:, :-1]),
            )
        return to_tensor(x, dtype, device)

    def sample_boundary(
        self,
        n: int,
        method: str = "sobol",
        part: str | None = None,
        seed: int | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(points, normals)`` ``(n, d + 1)`` on the lateral boundary (or one ``part``)."""
        n = check_count(n)
        space, normal = self.geometry.sample_boundary(n, method, part, seed, torch.float64)
        t = sample(n, 1, method, None if seed is None else seed + 1)[:, 0]
        # Pair space and time through a permutation so the two sequences do not align.
        t = self.timedomain.t0 + np.random.default_rng(seed).permutation(t) * (
            self.timedomain.t1 - self.timedomain.t0
        )
        x = np.hstack([space.numpy(), t[:, None]])
        return to_tensor(x, dtype, device), to_tensor(_with_zero_time(normal), dtype, device)

    def sample_initial(
        self,
        n: int,
        method: str = "sobol",
        seed: int | None = None,
        dtype: torch.dtype | None = None,
        device: Device = None,
    ) -> torch.Tensor:
        """``n`` points ``(n, d + 1)`` of the initial slice ``t = t0``."""
        space = self.geometry.sample_interior(n, method, seed, torch.float64).numpy()
        x = np.hstack([space, np.full((len(space), 1), self.timedomain.t0)])
        return to_tensor(x, dtype, device)

    def quadrature(
        self,
        n: int,
        rule: str = "gauss",
        dtype: torch.dtype | None = None,
        device: Device = None,
        **kw: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Product of the geometry's rule and ``n``-point Gauss-Legendre in time."""
        if rule != "montecarlo":
            count, meaning = self.geometry._rule_size(n, rule, **kw)
            where = f"{type(self.geometry).__name__} x TimeDomain"
            check_size(count * n, n, rule, where, f"{meaning}, times n points in time")
        xq, wq = self.geometry.quadrature(n, rule, dtype=torch.float64, **kw)
        t, wt = gauss_legendre(n, self.timedomain.t0, self.timedomain.t1)
        x, w = xq.numpy(), wq.numpy()
        pts = np.hstack([np.repeat(x, len(t), axis=0), np.tile(t, len(x))[:, None]])
        return to_tensor(pts, dtype, device), to_tensor(
            (w[:, None] * wt[None]).ravel(), dtype, device
        )


def _with_zero_time(normal):
    return torch.cat([normal, torch.zeros(len(normal), 1, dtype=normal.dtype)], dim=1)
