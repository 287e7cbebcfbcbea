"""KINN plate with a circular hole: quarter plate [0, 20]^2 minus the disc r < 5, plane stress.

E = 1000, nu = 0.3; u_x = 0 on x = 0 and u_y = 0 on y = 0 (symmetry, imposed exactly by
``u_x = x/20 N_x``, ``u_y = y/20 N_y``); traction (100, 0) on x = 20; top edge and hole
traction-free. Energy form (Deep Energy Method) by default, strong form possible. Reference:
Abaqus nodal values on a 200x200 grid outside the hole (``data/plate_hole_fem_grid.npz``).
:func:`plate_hole_inverse` identifies E from those displacements.
"""

from pathlib import Path

import numpy as np

from kinn.geometry import Disk, Rectangle
from kinn.pde import (
    Data,
    Dirichlet,
    Energy,
    InverseParameter,
    Neumann,
    Problem,
    Reference,
    Residual,
)
from kinn.pde.elasticity import equilibrium, linear_elastic, linear_stress, von_mises

DATA = Path(__file__).parent / "data" / "plate_hole_fem_grid.npz"
E, NU, TRACTION = 1000.0, 0.3, (100.0, 0.0)
LOAD, SIZE = 100.0, 20.0  # scales of the strong-form residuals
U = ("ux", "uy")


def stress(x, u):
    return linear_stress(u, U, E, NU, "stress")


def _scaled_stress(x, u):
    return stress(x, u) / LOAD


def _symmetry_shear(stress_fn, form):
    """Zero shear traction on the symmetry edges: the half of each symmetry condition that
    the energy form satisfies by itself and the strong form must impose (``u_x = 0`` alone
    on ``x = 0`` leaves the edge free to carry shear, and the strong form then converges to
    a different plate)."""
    return [
        Neumann(
            "left",
            0.0,
            fields="uy",
            flux=lambda x, u: stress_fn(x, u)[:, 1:],
            forms=form,
            name="shear_left",
        ),
        Neumann(
            "bottom",
            0.0,
            fields="ux",
            flux=lambda x, u: stress_fn(x, u)[:, :1],
            forms=form,
            name="shear_bottom",
        ),
    ]


def reference() -> Reference:
    d = np.load(DATA)
    values = {"ux": d["u_x"], "uy": d["u_y"], "u_mag": d["u_mag"], "mises": d["mises"]}
    return Reference(points=np.stack([d["x"], d["y"]], 1), values=values)


def _geometry():
    return Rectangle([0, 0], [20, 20]) - Disk([0, 0], 5).named("hole")


def _derived(stress_fn):
    return {
        "u_mag": lambda x, u: u.vector(U).norm(dim=1),
        "mises": lambda x, u: von_mises(stress_fn(x, u), "stress"),
    }


def plate_hole(quadrature_n: int = 2, h: float | None = None) -> Problem:
    """The plate; ``quadrature_n`` collapsed-Gauss points per triangle direction on a
    triangulation of element size ``h`` (DEM; default diameter/24: 2452 points); 64 boundary
    Gauss points on the loaded edge.

    The default rule suits short runs (a few hundred Adam steps). Over about 700 steps a
    B-spline KAN starts to exploit it (the energy drops below the true minimum while the error
    grows); longer runs should use ``h=0.7`` (7048 points) or finer.

    The strong form's residuals are made dimensionless by the load (100) and the plate's size
    (20): stress / 100 in the traction conditions, ``div sigma * 20 / 100`` inside, so that no
    term dominates the others by its units.
    """
    return Problem(
        name="plate_hole",
        geometry=_geometry(),
        inputs=("x", "y"),
        fields=U,
        terms=[
            Energy(
                linear_elastic(E, NU, U, "stress"), n=quadrature_n, options={"h": h} if h else None
            ),
            Residual(equilibrium(E * SIZE / LOAD, NU, U, "stress"), name="equilibrium"),
            Neumann("right", TRACTION, fields=U, n=64, forms="energy"),
            Neumann("right", (1.0, 0.0), fields=U, flux=_scaled_stress, forms="strong"),
            Neumann("top", 0.0, fields=U, flux=_scaled_stress, forms="strong"),
            Neumann("hole", 0.0, fields=U, flux=_scaled_stress, forms="strong"),
            *_symmetry_shear(_scaled_stress, "strong"),
            Dirichlet("left", 0.0, fields="ux", hard=True),
            Dirichlet("bottom", 0.0, fields="uy", hard=True),
        ],
        reference=reference(),
        derived=_derived(stress),
        default_form="energy",
        defaults={"n_interior": 2048, "n_boundary": 256},
    )


def observations(n_obs: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_obs`` of the FE nodes, drawn without replacement: ``(points (n, 2), u (n, 2))``."""
    d = np.load(DATA)
    if not 1 <= n_obs <= len(d["x"]):
        raise ValueError(f"n_obs must be between 1 and {len(d['x'])}, got {n_obs!r}")
    pick = np.random.default_rng(seed).choice(len(d["x"]), n_obs, replace=False)
    return np.stack([d["x"], d["y"]], 1)[pick], np.stack([d["u_x"], d["u_y"]], 1)[pick]


def plate_hole_inverse(
    n_obs: int = 2000, e_init: float = 1200.0, data_weight: float = 100.0, seed: int = 0
) -> Problem:
    """Identify Young's modulus (true 1000) from ``n_obs`` FE displacements, starting at
    ``e_init``, with the strong form's residuals (nu = 0.3 and the load known).

    ``div sigma = 0`` and the traction-free edges are homogeneous in E, so only the loaded
    edge, ``sigma(E) . n = (100, 0)``, sees E: those three use a fixed modulus and the loaded
    edge the unknown one. Residuals are scaled as in :func:`plate_hole`'s strong form; E is
    trained through ``log E`` (``transform="exp"``).
    """
    modulus = InverseParameter(e_init, transform="exp", true=E)

    def loaded(x, u):
        return linear_stress(u, U, u.param("E"), NU, "stress") / LOAD

    def free(x, u):
        return linear_stress(u, U, e_init, NU, "stress") / LOAD

    return Problem(
        name="plate_hole_inverse",
        geometry=_geometry(),
        inputs=("x", "y"),
        fields=U,
        terms=[
            Residual(
                equilibrium(e_init * SIZE / LOAD, NU, U, "stress"),
                name="equilibrium",
                forms="inverse",
            ),
            Neumann("right", (1.0, 0.0), fields=U, flux=loaded, name="traction", forms="inverse"),
            Neumann("top", 0.0, fields=U, flux=free, name="top", forms="inverse"),
            Neumann("hole", 0.0, fields=U, flux=free, name="hole", forms="inverse"),
            *_symmetry_shear(free, "inverse"),
            Data(*observations(n_obs, seed), fields=U, weight=data_weight),
            Dirichlet("left", 0.0, fields="ux", hard=True),
            Dirichlet("bottom", 0.0, fields="uy", hard=True),
        ],
        parameters={"E": modulus},
        reference=reference(),
        derived=_derived(lambda x, u: linear_stress(u, U, u.param("E"), NU, "stress")),
        default_form="inverse",
        defaults={"n_interior": 2048, "n_boundary": 256},
    )
