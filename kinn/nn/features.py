"""Input features for solutions with high frequencies: random Fourier features."""

from __future__ import annotations

import math

import torch
from torch import nn

from kinn.nn.taylor import RowLayout


def _sin_cos(shift: int):
    """``derivatives(v, order)`` of ``sin`` (shift 0) or ``cos`` (shift 1)."""
    cycle = (torch.sin, torch.cos, lambda v: -torch.sin(v), lambda v: -torch.cos(v))
    return lambda v, order: [cycle[(shift + k) % 4](v) for k in range(order + 1)]


class FourierFeatures(nn.Module):
    """``x (N, d) -> [x, sin(2 pi x B^T), cos(2 pi x B^T)] (N, d + 2 m)`` with a fixed random
    ``B (m, d)`` of standard deviation ``scale`` (Tancik et al. 2020; Wang, Wang &
    Perdikaris 2021 for PINNs), so the network after it sees frequencies up to about
    ``scale`` per unit of input (kinn's problem wrapper maps each input to [-1, 1]).

    Put it in front of any network: ``nn.Sequential(FourierFeatures(2, 32, 2.0),
    KAN([2 + 64, 16, 16, 1]))``; jets pass through it exactly (:meth:`jet_rows`).

    Args:
        in_dim: ``d``. features: ``m`` frequencies. scale: standard deviation of ``B``.
        seed: ``B``'s seed (``None``: torch's global generator).
    """

    def __init__(self, in_dim: int, features: int, scale: float = 1.0, seed: int | None = 0):
        super().__init__()
        for key, n in (("in_dim", in_dim), ("features", features)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"{key} must be a positive integer, got {n!r}")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        B = torch.randn(features, in_dim, generator=gen) * scale * 2 * math.pi
        self.register_buffer("B", B)
        self.B: torch.Tensor  # (features, in_dim), fixed frequencies
        self.in_dim, self.features, self.scale = in_dim, features, float(scale)

    @property
    def out_dim(self) -> int:
        return self.in_dim + 2 * self.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x @ self.B.t()
        return torch.cat([x, torch.sin(z), torch.cos(z)], dim=-1)

    def jet_rows(self, J: torch.Tensor, layout: RowLayout) -> torch.Tensor:
        """Rows ``(R, N, d)`` of the input -> ``(R, N, d + 2 m)`` of the features."""
        Z = layout.linear(J, self.B)
        return torch.cat(
            [J, layout.pointwise(Z, _sin_cos(0)), layout.pointwise(Z, _sin_cos(1))], dim=-1
        )

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, features={self.features}, scale={self.scale:g}"
