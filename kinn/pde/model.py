"""The network a problem trains: input normalisation, output scaling and hard constraints.

``ProblemModel(net)`` computes ``u(x) = g(x) + D(x) * (s * N(z))`` column by column, where
``z = 2 (x - xmin) / (xmax - xmin) - 1`` maps the geometry's bounding box onto ``[-1, 1]^d``
(the domain of KAN grids), ``s`` is the problem's output scale, and ``g``, ``D`` come from
hard Dirichlet conditions (``D`` vanishes on the constrained parts, so ``u = g`` there to
round-off). Columns without a hard condition are ``s * N(z)``.
"""

from __future__ import annotations

import torch
from torch import nn

from kinn.diff import Jet, jet, jet_of

from .fields import chain_inputs, concat_jets, scale_jet


class ProblemModel(nn.Module):
    """Wraps ``net: (N, d) -> (N, m)`` for a problem; see the module docstring.

    Args:
        net: the trainable network (KAN, MLP, any module), seen on ``[-1, 1]^d``.
        xmin, xmax: ``(d,)`` bounding box of the physical coordinates.
        out_scale: ``(m,)`` or a number multiplying the network's outputs.
        hard: ``{column index: (g, D)}`` with torch callables ``g(x) -> (N,)`` and
            ``D(x) -> (N,)``.
    """

    def __init__(self, net: nn.Module, xmin, xmax, out_scale=1.0, hard=None):
        super().__init__()
        self.net = net
        xmin = torch.as_tensor(xmin, dtype=torch.float64)
        xmax = torch.as_tensor(xmax, dtype=torch.float64)
        self.register_buffer("center", (xmin + xmax) / 2)
        self.register_buffer("inv_half", 2 / (xmax - xmin))
        self.register_buffer("out_scale", torch.as_tensor(out_scale, dtype=torch.float64))
        self.hard = dict(hard or {})
        self._known: dict = {}  # jets of g and D at the recent point sets they were asked for

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Physical ``x (N, d)`` -> ``z`` on ``[-1, 1]^d``."""
        return (x - self.center.to(x)) * self.inv_half.to(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.net(self.normalize(x)) * self.out_scale.to(x)
        if not self.hard:
            return u
        cols = []
        for i in range(u.shape[1]):
            if i in self.hard:
                g, dist = self.hard[i]
                cols.append(_as_col(g(x), x) + _as_col(dist(x), x) * u[:, i : i + 1])
            else:
                cols.append(u[:, i : i + 1])
        return torch.cat(cols, dim=1)

    def jet(self, x: torch.Tensor, order: int = 2, hessian: str = "full", method="jet") -> Jet:
        """Value and derivatives w.r.t. physical ``x``.

        ``method="jet"``: Taylor-mode jets through the network (autograd where it has no jet
        rules), the chain rule for the normalisation, and autograd jets of the known
        functions ``g`` and ``D``. ``method="autograd"``: nested autograd through everything.
        """
        if method == "autograd":
            return jet_of(self, x, order, hessian)
        if method != "jet":
            raise ValueError(f"derivatives={method!r}: expected 'jet' or 'autograd'")
        z = self.normalize(x)
        j = chain_inputs(jet(self.net, z, order, hessian, "auto"), self.inv_half.to(x))
        j = scale_jet(j, self.out_scale.to(x))
        if not self.hard:
            return j
        cols = []
        for i in range(j.value.shape[1]):
            ji = j.select(i)
            if i in self.hard:
                g, dist = self.hard[i]
                jg = _known_jet(g, x, order, hessian, self._known)
                ji = jg + _known_jet(dist, x, order, hessian, self._known) * ji
            cols.append(ji)
        return concat_jets(cols)


def _as_col(v, x):
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    return v.reshape(-1, 1).expand(x.shape[0], 1) if v.numel() in (1, x.shape[0]) else v


def _known_jet(fn, x, order, hessian, cache: dict) -> Jet:
    """Jet of a parameter-free function (lifting, distance), cached per point set.

    One entry per ``(fn, x, order, hessian)``, so the terms of one step (interior, boundary,
    data points) all hit on the next step; the oldest entries go beyond ``_KNOWN_MAX``.
    """
    key = (id(fn), id(x), order, hessian)
    hit = cache.get(key)
    if hit is not None and hit[0] is x and hit[1] == x._version:  # the cache keeps x alive
        return hit[2]
    # ``0 * y**3`` keeps constant and linear functions in the graph up to second order.
    with torch.enable_grad():
        j = jet_of(lambda y: _as_col(fn(y), y) + 0 * y[:, :1] ** 3, x.detach(), order, hessian)
    j = Jet(*(None if t is None else t.detach() for t in (j.value, j.grad, j.hess)), j.diag)
    cache.pop(key, None)
    cache[key] = (x, x._version, j)
    while len(cache) > _KNOWN_MAX:
        del cache[next(iter(cache))]
    return j


_KNOWN_MAX = 32


# ---- distance functions for hard constraints ----------------------------------------------


def constraint_distance(geometry, parts, samples: int = 64):
    """A smooth torch function ``D(x) -> (N,)``, zero on the boundary ``parts``, > 0 inside.

    Built from the geometry: a part on a hyperplane (an edge of a rectangle, a face of a box,
    an end of an interval) gives the linear factor ``(distance to the plane) / (bbox size)``;
    ``"boundary"`` means every part;
    a circular/spherical part gives ``(r^2 - R^2) / (2 R)`` oriented positive inside; ``D``
    is their product. Other curved parts raise ``ValueError`` (pass ``distance=`` instead).
    """
    if isinstance(parts, str):
        parts = [parts]
    if "boundary" in parts:
        parts = list(geometry.boundary_parts)
    if not parts:
        raise ValueError("a hard constraint needs at least one boundary part")
    lo, hi = (t.to(torch.float64) for t in geometry.bbox)
    size = float((hi - lo).max())
    inner = geometry.sample_interior(64, "sobol", seed=0, dtype=torch.float64)
    factors = []
    for part in parts:
        if part not in geometry.boundary_parts:
            raise ValueError(
                f"unknown boundary part {part!r}; expected one of {list(geometry.boundary_parts)}"
            )
        pts, _ = geometry.sample_boundary(samples, "sobol", part=part, seed=0, dtype=torch.float64)
        factors.append(_part_factor(pts, inner, size, part))

    def distance(x: torch.Tensor) -> torch.Tensor:
        out = factors[0](x)
        for f in factors[1:]:
            out = out * f(x)
        return out

    return distance


def _part_factor(pts, inner, size, part):
    spread = pts.max(0).values - pts.min(0).values
    tol = 1e-9 * max(size, 1.0)
    flat = [a for a in range(pts.shape[1]) if spread[a] <= tol]
    if flat:
        a, c = flat[0], float(pts[:, flat[0]].mean())
        sign = 1.0 if float((inner[:, a] - c).mean()) > 0 else -1.0
        return lambda x: sign * (x[:, a] - c) / size
    # Sphere fit: |p|^2 = 2 c.p + (R^2 - |c|^2), linear least squares in (c, k).
    A = torch.cat([2 * pts, torch.ones(len(pts), 1, dtype=pts.dtype)], dim=1)
    b = (pts**2).sum(1, keepdim=True)
    sol = torch.linalg.lstsq(A, b).solution[:, 0]
    center = sol[:-1]
    radius = float(torch.sqrt(sol[-1] + center @ center))
    fit = ((pts - center).norm(dim=1) - radius).abs().max()
    if not fit <= 1e-7 * max(size, 1.0):
        raise ValueError(
            f"boundary part {part!r} is neither flat nor circular: pass distance=fn(x) -> (N,) "
            "to the hard constraint"
        )
    sign = 1.0 if float(((inner - center).norm(dim=1) - radius).mean()) > 0 else -1.0

    def factor(x):
        r2 = ((x - center.to(x)) ** 2).sum(1)
        return sign * (r2 - radius**2) / (2 * radius * size)

    return factor
