"""KINN's mode-III crack: Laplace's equation on ``[-1, 1]^2`` cut along ``y = 0, x < 0``;
exact ``u = sqrt(r) sin(theta / 2)``, ``theta`` in ``(-pi, pi]``, Dirichlet values from it on the
outer boundary, traction-free crack faces (``du/dy = 0``).

The cut is a slit: ``u`` jumps across it (``+sqrt(r)`` above, ``-sqrt(r)`` below), which no
continuous network represents. The domain is therefore split at ``y = 0`` into an upper and
a lower subdomain with one field each, ``u_upper`` and ``u_lower`` (the two outputs of the
network), which must agree on the ligament ``y = 0, x > 0`` (the interface) and are free on
the crack faces. The solution is ``u`` (a derived field): ``u_upper`` for ``y >= 0``,
``u_lower`` below.

- energy form: ``integral |grad u|^2 / 2`` over both halves, by a degree-``n`` rule on
  triangles whose edges follow ``y = 0`` (``quadrature="triangle"``) or by Monte Carlo points
  (``quadrature="montecarlo"``), plus a penalty on ``u_upper - u_lower`` at the interface; the
  crack faces are natural boundaries;
- strong form (CPINN): ``lap u = 0`` in each half, continuity of ``u`` and of ``du/dy`` at
  the interface, ``du/dy = 0`` on both crack faces.

The outer Dirichlet values are exact: each subdomain's field carries, per edge, the exact
values at the projection onto that edge (``u(-1, y)`` on the left edge ...) blended by
transfinite interpolation, which equals ``u`` on the edges and differs from it inside.
Errors are measured on a 200 x 200 cell-centred grid (no point on the slit).
"""

import numpy as np
import torch

from kinn.geometry import Mesh, Rectangle
from kinn.pde import Dirichlet, Interface, Neumann, Problem, Reference, Residual

from ._region import RegionEnergy

FIELDS = ("u_upper", "u_lower")


def exact(x):
    """``u = sqrt(r) sin(theta / 2)``, ``theta = atan2(y, x)``: ``x (N, 2) -> (N, 1)``
    (``y = -0.0`` counts as the lower face)."""
    return (_branch(x) * torch.where(torch.signbit(x[:, 1]), -1.0, 1.0).to(x))[:, None]


def _branch(x):
    """``sqrt(r) sin(theta / 2)`` of the upper half, mirrored below (smooth off the slit)."""
    r = torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    return torch.sqrt(r) * torch.sin(torch.atan2(x[:, 1].abs(), x[:, 0]) / 2)


def _on_edge(side: str, sign: float):
    """Lifting of one outer edge for one subdomain: ``sign * branch`` at the projection of
    ``x`` onto the edge's line."""

    def g(x):
        p = x.clone()
        if side in ("left", "right"):
            p[:, 0] = -1.0 if side == "left" else 1.0
        else:
            p[:, 1] = 1.0 if side == "top" else -1.0
        return sign * _branch(p)

    return g


def conforming_mesh(cells: int) -> Mesh:
    """``cells x cells`` squares on ``[-1, 1]^2``, two triangles each, with a row of nodes on
    ``y = 0`` (``cells`` even), so that no triangle straddles the crack line."""
    if isinstance(cells, bool) or not isinstance(cells, int) or cells < 2 or cells % 2:
        raise ValueError(f"cells must be an even integer >= 2, got {cells!r}")
    t = np.linspace(-1.0, 1.0, cells + 1)
    nodes = np.stack([g.ravel() for g in np.meshgrid(t, t, indexing="ij")], axis=1)
    i, j = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    a = (i * (cells + 1) + j).ravel()  # (x_i, y_j); +1 steps in y, + (cells + 1) in x
    b, c, d = a + cells + 1, a + cells + 2, a + 1
    triangles = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return Mesh(nodes, {"triangle": triangles})


def _upper(x):
    return x[:, 1] >= 0


