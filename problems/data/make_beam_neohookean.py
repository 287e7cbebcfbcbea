"""Writes ``beam_neohookean_fem.npz`` from the KINN paper's FEniCS results (run once, from the
repository root, with the two ``.vtu`` files of ../shared/reference):

    python problems/data/make_beam_neohookean.py ../shared/reference

Arrays (float32, one value per FE node, 20,251 nodes): ``x, y``; ``u_x, u_y`` (point data
``f_7``); ``mises`` (point data ``f_56``, the von Mises stress of the 2-D second
Piola-Kirchhoff stress, see :mod:`kinn.problems.beam_neohookean`).
"""

import sys
from pathlib import Path

import meshio
import numpy as np

from kinn._files import atomic_write


def main(folder: str) -> None:
    folder = Path(folder)
    disp = meshio.read(folder / "beam_neohookean_fem_displacement.vtu")
    mises = meshio.read(folder / "beam_neohookean_fem_mises.vtu")
    if not np.array_equal(disp.points, mises.points):
        raise ValueError("the displacement and Mises meshes must share their nodes")
    u = np.asarray(disp.point_data["f_7"])
    arrays = {
        "x": disp.points[:, 0],
        "y": disp.points[:, 1],
        "u_x": u[:, 0],
        "u_y": u[:, 1],
        "mises": np.asarray(mises.point_data["f_56"]).reshape(-1),
    }
    out = Path(__file__).parent / "beam_neohookean_fem.npz"
    small = {k: v.astype(np.float32) for k, v in arrays.items()}
    atomic_write(out, lambda f: np.savez_compressed(f, **small))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference")
