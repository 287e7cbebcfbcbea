"""KINN Neo-Hookean cantilever: the beam ``[0, 4] x [0, 1]`` in plane strain, large deformation.

E = 1000, nu = 0.3, compressible Neo-Hookean energy ``psi = lambda/2 (ln J)^2 - mu ln J +
mu/2 (tr C - 2)`` (:func:`kinn.pde.elasticity.neo_hookean`, the FEniCS reference's form);
clamped at ``x = 0`` (``u = 0``, imposed exactly by ``u = x/4 N``), dead-load traction
``(0, -5)`` on ``x = 4``; top and bottom free. Energy form (Deep Energy Method) with a tensor
Simpson rule by default, as KINN.

Reference: FEniCS (P2) nodal values on 20,251 nodes, ``data/beam_neohookean_fem.npz``
(written by ``data/make_beam_neohookean.py``); tip deflection about -1.17. Its von Mises
stress is that of the in-plane second Piola-Kirchhoff stress ``S`` with the deviator taken as
``S - tr(S)/3 I`` (the FEniCS tutorial's formula on a 2x2 tensor): recomputed from the FE
displacements it matches the stored field to 0.3% away from the clamped corners, where the
Cauchy stress's von Mises differs by 10%.
"""

from pathlib import Path

import numpy as np
import torch

from kinn.geometry import Rectangle
from kinn.pde import Dirichlet, Energy, Neumann, Problem, Reference
from kinn.pde.elasticity import neo_hookean, neo_hookean_pk2

DATA = Path(__file__).parent / "data" / "beam_neohookean_fem.npz"
E, NU, TRACTION = 1000.0, 0.3, (0.0, -5.0)
U = ("ux", "uy")


def mises(x, u) -> torch.Tensor:
    """Von Mises stress of the reference's kind (see the module docstring): ``(N,)``."""
    S = neo_hookean_pk2(u, U, E, NU)
    eye = torch.eye(2, dtype=S.dtype, device=S.device)
    dev = S - S.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None] / 3 * eye
    return torch.sqrt(1.5 * (dev * dev).sum((1, 2)))


def reference() -> Reference:
    d = np.load(DATA)
    values = {k: d[v].astype(np.float64) for k, v in (("ux", "u_x"), ("uy", "u_y"))}
    values["mises"] = d["mises"].astype(np.float64)
    return Reference(points=np.stack([d["x"], d["y"]], 1).astype(np.float64), values=values)


def beam_neohookean(
    quadrature_n: int = 101, rule: str = "simpson", traction_n: int = 64
) -> Problem:
    """The beam; ``quadrature_n`` points per axis of the tensor ``rule`` (Simpson: odd;
    "gauss", "trapezoid" also) and ``traction_n`` Gauss points on the loaded edge."""
    return Problem(
        name="beam_neohookean",
        geometry=Rectangle([0, 0], [4, 1]),
        inputs=("x", "y"),
        fields=U,
        terms=[
            Energy(neo_hookean(E, NU, U), rule=rule, n=quadrature_n),
            Neumann("right", TRACTION, fields=U, n=traction_n, forms=("energy",)),
            Dirichlet("left", 0.0, hard=True),
        ],
        reference=reference(),
        derived={"u_mag": lambda x, u: u.vector(U).norm(dim=1), "mises": mises},
        default_form="energy",
        # a KAN's first outputs are O(1), with J = det F < 0 in places (ln J undefined):
        # start from a deformation ten times smaller
        output_scale=0.1,
    )
