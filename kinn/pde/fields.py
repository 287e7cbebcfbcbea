"""Named access to a field's jet inside residuals, energy densities and derived fields."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kinn.diff import Jet


def scale_jet(j: Jet, factor: torch.Tensor) -> Jet:
    """``factor * u`` for a constant ``factor`` (a number or a ``(m,)`` tensor)."""
    f = torch.as_tensor(factor, dtype=j.value.dtype, device=j.value.device)
    fg = f[..., None] if f.ndim else f
    fh = (fg[..., None] if not j.diag else fg) if f.ndim else f
    return Jet(
        j.value * f,
        None if j.grad is None else j.grad * fg,
        None if j.hess is None else j.hess * fh,
        j.diag,
    )


def chain_inputs(j: Jet, inv_scale: torch.Tensor) -> Jet:
    """Jet w.r.t. ``x`` from the jet w.r.t. ``z = (x - c) * inv_scale``: ``(d,)`` scales."""
    grad = hess = None
    if j.grad is not None:
        grad = j.grad * inv_scale
    if j.hess is not None:
        hess = j.hess * (inv_scale**2 if j.diag else inv_scale[:, None] * inv_scale[None, :])
    return Jet(j.value, grad, hess, j.diag)


def concat_jets(jets: Sequence[Jet]) -> Jet:
    """Stack single-column jets side by side: ``(N, 1)`` each -> ``(N, m)``."""
    cat = lambda ts: None if any(t is None for t in ts) else torch.cat(ts, dim=1)  # noqa: E731
    return Jet(
        torch.cat([j.value for j in jets], dim=1),
        cat([j.grad for j in jets]),
        cat([j.hess for j in jets]),
        jets[0].diag,
    )


class Fields:
    """Fields ``u: (N, m)`` and their derivatives at points ``x: (N, d)``, by name.

    What a residual, energy density or derived field receives as ``u``::

        u["ux"]                 # (N,) value
        u.d("ux", "x")          # (N,) du_x/dx; u.d("u", "xx"), u.d("u", "xy")
        u.grad_of("u")          # (N, d)
        u.laplacian("u")        # (N,)
        u.vector(("ux", "uy"))  # (N, k) values; u.jacobian(("ux", "uy")) -> (N, k, d)
        u.param("k")            # an inverse parameter: scalar () or field (N,)

    ``u.value``, ``u.grad`` ``(N, m, d)`` and ``u.jet`` give the raw tensors.
    """

    def __init__(self, jet: Jet, x, fields, inputs, params=None):
        self.jet, self.x = jet, x
        self.fields, self.inputs = tuple(fields), tuple(inputs)
        self._params = params or {}

    @property
    def value(self) -> torch.Tensor:
        return self.jet.value

    @property
    def grad(self) -> torch.Tensor:
        if self.jet.grad is None:
            raise ValueError("first derivatives were not computed (order 0)")
        return self.jet.grad

    def _index(self, name: str) -> int:
        try:
            return self.fields.index(name)
        except ValueError:
            raise ValueError(f"unknown field {name!r}; expected one of {self.fields}") from None

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.jet.value[:, self._index(name)]

    def d(self, name: str, spec: str) -> torch.Tensor:
        """Partial derivative of field ``name`` by input names, e.g. ``"x"``, ``"xx"``, ``"xt"``."""
        return self.jet.partial(spec, self.inputs)[:, self._index(name)]

    def grad_of(self, name: str) -> torch.Tensor:
        return self.grad[:, self._index(name)]

    def laplacian(self, name: str) -> torch.Tensor:
        return self.jet.hess_diag[:, self._index(name)].sum(-1)

    def vector(self, names: Sequence[str]) -> torch.Tensor:
        return self.jet.value[:, [self._index(n) for n in names]]

    def jacobian(self, names: Sequence[str]) -> torch.Tensor:
        return self.grad[:, [self._index(n) for n in names]]

    def hessian_of(self, name: str) -> torch.Tensor:
        """``(N, d, d)`` (needs ``hessian="full"``)."""
        if self.jet.diag:
            raise ValueError("this jet holds only the Hessian diagonal; use hessian='full'")
        return self.jet._need_hess()[:, self._index(name)]

    def param(self, name: str) -> torch.Tensor:
        """The current value of inverse parameter ``name`` (scalar, or ``(N,)`` for fields)."""
        if name not in self._params:
            raise ValueError(f"unknown parameter {name!r}; expected one of {list(self._params)}")
        return self._params[name].value(self.x)
