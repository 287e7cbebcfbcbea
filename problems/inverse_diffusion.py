"""Inverse diffusion: identify k in -div(k grad u) = f on the unit square from noisy u.

Manufactured: u = sin(pi x) sin(pi y), k = 2 (unknown, initial guess 1, kept positive),
f = 2 k pi^2 u. Observations: ``n_obs`` Sobol points with Gaussian noise of relative size
``noise``; u = 0 on the boundary (hard).
"""

import math

import torch

from kinn.geometry import Rectangle, sample
from kinn.pde import Data, Dirichlet, InverseParameter, Problem, Residual

from .poisson2d import exact

K_TRUE = 2.0


def observations(n_obs=200, noise=0.01, seed=0):
    """``(points (n, 2), noisy values (n, 1))``; noise is ``noise * std(u)`` Gaussian."""
    x = sample(n_obs, 2, "sobol", seed=seed, dtype=torch.float64)
    u = exact(x)
    g = torch.Generator().manual_seed(seed)
    return x, u + noise * u.std() * torch.randn(u.shape, generator=g, dtype=u.dtype)


def inverse_diffusion(n_obs: int = 200, noise: float = 0.01, k_init: float = 1.0) -> Problem:
    k = InverseParameter(k_init, transform="positive", true=K_TRUE)

    def residual(x, u):
        f = 2 * K_TRUE * math.pi**2 * exact(x)[:, 0]
        return -u.param("k") * u.laplacian("u") - f

    return Problem(
        name="inverse_diffusion",
        geometry=Rectangle([0, 0], [1, 1]),
        inputs=("x", "y"),
        fields=("u",),
        terms=[
            Residual(residual, hessian="diag"),
            Data(*observations(n_obs, noise), fields="u", weight=100.0),
            Dirichlet("boundary", 0.0, hard=True),
        ],
        parameters={"k": k},
        reference=exact,
        default_form="inverse",
        defaults={"n_interior": 512},
    )
