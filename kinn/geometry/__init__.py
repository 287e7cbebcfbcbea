"""Geometry, collocation samplers and quadrature for physics-informed networks.

Every geometry shares one interface (:class:`Geometry`): ``inside``, ``on_boundary``,
``boundary_normal``, ``distance`` (signed, negative inside), ``sample_interior``,
``sample_boundary``, ``quadrature``, ``boundary_quadrature``, named ``boundary_parts``,
``bbox`` and ``measure``. Shapes combine with ``|``, ``-``, ``&``; ``geom * TimeDomain``
gives a space-time cylinder. All tensors are ``(n, d)``.
"""

from __future__ import annotations

import torch

from .adaptive import rad, rar
from .csg import CSG
from .geometry import BoundaryPart, Geometry, to_tensor
from .geometry_1d import Interval
from .geometry_2d import Disk, Ellipse, Rectangle
from .geometry_3d import Cuboid, Sphere
from .geometry_nd import Ball, Box
from .mesh import Mesh
from .polygon import Polygon, Triangle, koch_snowflake
from .sampler import METHODS
from .sampler import sample as _sample_np
from .timedomain import GeometryXTime, TimeDomain


def sample(
    n: int,
    d: int,
    method: str = "sobol",
    seed: int | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` points ``(n, d)`` on the unit cube ``[0, 1)^d`` from ``method`` in ``METHODS``.

    Seeded calls repeat exactly; Sobol and Halton are scrambled with the seed.
    """
    return to_tensor(_sample_np(n, d, method, seed), dtype, device)


__all__ = [
    "Ball",
    "BoundaryPart",
    "Box",
    "CSG",
    "Cuboid",
    "Disk",
    "Ellipse",
    "Geometry",
    "GeometryXTime",
    "Interval",
    "METHODS",
    "Mesh",
    "Polygon",
    "Rectangle",
    "Sphere",
    "TimeDomain",
    "Triangle",
    "koch_snowflake",
    "rad",
    "rar",
    "sample",
]
