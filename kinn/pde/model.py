"""The network a problem trains: input normalisation, output scaling and hard constraints.

``ProblemModel(net)`` computes ``u(x) = g(x) + D(x) * (s * N(z))`` column by column, where
``z = 2 (x - xmin) / (xmax - xmin) - 1`` maps the geometry's bounding box onto ``[-1, 1]^d``
(the domain of KAN grids), ``s`` is the problem's output scale, and ``g``, ``D`` come from
hard Dirichlet conditions (``D`` vanishes on the constrained parts, so ``u = g`` there to
round-off; see :func:`hard_constraint`). Columns without a hard condition are ``s * N(z)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from kinn.diff import Jet, jet, jet_of
from kinn.geometry.adf import blend, join

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

    center: torch.Tensor  # buffers: (d,), (d,), () or (m,)
    inv_half: torch.Tensor
    out_scale: torch.Tensor

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

    def jet(
        self, x: torch.Tensor, order: int = 2, hessian: str = "full", derivatives: str = "auto"
    ) -> Jet:
        """Value and derivatives w.r.t. physical ``x (N, d)``.

        ``derivatives="auto"``: Taylor-mode jets through the network where its modules have
        jet rules, autograd for the rest; ``"jet"``: jets only (a module without jet rules
        raises); both add the chain rule of the normalisation and autograd jets of the known
        functions ``g`` and ``D``. ``"autograd"``: nested autograd through everything.
        """
        check_derivatives(derivatives)
        if derivatives == "autograd":
            return jet_of(self, x, order, hessian)
        z = self.normalize(x)
        j = chain_inputs(jet(self.net, z, order, hessian, derivatives), self.inv_half.to(x))
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
    j = j.map(torch.Tensor.detach)
    cache.pop(key, None)
    cache[key] = (x, x._version, j)
    while len(cache) > _KNOWN_MAX:
        del cache[next(iter(cache))]
    return j


_KNOWN_MAX = 32


DERIVATIVES = ("auto", "jet", "autograd")


def check_derivatives(derivatives: object) -> None:
    if derivatives not in DERIVATIVES:
        raise ValueError(f"derivatives must be one of {DERIVATIVES}, got {derivatives!r}")


Fn = Callable[[torch.Tensor], torch.Tensor]


def hard_constraint(values: Sequence[Fn], distances: Sequence[Fn], size: float) -> tuple[Fn, Fn]:
    """``(g, D)`` of ``u = g + D N`` for hard conditions ``u = g_i`` on parts with ADFs
    ``phi_i`` (``> 0`` inside, ``0`` on part ``i``).

    One condition: ``g = g_1``, ``D = phi_1 / size``. Several: ``D`` joins the ``phi_i``
    (R-equivalence, zero on every part) and ``g`` is their transfinite interpolation
    ``sum_i w_i g_i`` with ``w_i = (1/phi_i) / sum_j (1/phi_j)`` (Sukumar & Srivastava
    2022), which equals ``g_i`` on part ``i`` to round-off. ``size`` (the bounding box's
    largest side) makes ``D`` dimensionless, of the order of the normalised coordinates.
    """
    if len(values) == 1:
        g, phi = values[0], distances[0]
        return g, lambda x: phi(x) / size

    def stack(fns, x):
        return torch.stack([_as_col(f(x), x)[:, 0] for f in fns], dim=1)

    def lifting(x: torch.Tensor) -> torch.Tensor:
        return blend(stack(distances, x), stack(values, x))

    def distance(x: torch.Tensor) -> torch.Tensor:
        return join(stack(distances, x)) / size

    return lifting, distance
