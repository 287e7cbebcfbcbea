"""An energy integrated over a region of its own: a triangulation finer than, or conforming
to lines inside, the problem's geometry."""

from kinn.pde import Energy


class RegionEnergy(Energy):
    """An :class:`~kinn.pde.Energy` integrated over ``region`` (a geometry covering the
    problem's domain) instead of the problem's geometry; Monte Carlo rules still sample the
    problem's geometry."""

    def __init__(self, density, region, rule: str = "triangle", n: int = 2, **kw) -> None:
        super().__init__(density, rule=rule, n=n, **kw)
        self.region = region

    def points(self, sampling, form, refine: int = 1):
        """The region's rule; ``refine=k``: ``k`` times the points per direction (the energy
        guard's finer rule)."""
        rule, n = self._rule(sampling)
        if rule == "montecarlo":
            return super().points(sampling, form, refine)
        x, w = self.region.quadrature(n * refine, rule, dtype=sampling.dtype)
        return {"x": x, "w": w}
