"""Trainable physical parameters and observation data for inverse problems."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kinn.geometry.geometry import ArrayLike

_TRANSFORMS = (None, "positive", "exp")


class InverseParameter(nn.Module):
    """An unknown physical parameter, a scalar or a field ``k(x)``, trained with the network.

    Args:
        init: initial value (a number; for fields, the initial constant value).
        bounds: ``(lo, hi)``: the value is ``lo + (hi - lo) * sigmoid(raw)``, always inside.
        transform: ``"positive"`` (softplus) or ``"exp"``: the value stays > 0; ``None``.
        field: ``True`` for a field ``k(x)``: ``net`` (default a small tanh MLP) maps the
            normalised coordinates to the raw value, added to the raw initial value.
        net: the field's network, ``(N, d) -> (N, 1)``.
        true: the known value (a number, or a callable ``x -> (N,)`` for fields), only for
            reporting the identification error during validation.

    ``value(x)`` returns a 0-d tensor for scalars and ``(N,)`` for fields at physical ``x``.
    """

    def __init__(
        self,
        init: float,
        bounds: tuple[float, float] | None = None,
        transform: str | None = None,
        field: bool = False,
        net: nn.Module | None = None,
        true: float | Callable | None = None,
    ) -> None:
        super().__init__()
        init = float(init)
        if not math.isfinite(init):
            raise ValueError(f"init must be a finite number, got {init!r}")
        if transform not in _TRANSFORMS:
            raise ValueError(f"transform must be one of {_TRANSFORMS}, got {transform!r}")
        if bounds is not None:
            lo, hi = (float(b) for b in bounds)
            if not lo < init < hi:
                raise ValueError(
                    f"bounds must be (lo, hi) with lo < init={init} < hi, got {bounds!r}"
                )
        self.bounds: tuple[float, float] | None = None if bounds is None else (lo, hi)
        if transform is not None and init <= 0:
            raise ValueError(f"init of a {transform!r} parameter must be > 0, got {init!r}")
        self.transform = transform
        self.field = bool(field)
        self.true = true
        self.raw = nn.Parameter(torch.tensor(self._inverse(init)))
        self.net: nn.Module | None = None
        self.center: torch.Tensor | None = None
        self.inv_half: torch.Tensor | None = None
        if self.field:
            self.net = net  # None: a small tanh MLP, built by set_domain
            self.center = self.inv_half = None
        elif net is not None:
            raise ValueError(f"net must be None for a scalar parameter (field=False), got {net!r}")

    def _inverse(self, v: float) -> float:
        if self.bounds is not None:
            lo, hi = self.bounds
            p = (v - lo) / (hi - lo)
            return math.log(p / (1 - p))
        if self.transform == "positive":
            return v + math.log(-math.expm1(-v))  # softplus^-1
        if self.transform == "exp":
            return math.log(v)
        return v

    def _forward_transform(self, raw: torch.Tensor) -> torch.Tensor:
        if self.bounds is not None:
            lo, hi = self.bounds
            return lo + (hi - lo) * torch.sigmoid(raw)
        if self.transform == "positive":
            return nn.functional.softplus(raw)
        if self.transform == "exp":
            return torch.exp(raw)
        return raw

    def set_domain(self, xmin: ArrayLike, xmax: ArrayLike) -> None:
        """Normalise field inputs from this bounding box to ``[-1, 1]``."""
        xmin = torch.as_tensor(xmin, dtype=torch.float64)
        xmax = torch.as_tensor(xmax, dtype=torch.float64)
        self.center, self.inv_half = (xmin + xmax) / 2, 2 / (xmax - xmin)
        if self.field and self.net is None:
            from kinn.nn import MLP

            net = MLP([len(xmin), 16, 16, 1], activation="tanh")
            with torch.no_grad():
                last = net.layers[-1]
                assert isinstance(last, nn.Linear)
                last.weight.zero_()  # start from the constant init
            self.net = net

    def value(self, x: torch.Tensor | None = None) -> torch.Tensor:
        if not self.field:
            return self._forward_transform(self.raw)
        if x is None or self.net is None:
            raise ValueError("a field parameter needs points x (N, d) and a domain (set_domain)")
        if self.center is None or self.inv_half is None:
            z = x
        else:
            z = (x - self.center.to(x)) * self.inv_half.to(x)
        return self._forward_transform(self.raw + self.net(z)[:, 0])

    def item(self) -> float:
        """The identified value of a scalar parameter as a Python float (no graph, no
        warning); e.g. ``problem.parameters["k"].item()`` after training."""
        if self.field:
            raise ValueError("item() needs a scalar parameter; a field parameter has value(x)")
        with torch.no_grad():
            return float(self.value())

    def report(self, x: torch.Tensor | None = None) -> dict[str, float]:
        """Scalars: the value and, with ``true``, its relative error; fields: the error."""
        with torch.no_grad():
            if not self.field:
                v = self.item()
                out = {"": v}
                if self.true is not None:
                    true = float(self.true)  # type: ignore[arg-type]  # a scalar's true value
                    out["_rel_err"] = abs(v - true) / abs(true)
                return out
            if not callable(self.true) or x is None:
                return {}
            value, t = self.value(x), torch.as_tensor(self.true(x)).to(x).reshape(-1)
            return {"_rel_l2": float((value - t).norm() / t.norm())}


def load_observations(
    path: str | os.PathLike, inputs: Sequence[str], fields: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Observation points and values from a file: ``(x (n, d), values (n, k))``.

    ``.npz``: arrays named by ``inputs`` and ``fields``; ``.npy``/``.csv``/``.txt``/``.dat``:
    a table whose first ``d`` columns are the inputs and the next ``k`` the fields (csv/txt
    may start with a ``#`` header); anything else is read with meshio (points, and point data
    named by ``fields``; a vector point datum ``u`` is split as ``u_0, u_1, ...``).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"observation file {str(path)!r} does not exist")
    inputs, fields = list(inputs), list(fields)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        data = np.load(path)
        missing = [k for k in inputs + fields if k not in data]
        if missing:
            raise ValueError(f"{path.name}: arrays {missing} missing; has {list(data.keys())}")
        x = np.stack([data[k] for k in inputs], 1)
        v = np.stack([data[k] for k in fields], 1)
    elif suffix in (".npy", ".csv", ".txt", ".dat"):
        table = np.load(path) if suffix == ".npy" else np.loadtxt(path, delimiter=_delim(path))
        table = np.atleast_2d(table)
        if table.shape[1] != len(inputs) + len(fields):
            raise ValueError(
                f"{path.name} must have {len(inputs) + len(fields)} columns ({len(inputs)} inputs "
                f"{inputs}, then {len(fields)} fields {fields}), got {table.shape[1]}"
            )
        x, v = table[:, : len(inputs)], table[:, len(inputs) :]
    else:
        import meshio

        mesh = meshio.read(path)
        x = mesh.points[:, : len(inputs)]
        cols = []
        for name in fields:
            base, _, comp = name.rpartition("_")
            if name in mesh.point_data:
                cols.append(np.asarray(mesh.point_data[name]).reshape(len(x), -1)[:, 0])
            elif base in mesh.point_data and comp.isdigit():
                cols.append(np.asarray(mesh.point_data[base])[:, int(comp)])
            else:
                raise ValueError(
                    f"{path.name}: point data {name!r} missing; has {list(mesh.point_data)}"
                )
        v = np.stack(cols, 1)
    return check_observations(x, v, len(inputs), len(fields))


def _delim(path):
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                return "," if "," in line else None
    return None


def check_observations(
    x: ArrayLike, values: ArrayLike, d: int | None = None, k: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate observation arrays: finite, shapes ``(n, d)`` and ``(n, k)`` (any ``d``/``k``
    when None); returns float64 tensors ``(x, values)``."""
    x = torch.as_tensor(np.asarray(x, dtype=float) if not torch.is_tensor(x) else x)
    v = torch.as_tensor(np.asarray(values, dtype=float) if not torch.is_tensor(values) else values)
    if v.ndim == 1:
        v = v[:, None]
    if x.ndim != 2 or (d is not None and x.shape[1] != d):
        raise ValueError(
            f"observation points must have shape (n, {d if d is not None else 'd'}), "
            f"got {tuple(x.shape)}"
        )
    if v.ndim != 2 or len(v) != len(x) or (k is not None and v.shape[1] != k):
        raise ValueError(
            f"observation values must have shape ({len(x)}, {k if k is not None else 'k'}), "
            f"got {tuple(v.shape)}"
        )
    for what, t in (("points", x), ("values", v)):
        bad = ~torch.isfinite(t)
        if bad.any():
            row = int(bad.any(dim=1).nonzero()[0])
            raise ValueError(f"observation {what} must be finite, got NaN/Inf (first at row {row})")
    return x.detach().to(torch.float64), v.detach().to(torch.float64)
