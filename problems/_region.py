"""An energy integrated over a region of its own: a triangulation finer than, or conforming
to lines inside, the problem's geometry, optionally with Duffy's rule at a singular point."""

import numpy as np
import torch

from kinn.geometry import Mesh
from kinn.geometry.quadrature import duffy_rule, simplex_points, simplex_volumes
from kinn.pde import Energy


class RegionEnergy(Energy):
    """An :class:`~kinn.pde.Energy` integrated over ``region`` (a geometry covering the
    problem's domain) instead of the problem's geometry; Monte Carlo rules still sample the
    problem's geometry.

    ``singular``: a vertex of ``region`` (a triangle :class:`~kinn.geometry.Mesh`) where the
    energy density is singular like ``1 / r`` (a crack tip, a re-entrant corner): the
    triangles that touch it take :func:`~kinn.geometry.quadrature.duffy_rule` with ``n + 1``
    points per direction instead of the region's rule, which otherwise under-integrates
    there and lets the network lower the discrete energy below the true one.
    """

    def __init__(self, density, region, rule: str = "triangle", n: int = 2, singular=None, **kw):
        super().__init__(density, rule=rule, n=n, **kw)
        self.region, self.fan = region, None
        if singular is not None:
            self.region, self.fan = _split_at(region, np.asarray(singular, float))

    def points(self, sampling, form, refine: int = 1):
        """The region's rule; ``refine=k``: ``k`` times the points per direction (the energy
        guard's finer rule)."""
        rule, n = self._rule(sampling)
        if rule == "montecarlo":
            return super().points(sampling, form, refine)
        x, w = self.region.quadrature(n * refine, rule, dtype=sampling.dtype)
        if self.fan is not None:
            bary, wq = duffy_rule(n * refine + 1)
            xs = simplex_points(self.fan, bary).reshape(-1, self.fan.shape[-1])
            ws = (simplex_volumes(self.fan)[:, None] * wq[None]).ravel()
            x = torch.cat([x, torch.as_tensor(xs, dtype=x.dtype, device=x.device)])
            w = torch.cat([w, torch.as_tensor(ws, dtype=w.dtype, device=w.device)])
        return {"x": x, "w": w}


def _split_at(mesh: Mesh, point: np.ndarray) -> tuple[Mesh, np.ndarray]:
    """``mesh`` without the triangles at vertex ``point``, and those triangles ``(m, 3, 2)``
    with ``point`` as vertex 0."""
    if not isinstance(mesh, Mesh) or set(mesh.cells) != {"triangle"}:
        raise ValueError(f"singular= needs a region made of triangles, got {mesh!r}")
    hit = np.flatnonzero(np.linalg.norm(mesh.points - point, axis=1) <= 1e-12)
    if len(hit) != 1:
        raise ValueError(f"singular must be a vertex of the region's mesh, got {point.tolist()}")
    tri = mesh.cells["triangle"]
    at = (tri == hit[0]).any(1)
    first = np.argmax(tri[at] == hit[0], axis=1)  # roll each so the singular vertex leads
    rolled = np.stack([np.roll(t, -k) for t, k in zip(tri[at], first)])
    return Mesh(mesh.points, {"triangle": tri[~at]}), mesh.points[rolled]
