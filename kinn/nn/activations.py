"""Activation functions with closed-form derivatives, for networks and derivative jets."""

from __future__ import annotations

import math

import torch

__all__ = ["ACTIVATIONS", "activation", "activation_derivatives"]

_SQRT_2PI = math.sqrt(2 * math.pi)


def _tanh(x, order):
    t = torch.tanh(x)
    out = [t]
    if order >= 1:
        d1 = 1 - t * t
        out.append(d1)
    if order >= 2:
        out.append(-2 * t * d1)
    if order >= 3:
        out.append(d1 * (6 * t * t - 2))
    if order >= 4:
        out.append(d1 * t * (16 - 24 * t * t))
    return out


def _sin(x, order):
    s, c = torch.sin(x), torch.cos(x)
    return [s, c, -s, -c, s][: order + 1]


def _silu(x, order):
    s = torch.sigmoid(x)
    out = [x * s]
    if order >= 1:
        ds = s * (1 - s)  # sigmoid'
        out.append(s + x * ds)
        if order >= 2:
            d2s = ds * (1 - 2 * s)  # sigmoid''
            out.append(2 * ds + x * d2s)
            if order >= 3:
                d3s = ds * (1 - 6 * ds)  # sigmoid'''
                out.append(3 * d2s + x * d3s)
                if order >= 4:
                    d4s = d2s * (1 - 12 * ds)
                    out.append(4 * d3s + x * d4s)
    return out


def _gelu(x, order):
    # exact (erf) GELU: x Phi(x); Phi' = phi, phi' = -x phi
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    pdf = torch.exp(-0.5 * x * x) / _SQRT_2PI
    out = [x * cdf, cdf + x * pdf, (2 - x * x) * pdf]
    out.append((x * x * x - 4 * x) * pdf)
    out.append((-(x**4) + 7 * x * x - 4) * pdf)
    return out[: order + 1]


def _softplus(x, order):
    s = torch.sigmoid(x)
    out = [torch.nn.functional.softplus(x), s]
    ds = s * (1 - s)
    out.append(ds)
    out.append(ds * (1 - 2 * s))
    out.append(ds * (1 - 6 * ds))
    return out[: order + 1]


def _sigmoid(x, order):
    s = torch.sigmoid(x)
    ds = s * (1 - s)
    out = [s, ds, ds * (1 - 2 * s), ds * (1 - 6 * ds), ds * (1 - 2 * s) * (1 - 12 * ds)]
    return out[: order + 1]


def _identity(x, order):
    out = [x, torch.ones_like(x)] + [torch.zeros_like(x)] * 3
    return out[: order + 1]


ACTIVATIONS = {
    "tanh": _tanh,
    "sin": _sin,
    "silu": _silu,
    "gelu": _gelu,
    "softplus": _softplus,
    "sigmoid": _sigmoid,
    "identity": _identity,
}


def _lookup(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    """Apply the named activation."""
    return _lookup(name)(x, 0)[0]


def activation_derivatives(name: str, x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[f(x), f'(x), .., f^(order)(x)]`` for the named activation, order <= 4."""
    if not 0 <= order <= 4:
        raise ValueError(f"order must be in 0..4, got {order}")
    return _lookup(name)(x, order)
