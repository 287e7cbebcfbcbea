"""Three-dimensional primitives."""

from __future__ import annotations

import numpy as np

from .geometry import ArrayLike
from .geometry_nd import Ball, Box


class Cuboid(Box):
    """Axis-aligned cuboid ``[xmin, xmax]`` in 3-D; parts ``"x0_min", ..., "x2_max"``."""

    def __init__(self, xmin: ArrayLike, xmax: ArrayLike, name: str | None = None) -> None:
        if np.asarray(xmin).shape != (3,):
            raise ValueError(f"Cuboid xmin must have 3 coordinates, got {xmin!r}")
        super().__init__(xmin, xmax, name)


class Sphere(Ball):
    """Solid sphere ``|x - center| <= radius`` in 3-D (DeepXDE's ``Sphere``)."""

    def __init__(self, center: ArrayLike, radius: float, name: str | None = None) -> None:
        if np.asarray(center).shape != (3,):
            raise ValueError(f"Sphere center must have 3 coordinates, got {center!r}")
        super().__init__(center, radius, name)