def _split(x, u, fn):
    """``fn(u_upper)`` above ``y = 0`` and ``fn(u_lower)`` below: ``(N,)``."""
    return torch.where(_upper(x), fn(u, "u_upper"), fn(u, "u_lower"))


def _line(n: int, lo: float, hi: float) -> torch.Tensor:
    """``n`` Gauss-like midpoints on ``y = 0`` between ``x = lo`` and ``x = hi``: ``(n, 2)``."""
    s = lo + (hi - lo) * (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return torch.stack([s, torch.zeros_like(s)], 1).to(torch.get_default_dtype())


def dense_points(n: int = 200) -> np.ndarray:
    """Cell centres of an ``n x n`` grid on ``[-1, 1]^2``: ``(n^2, 2)``, none on ``y = 0``."""
    t = -1 + (np.arange(n) + 0.5) * 2 / n
    return np.stack([g.ravel() for g in np.meshgrid(t, t, indexing="ij")], axis=1)


def crack(
    quadrature: str = "triangle",
    n: int = 2,
    cells: int = 24,
    interface_points: int = 200,
    interface_weight: float = 10.0,
) -> Problem:
    """The crack in the energy form (default) or the strong form (CPINN).

    ``quadrature``: ``"triangle"`` (degree-``n`` rule on the ``2 cells^2`` triangles of
    :func:`conforming_mesh`) or ``"montecarlo"`` (``n`` points, redrawn on resample);
    ``interface_points`` fixed points on the ligament and on each crack face;
    ``interface_weight``: penalty on ``u_upper - u_lower`` at the interface (energy form).
    """
    if quadrature not in ("triangle", "montecarlo"):
        raise ValueError(f"quadrature must be 'triangle' or 'montecarlo', got {quadrature!r}")
    dense = dense_points()
    ligament, faces = _line(interface_points, 0.0, 1.0), _line(interface_points, -1.0, 0.0)
    up = torch.tensor([[0.0, 1.0]]).expand(interface_points, 2)

    def dy(name):
        return lambda x, u: u.jacobian([name])[..., 1:]  # (N, 1, 1): du/dy, the normal flux

    energy = RegionEnergy(
        lambda x, u: 0.5 * _split(x, u, lambda u, f: (u.grad_of(f) ** 2).sum(1)),
        region=conforming_mesh(cells),
        rule=quadrature,
        n=n,
    )
    lifting = {
        "u_upper": [("left", 1.0), ("right", 1.0), ("top", 1.0)],
        "u_lower": [("left", -1.0), ("right", -1.0), ("bottom", -1.0)],
    }
    return Problem(
        name="crack",
        geometry=Rectangle([-1, -1], [1, 1]),
        inputs=("x", "y"),
        fields=FIELDS,
        terms=[
            Residual(lambda x, u: _split(x, u, lambda u, f: u.laplacian(f)), hessian="diag"),
            energy,
            # continuity of u (every form) and of du/dy (strong form) on the ligament
            Interface(ligament, "u_upper", "u_lower", weight=interface_weight, forms="energy"),
            Interface(
                (ligament, up),
                "u_upper",
                "u_lower",
                flux_a=lambda x, u: u.jacobian(["u_upper"]),
                flux_b=lambda x, u: u.jacobian(["u_lower"]),
                forms="strong",
            ),
            # traction-free crack faces: natural in the energy form
            Neumann((faces, -up), 0.0, fields="u_upper", name="crack_upper"),
            Neumann((faces, up), 0.0, fields="u_lower", name="crack_lower"),
            *(
                Dirichlet(side, _on_edge(side, sign), fields=field, hard=True)
                for field, sides in lifting.items()
                for side, sign in sides
            ),
        ],
        reference=Reference(points=dense, values={"u": exact(torch.as_tensor(dense))[:, 0]}),
        derived={"u": lambda x, u: _split(x, u, lambda u, f: u[f])},
        default_form="energy",
        defaults={"n_interior": 2048, "n_boundary": 256},
    )
