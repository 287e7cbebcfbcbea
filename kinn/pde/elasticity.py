"""Ready energy densities, stresses and derived fields for solid mechanics.

Displacement fields are named by the problem (e.g. ``("ux", "uy")``); every function takes
the :class:`~kinn.pde.Fields` ``u`` and those names. 2-D problems are plane stress or plane
strain; 3-D problems use all three components.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .fields import Fields

# (x (N, d), fields) -> (N,) energy density, or (N, d) residual
Density = Callable[[torch.Tensor, Fields], torch.Tensor]


def lame(E: float, nu: float, plane: str | None = None) -> tuple[float, float]:
    """Lame constants ``(lambda, mu)``; ``plane="stress"`` gives the plane-stress lambda."""
    if not (E > 0 and -1 < nu < 0.5):
        raise ValueError(f"E={E!r}, nu={nu!r}: expected E > 0 and -1 < nu < 0.5")
    if plane not in (None, "stress", "strain"):
        raise ValueError(f"plane={plane!r}: expected 'stress', 'strain' or None (3-D)")
    mu = E / (2 * (1 + nu))
    lam = E * nu / ((1 + nu) * (1 - 2 * nu))
    if plane == "stress":
        lam = 2 * lam * mu / (lam + 2 * mu)
    return lam, mu


def strain(u: Fields, names: Sequence[str]) -> torch.Tensor:
    """Small strain ``eps = (grad u + grad u^T) / 2``: ``(N, d, d)``."""
    g = u.jacobian(names)
    return 0.5 * (g + g.transpose(1, 2))


def linear_stress(
    u: Fields, names: Sequence[str], E: float, nu: float, plane: str | None = None
) -> torch.Tensor:
    """Cauchy stress ``sigma = lambda tr(eps) I + 2 mu eps``: ``(N, d, d)`` (in-plane for 2-D)."""
    return _hooke(strain(u, names), *lame(E, nu, plane))


def _hooke(eps, lam, mu) -> torch.Tensor:
    eye = torch.eye(eps.shape[-1], dtype=eps.dtype, device=eps.device)
    return lam * eps.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None] * eye + 2 * mu * eps


def linear_elastic(
    E: float, nu: float, names: Sequence[str] = ("ux", "uy"), plane: str | None = "stress"
) -> Density:
    """Strain energy density ``psi = sigma : eps / 2`` as ``density(x, u) -> (N,)``."""
    lam, mu = lame(E, nu, plane)

    def density(x: torch.Tensor, u: Fields) -> torch.Tensor:
        eps = strain(u, names)
        return 0.5 * (_hooke(eps, lam, mu) * eps).sum((1, 2))

    return density


def neo_hookean(E: float, nu: float, names: Sequence[str] = ("ux", "uy")) -> Density:
    """Compressible Neo-Hookean density ``lambda/2 (ln J)^2 - mu ln J + mu/2 (tr C - d)``
    (plane strain in 2-D), ``F = I + grad u``, ``C = F^T F``."""
    lam, mu = lame(E, nu, None)

    def density(x: torch.Tensor, u: Fields) -> torch.Tensor:
        F = deformation_gradient(u, names)
        J = torch.linalg.det(F)
        lnJ = torch.log(J)
        trC = (F * F).sum((1, 2))
        return 0.5 * lam * lnJ**2 - mu * lnJ + 0.5 * mu * (trC - F.shape[-1])

    return density


def deformation_gradient(u: Fields, names: Sequence[str]) -> torch.Tensor:
    g = u.jacobian(names)
    return g + torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)


def neo_hookean_stress(u: Fields, names: Sequence[str], E: float, nu: float) -> torch.Tensor:
    """Cauchy stress ``(mu (B - I) + lambda ln J I) / J``: ``(N, d, d)``."""
    lam, mu = lame(E, nu, None)
    F = deformation_gradient(u, names)
    J = torch.linalg.det(F)
    eye = torch.eye(F.shape[-1], dtype=F.dtype, device=F.device)
    B = F @ F.transpose(1, 2)
    return (mu * (B - eye) + lam * torch.log(J)[:, None, None] * eye) / J[:, None, None]


def neo_hookean_pk2(u, names, E, nu) -> torch.Tensor:
    """Second Piola-Kirchhoff stress ``S = mu (I - C^-1) + lambda ln J C^-1`` of
    :func:`neo_hookean`: ``(N, d, d)`` (in-plane for 2-D plane strain)."""
    lam, mu = lame(E, nu, None)
    F = deformation_gradient(u, names)
    C_inv = torch.linalg.inv(F.transpose(1, 2) @ F)
    eye = torch.eye(F.shape[-1], dtype=F.dtype, device=F.device)
    lnJ = torch.log(torch.linalg.det(F))
    return mu * (eye - C_inv) + lam * lnJ[:, None, None] * C_inv


def von_mises(sigma: torch.Tensor, plane: str | None = "stress", nu: float = 0.3) -> torch.Tensor:
    """Von Mises stress ``(N,)`` from ``sigma (N, d, d)``; in plane strain ``sigma_zz =
    nu (sigma_xx + sigma_yy)``, in plane stress 0."""
    if sigma.shape[-1] == 3:
        s = sigma
    else:
        szz = nu * (sigma[:, 0, 0] + sigma[:, 1, 1]) if plane == "strain" else 0 * sigma[:, 0, 0]
        s = torch.zeros(sigma.shape[0], 3, 3, dtype=sigma.dtype, device=sigma.device)
        s[:, :2, :2] = sigma
        s[:, 2, 2] = szz
    dev = s - s.diagonal(dim1=1, dim2=2).mean(-1)[:, None, None] * torch.eye(3).to(s)
    return torch.sqrt(1.5 * (dev * dev).sum((1, 2)))


def equilibrium(
    E: float, nu: float, names: Sequence[str] = ("ux", "uy"), plane: str | None = "stress"
) -> Density:
    """Strong-form residual of linear elasticity, ``div sigma = 0``: ``residual(x, u) -> (N, d)``
    (``lambda grad(div u) + mu (lap u + grad(div u))``); needs a full Hessian jet."""
    lam, mu = lame(E, nu, plane)

    def residual(x: torch.Tensor, u: Fields) -> torch.Tensor:
        H = torch.stack([u.hessian_of(n) for n in names], dim=1)  # (N, d, d, d): u_a,bc
        grad_div = torch.einsum("naai->ni", H)
        lap = torch.einsum("nijj->ni", H)
        return (lam + mu) * grad_div + mu * lap

    return residual
