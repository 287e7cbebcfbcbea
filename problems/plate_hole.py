"""KINN plate with a circular hole: quarter plate [0, 20]^2 minus the disc r < 5, plane stress.

E = 1000, nu = 0.3; u_x = 0 on x = 0 and u_y = 0 on y = 0 (symmetry, imposed exactly by
``u_x = x/20 N_x``, ``u_y = y/20 N_y``); traction (100, 0) on x = 20; top edge and hole
traction-free. Energy form (Deep Energy Method) by default, strong form possible. Reference:
Abaqus nodal values on a 200x200 grid outside the hole (``data/plate_hole_fem_grid.npz``).
"""

from pathlib import Path

import numpy as np

from kinn.geometry import Disk, Rectangle
from kinn.pde import Dirichlet, Energy, Neumann, Problem, Reference, Residual
from kinn.pde.elasticity import equilibrium, linear_elastic, linear_stress, von_mises

DATA = Path(__file__).parent / "data" / "plate_hole_fem_grid.npz"
E, NU, TRACTION = 1000.0, 0.3, (100.0, 0.0)
U = ("ux", "uy")


def stress(x, u):
    return linear_stress(u, U, E, NU, "stress")


def reference() -> Reference:
    d = np.load(DATA)
    values = {"ux": d["u_x"], "uy": d["u_y"], "u_mag": d["u_mag"], "mises": d["mises"]}
    return Reference(points=np.stack([d["x"], d["y"]], 1), values=values)


def plate_hole(quadrature_n: int = 2, h: float | None = None) -> Problem:
    """The plate; ``quadrature_n`` collapsed-Gauss points per triangle direction on a
    triangulation of element size ``h`` (DEM; default diameter/24: 2452 points); 64 boundary
    Gauss points on the loaded edge.

    The default rule suits short runs (a few hundred Adam steps). Over about 700 steps a
    B-spline KAN starts to exploit it (the energy drops below the true minimum while the error
    grows); longer runs should use ``h=0.7`` (7048 points) or finer.
    """
    geometry = Rectangle([0, 0], [20, 20]) - Disk([0, 0], 5).named("hole")
    return Problem(
        name="plate_hole",
        geometry=geometry,
        inputs=("x", "y"),
        fields=U,
        terms=[
            Energy(
                linear_elastic(E, NU, U, "stress"), n=quadrature_n, options={"h": h} if h else None
            ),
            Residual(equilibrium(E, NU, U, "stress"), name="equilibrium"),
            Neumann("right", TRACTION, fields=U, flux=stress, n=64),
            Neumann("top", 0.0, fields=U, flux=stress, forms=("strong",)),
            Neumann("hole", 0.0, fields=U, flux=stress, forms=("strong",)),
            Dirichlet("left", 0.0, fields="ux", hard=True),
            Dirichlet("bottom", 0.0, fields="uy", hard=True),
        ],
        reference=reference(),
        derived={
            "u_mag": lambda x, u: u.vector(U).norm(dim=1),
            "mises": lambda x, u: von_mises(stress(x, u), "stress"),
        },
        default_form="energy",
        defaults={"n_interior": 2048, "n_boundary": 256},
    )
