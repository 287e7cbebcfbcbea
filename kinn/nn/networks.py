"""Networks: a stack of KAN layers, and the MLP baseline with the same calling convention."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .activations import activation, activation_derivatives
from .layers import BSplineKANLayer, ChebyshevKANLayer, _check_domain
from .taylor import RowLayout

__all__ = ["HIDDEN_DOMAIN", "KAN", "MLP"]


def _check_width(width) -> list[int]:
    width = list(width) if isinstance(width, Sequence) else None
    if not width or len(width) < 2 or not all(isinstance(w, int) and w >= 1 for w in width):
        raise ValueError(f"width must be a list of >= 2 positive integers, got {width!r}")
    return width


# Grid range of B-spline hidden layers. Their inputs are the previous layer's outputs, not
# normalised coordinates; a wider grid keeps them inside it, where the splines are shaped.
HIDDEN_DOMAIN = (-4.0, 4.0)


class KAN(nn.Module):
    """A Kolmogorov-Arnold network: x ``(N, width[0])`` -> y ``(N, width[-1])``.

    Args:
        width: layer widths, e.g. ``[2, 16, 16, 1]``.
        basis: ``"bspline"`` (matrix-form B-splines) or ``"chebyshev"``.
        grid: B-spline intervals per input.
        degree: B-spline degree, or the Chebyshev polynomial degree.
        domain: ``(lo, hi)`` of the first layer's grid (normalise inputs to it), or one pair
            per layer (then ``hidden_domain`` is not used). B-spline only.
        hidden_domain: ``(lo, hi)`` of the grids of the layers after the first; ``None``:
            :data:`HIDDEN_DOMAIN`, ``(-4, 4)``. B-spline only.
        base: base-branch activation (default ``"silu"`` for B-splines, none for Chebyshev).
        bias: learnable output biases.
    """

    def __init__(
        self,
        width: Sequence[int],
        basis: str = "bspline",
        grid: int = 10,
        degree: int = 3,
        domain=(-1.0, 1.0),
        hidden_domain=None,
        base: str | None = "default",
        bias: bool = True,
    ):
        super().__init__()
        self.width = _check_width(width)
        self.basis = basis
        n_layers = len(self.width) - 1
        if basis == "bspline":
            domains = _per_layer_domains(domain, hidden_domain, n_layers)
            base = "silu" if base == "default" else base
            layers = [
                BSplineKANLayer(i, o, grid=grid, degree=degree, domain=d, base=base, bias=bias)
                for i, o, d in zip(self.width[:-1], self.width[1:], domains)
            ]
        elif basis == "chebyshev":
            base = None if base == "default" else base
            layers = [
                ChebyshevKANLayer(i, o, degree=degree, base=base, bias=bias)
                for i, o in zip(self.width[:-1], self.width[1:])
            ]
        else:
            raise ValueError(f"basis must be 'bspline' or 'chebyshev', got {basis!r}")
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def jet_rows(self, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
        """Taylor rows ``(R, N, width[0])`` -> ``(R, N, width[-1])``, layer by layer."""
        for layer in self.layers:
            J = layer.jet_rows(J, layout)
        return J

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Inputs of every layer and the output: ``[x, h_1, .., y]``."""
        out = [x]
        for layer in self.layers:
            out.append(layer(out[-1]))
        return out

    @torch.no_grad()
    def refine(self, new_grid: int) -> KAN:
        """Grid extension of every B-spline layer (see :meth:`BSplineKANLayer.refine`)."""
        for layer in self._bspline_layers("refine"):
            layer.refine(new_grid)
        return self

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, mode: str = "uniform", margin: float = 0.01) -> KAN:
        """Fit every layer's grid to the activations that x produces (layer by layer)."""
        layers = self._bspline_layers("update_grid")
        for layer in layers:
            layer.update_grid(x, mode=mode, margin=margin)
            x = layer(x)
        return self

    def _bspline_layers(self, what: str) -> list[BSplineKANLayer]:
        if self.basis != "bspline":
            raise ValueError(f"{what} needs basis='bspline', this network has {self.basis!r}")
        return list(self.layers)

    def extra_repr(self) -> str:
        return f"width={self.width}, basis={self.basis!r}"


def _per_layer_domains(domain, hidden_domain, n_layers: int) -> list:
    items = list(domain) if isinstance(domain, Sequence) else None
    if items and all(isinstance(d, Sequence) for d in items):
        if len(items) != n_layers:
            raise ValueError(f"domain has {len(items)} pairs but the network has {n_layers} layers")
        return items
    hidden = (
        HIDDEN_DOMAIN if hidden_domain is None else _check_domain(hidden_domain, "hidden_domain")
    )
    return [domain] + [hidden] * (n_layers - 1)


class MLP(nn.Module):
    """Fully connected baseline: x ``(N, width[0])`` -> y ``(N, width[-1])``.

    Linear layers with Glorot-normal weights and zero biases, ``activation`` between them
    (none after the last).
    """

    def __init__(self, width: Sequence[int], activation: str = "tanh"):
        super().__init__()
        self.width = _check_width(width)
        globals()["activation"](activation, torch.zeros(1))  # validates the name
        self.activation = activation
        self.layers = nn.ModuleList(
            nn.Linear(i, o) for i, o in zip(self.width[:-1], self.width[1:])
        )
        for layer in self.layers:
            nn.init.normal_(
                layer.weight, 0.0, math.sqrt(2.0 / (layer.in_features + layer.out_features))
            )
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = activation(self.activation, layer(x))
        return self.layers[-1](x)

    def jet_rows(self, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
        """Taylor rows ``(R, N, width[0])`` -> ``(R, N, width[-1])``."""
        name = self.activation
        for layer in self.layers[:-1]:
            J = layout.linear(J, layer.weight, layer.bias)
            J = layout.pointwise(J, lambda v, order: activation_derivatives(name, v, order))
        return layout.linear(J, self.layers[-1].weight, self.layers[-1].bias)

    def extra_repr(self) -> str:
        return f"width={self.width}, activation={self.activation!r}"
