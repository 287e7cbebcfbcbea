"""KINN's Koch snowflake: Laplace's equation on the level-2 snowflake of side 3, Dirichlet
values of the harmonic ``u = sin x sinh y + cos x cosh y`` on its 48 edges.

With ``hard=True`` the boundary values are imposed exactly. Each edge ``i`` carries its own lifting
``g_i(x) = u(P_i x)``, the exact values at the projection ``P_i`` of ``x`` onto the edge's line:
``g_i`` matches ``u`` on edge ``i`` only, and the hard conditions blend the 48 liftings by
transfinite interpolation (docs/pde.md, "Hard constraints"). The blend equals ``u`` on the
boundary and differs from it inside, so the network has a real interior to learn (a single
lifting by the exact solution itself would leave nothing to learn).
"""

import numpy as np
import torch

from kinn.geometry import koch_snowflake
from kinn.pde import Dirichlet, Problem, Reference, Residual

from ._region import RegionEnergy

LEVEL, SIDE = 2, 3.0


def exact(x):
    """``u = sin x sinh y + cos x cosh y``: ``x (N, 2) -> (N, 1)``."""
    a, b = x[:, 0], x[:, 1]
    return (torch.sin(a) * torch.sinh(b) + torch.cos(a) * torch.cosh(b))[:, None]


def edge_lifting(a, b):
    """``g(x) = u(P x)``, ``P`` the projection onto the line through ``a`` and ``b``."""
    a, d = np.asarray(a, float), np.asarray(b, float) - np.asarray(a, float)
    d = d / (d @ d)

    def g(x):
        origin, slope = x.new_tensor(a), x.new_tensor(d)
        s = ((x - origin) * slope).sum(1, keepdim=True)
        return exact(origin + s * x.new_tensor(np.asarray(b, float) - a))[:, 0]

    return g


def dense_points(geometry, n: int = 160) -> np.ndarray:
    """The points of an ``n x n`` grid over the bounding box that lie inside: ``(m, 2)``."""
    lo, hi = (b.numpy() for b in geometry.bbox)
    axes = [np.linspace(lo[k], hi[k], n) for k in range(2)]
    grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    return grid[geometry.inside(torch.as_tensor(grid)).numpy()]


def koch(quadrature_n: int = 2, h: float = 0.1, hard: bool = False) -> Problem:
    """The snowflake in the strong form (``-lap u = 0`` at collocation points, default) or the
    energy form (``integral |grad u|^2 / 2`` by a degree-``quadrature_n`` rule on a
    triangulation of element size ``h``: 3 points on each of about 1500 triangles by default).
    ``hard=False`` (default): the boundary values as a penalty at sampled boundary points
    (automatic weight), as DeepXDE's recipe imposes them; ``hard=True``: exact, which suits the
    energy form (the strong form's residual then sees the blend's curvature at the corners).
    """
    geometry = koch_snowflake(LEVEL, SIDE)
    v = geometry.vertices
    if hard:
        edges = [
            Dirichlet(f"edge{i}", edge_lifting(v[i], v[(i + 1) % len(v)]), hard=True)
            for i in range(len(v))
        ]
    else:
        edges = [Dirichlet("boundary", lambda x: exact(x)[:, 0])]
    return Problem(
        name="koch",
        geometry=geometry,
        inputs=("x", "y"),
        fields=("u",),
        terms=[
            Residual(lambda x, u: -u.laplacian("u"), hessian="diag"),
            RegionEnergy(
                lambda x, u: 0.5 * (u.grad_of("u") ** 2).sum(1),
                region=geometry.triangulate(h),
                n=quadrature_n,
            ),
            *edges,
        ],
        reference=Reference(solution=exact, points=dense_points(geometry)),
        defaults={"n_interior": 1024, "n_boundary": 256},
    )
