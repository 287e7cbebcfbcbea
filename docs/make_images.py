"""Make the README's pictures in docs/images/: a field with its error (the plate with a hole),
a KAN diagram (symbolic regression) and a 3-D render (Poisson in a ball, pyvista).

    python docs/make_images.py            # about a minute on a laptop's CPU

Each picture comes from the public API (kinn.viz) on short training runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

import kinn.viz as viz
from kinn.geometry import Sphere
from kinn.nn import KAN
from kinn.pde import Dirichlet, Problem, Residual
from kinn.problems.plate_hole import plate_hole
from kinn.symbolic import fit_arrays
from kinn.train import Stage, Trainer

OUT = Path(__file__).resolve().parent / "images"


def field_with_error(path: Path) -> None:
    problem = plate_hole()
    torch.manual_seed(0)
    model = problem.model(KAN([2, 6, 2], grid=6))
    trainer = Trainer(
        model, problem.objective(model), Stage("adam", 400, lr=1e-2), validate_every=None,
        progress=False,
    )  # fmt: skip
    result = trainer.fit()
    viz.plot_field(result, "mises").savefig(path, dpi=110)


def kan_diagram(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 2))
    y = np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2)
    report = fit_arrays(
        x, y, names=["x", "y"], target="f", hidden=4, steps=200, always_read_network=True
    )
    viz.plot_kan(report).savefig(path, dpi=110)


def render_3d(path: Path) -> None:
    def exact(x):
        return (1 - (x**2).sum(1, keepdim=True)) / 6

    problem = Problem(
        name="poisson3d",
        geometry=Sphere([0, 0, 0], 1.0),
        inputs=("x", "y", "z"),
        fields=("u",),
        terms=[
            Residual(lambda x, u: -u.laplacian("u") - 1.0),
            Dirichlet("boundary", 0.0, hard=True),
        ],
        reference=exact,
        defaults={"n_interior": 256},
    )
    torch.manual_seed(0)
    model = problem.model(KAN([3, 4, 1], grid=5))
    result = Trainer(
        model, problem.objective(model), Stage("adam", 150, lr=1e-2), validate_every=None,
        progress=False,
    ).fit()  # fmt: skip
    viz.show3d(result, "u", "isosurfaces", n=48).savefig(path, dpi=110)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in (
        ("field_with_error.png", field_with_error),
        ("kan_diagram.png", kan_diagram),
        ("render_3d.png", render_3d),
    ):
        start = time.perf_counter()
        make(OUT / name)
        print(f"{OUT / name}  ({time.perf_counter() - start:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
