"""KINN's mode-III crack: Laplace's equation on ``[-1, 1]^2`` cut along ``y = 0, x < 0``;
exact ``u = sqrt(r) sin(theta / 2)``, ``theta`` in ``(-pi, pi]``, Dirichlet values from it on the
outer boundary and, as in KINN's scripts, on the crack faces (``u = +-sqrt(r)``;
``faces="dirichlet"``, the default), or traction-free crack faces (``du/dy = 0``,
``faces="traction_free"``: the harder problem, where the network must find the jump).

The cut is a slit: ``u`` jumps across it (``+sqrt(r)`` above, ``-sqrt(r)`` below), which no
continuous network represents. Two formulations:

- one field ``u`` (default): ``u = G + D N`` with ``N`` the network, ``D`` a distance function
  that vanishes on the outer boundary and on the crack line, and a lifting ``G`` that jumps
  across the crack by the face values and is continuous across the ligament
  ``y = 0, x > 0`` (:func:`_slit_terms`). The solution is then continuous across the
  ligament and meets every Dirichlet value exactly, with no interface term: a conforming
  Ritz method;
- two subdomains (``subdomains=True``): the domain is split at ``y = 0``, one field per half,
  ``u_upper`` and ``u_lower`` (the network's two outputs), tied on the ligament by interface
  terms; ``u`` is a derived field (``u_upper`` for ``y >= 0``). Each field's Dirichlet
  values are imposed exactly (per outer edge the exact values at the projection onto it,
  on a Dirichlet face ``+-sqrt(r)``, blended by transfinite interpolation) or, with
  ``hard=False``, as penalties on fixed points, as KINN's CPINN does.

Forms: energy, ``integral |grad u|^2 / 2`` by a degree-``n`` rule on triangles whose edges
follow ``y = 0`` (``quadrature="triangle"``; Duffy's rule on the triangles at the tip with
``tip_rule``) or by Monte Carlo points (``quadrature="montecarlo"``), plus with subdomains a
penalty on ``u_upper - u_lower`` at the ligament; strong (CPINN with subdomains): ``lap u = 0``
in each half, continuity of ``u`` and ``du/dy`` on the ligament.
Errors are measured on a 200 x 200 cell-centred grid (no point on the slit).
"""

import numpy as np
import torch

from kinn.geometry import Mesh, Rectangle
from kinn.geometry.adf import Ball2, Flat, Trimmed
from kinn.pde import Dirichlet, Interface, Neumann, Problem, Reference, Residual

from ._region import RegionEnergy

FIELDS = ("u_upper", "u_lower")
FACES = ("dirichlet", "traction_free")


def exact(x):
    """``u = sqrt(r) sin(theta / 2)``, ``theta = atan2(y, x)``: ``x (N, 2) -> (N, 1)``
    (``y = -0.0`` counts as the lower face)."""
    return (_branch(x) * torch.where(torch.signbit(x[:, 1]), -1.0, 1.0).to(x))[:, None]


def _branch(x):
    """``sqrt(r) sin(theta / 2)`` of the upper half, mirrored below (smooth off the slit)."""
    r = torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    return torch.sqrt(r) * torch.sin(torch.atan2(x[:, 1].abs(), x[:, 0]) / 2)


def _project(x, side: str):
    """``x (N, 2)`` projected onto the line of an outer edge: ``(N, 2)``."""
    p = x.clone()
    if side in ("left", "right"):
        p[:, 0] = -1.0 if side == "left" else 1.0
    else:
        p[:, 1] = 1.0 if side == "top" else -1.0
    return p


def _on_edge(side: str, sign: float):
    """Lifting of one outer edge for one subdomain: ``sign * branch`` at the projection of
    ``x`` onto the edge's line."""
    return lambda x: sign * _branch(_project(x, side))


def _on_edge_slit(side: str):
    """Lifting of one outer edge in the one-field formulation: ``(u - J)(p) + J(x)`` with
    ``p`` the projection of ``x`` onto the edge's line (:func:`_slit_terms`)."""

    def g(x):
        p = _project(x, side)
        return exact(p)[:, 0] - _jump(p) + _jump(x)

    return g


def _soft_outer(n: int) -> list:
    """Soft outer values of the two subdomains: ``n`` midpoints on each half edge."""
    halves = {  # field: (sign, its outer boundary from the crack mouth to the ligament's end)
        "u_upper": (1.0, [(-1, 0), (-1, 1), (1, 1), (1, 0)]),
        "u_lower": (-1.0, [(-1, 0), (-1, -1), (1, -1), (1, 0)]),
    }
    return [
        Dirichlet(
            torch.cat([_segment(n, c[i], c[i + 1]) for i in range(3)]),
            lambda x, s=sign: s * _branch(x),
            fields=field,
            name=f"outer_{field[2:]}",
        )
        for field, (sign, c) in halves.items()
    ]


def _on_face(sign: float):
    """Lifting of a Dirichlet crack face: ``sign * sqrt(r)``, its values on the face."""
    return lambda x: sign * torch.sqrt(torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2))


def _face_distance(line):
    """Distance function of the crack face ``y = 0, -1 <= x <= 0``, zero only on the face:
    ``line``, a distance to ``y = 0`` positive on the side(s) it is seen from, trimmed."""
    disk = Ball2.over(np.array([[-1.0, 0.0]]), np.array([[0.0, 0.0]]))
    return Trimmed(line, disk, np.array([1e-12]))


def _slit_terms(interface_points: int) -> list:
    """Hard Dirichlet terms of the one-field formulation: a lifting continuous across the
    ligament that jumps across the crack by the face values.

    ``J = sign(y) (r - x) / (2 sqrt(r))`` (:func:`_jump`) is ``+-sqrt(r)`` on the two
    faces, zero on the ligament and of the solution's ``r^1/2`` strength at the tip. The
    lifting is ``J`` plus the transfinite interpolation of ``u - J`` on the outer edges (at
    the projection onto each) and of zero on the crack line: ``u - J`` is continuous along
    the boundary (it vanishes at the crack mouth from both sides), so the lifting's energy
    is finite. Each piece's value is written ``(u - J)(p(x)) + J(x)``; the interpolation
    weights sum to one, so that adds ``J`` once.
    """
    face = _line(interface_points, -1.0, 0.0)
    both_faces = _face_distance(lambda x: x[:, 1:].abs())  # |y|: seen from either side
    return [
        *(
            Dirichlet(side, _on_edge_slit(side), hard=True)
            for side in ("left", "right", "top", "bottom")
        ),
        Dirichlet(face, _jump, hard=True, distance=both_faces, name="crack_faces"),
    ]


def _jump(x):
    """``J = sign(y) (r - x) / (2 sqrt(r))``: ``+-sqrt(r)`` on the crack faces, 0 on the
    ligament (``y = -0.0`` counts as the lower face): ``x (N, 2) -> (N,)``."""
    r = torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    side = torch.where(torch.signbit(x[:, 1]), -1.0, 1.0).to(x)
    return side * (r - x[:, 0]) / (2 * torch.sqrt(r).clamp(min=torch.finfo(x.dtype).tiny))


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
    """``y >= +0.0`` (``y = -0.0`` counts as the lower face, as in :func:`exact`): ``(N,)``."""
    return ~torch.signbit(x[:, 1])


def _split(x, u, fn):
    """``fn(u_upper)`` above ``y = 0`` and ``fn(u_lower)`` below: ``(N,)``."""
    return torch.where(_upper(x), fn(u, "u_upper"), fn(u, "u_lower"))


def _segment(n: int, a, b) -> torch.Tensor:
    """``n`` midpoints of equal parts of the segment ``a -> b`` (2-D points): ``(n, 2)``."""
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    s = ((torch.arange(n, dtype=torch.float64) + 0.5) / n)[:, None]
    return (a + s * (b - a)).to(torch.get_default_dtype())


def _line(n: int, lo: float, hi: float) -> torch.Tensor:
    """``n`` midpoints on ``y = 0`` between ``x = lo`` and ``x = hi``: ``(n, 2)``."""
    return _segment(n, (lo, 0.0), (hi, 0.0))


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
    faces: str = "dirichlet",
    tip_rule: bool = True,
    subdomains: bool = False,
    hard: bool = True,
) -> Problem:
    """The crack in the energy form (default) or the strong form (CPINN).

    ``quadrature``: ``"triangle"`` (degree-``n`` rule on the ``2 cells^2`` triangles of
    :func:`conforming_mesh`) or ``"montecarlo"`` (``n`` points, redrawn on resample);
    ``interface_points`` fixed points on the ligament and on each crack face;
    ``interface_weight`` (subdomains): weight of the ligament terms, ``u_upper - u_lower``
    and in the strong form also the jump of ``du/dy`` (KINN's CPINN weighs them 10);
    ``faces``: ``"dirichlet"`` (KINN's: exact values on the crack faces, imposed exactly) or
    ``"traction_free"`` (``du/dy = 0`` there, natural in the energy form);
    ``tip_rule``: the triangles at the tip take Duffy's rule, which integrates the
    ``1 / r`` energy density there (plain rules under-integrate it: the exact solution's
    energy is 4.6e-3 low on the 24-cell degree-2 rule, 3e-5 with Duffy's rule at the tip);
    ``subdomains``: one field per half instead of one field with a slit lifting (needed by
    ``faces="traction_free"`` and by the strong form's CPINN); ``hard=False`` (subdomains
    only): the Dirichlet values as penalties on fixed points, as KINN's CPINN.
    """
    if quadrature not in ("triangle", "montecarlo"):
        raise ValueError(f"quadrature must be 'triangle' or 'montecarlo', got {quadrature!r}")
    if faces not in FACES:
        raise ValueError(f"faces must be one of {FACES}, got {faces!r}")
    if not hard and not subdomains:
        raise ValueError(
            "hard=False needs subdomains=True (soft values cannot make one field jump "
            f"across the crack), got subdomains={subdomains!r}"
        )
    if faces == "traction_free" and not subdomains:
        raise ValueError(
            "faces='traction_free' needs subdomains=True (one field cannot learn the jump "
            f"across the crack), got subdomains={subdomains!r}"
        )
    dense = dense_points()
    region = conforming_mesh(cells)
    singular = (0.0, 0.0) if tip_rule else None
    common = {
        "name": "crack",
        "geometry": Rectangle([-1, -1], [1, 1]),
        "inputs": ("x", "y"),
        "reference": Reference(points=dense, values={"u": exact(torch.as_tensor(dense))[:, 0]}),
        "default_form": "energy",
        "defaults": {"n_interior": 2048, "n_boundary": 256},
    }
    if not subdomains:
        return Problem(
            fields=("u",),
            terms=[
                Residual(lambda x, u: u.laplacian("u"), hessian="diag"),
                RegionEnergy(
                    lambda x, u: 0.5 * (u.grad_of("u") ** 2).sum(1),
                    region=region,
                    rule=quadrature,
                    n=n,
                    singular=singular,
                ),
                *_slit_terms(interface_points),
            ],
            **common,
        )
    ligament, face = _line(interface_points, 0.0, 1.0), _line(interface_points, -1.0, 0.0)
    up = torch.tensor([[0.0, 1.0]]).expand(interface_points, 2)
    if faces == "dirichlet" and not hard:  # exact values +-sqrt(r), penalised
        face_terms = [
            Dirichlet(face, _on_face(s), fields=f, name=f"crack_{f[2:]}")
            for f, s in (("u_upper", 1.0), ("u_lower", -1.0))
        ]
    elif faces == "dirichlet":  # exact values +-sqrt(r), imposed by the output transform
        face_terms = [
            Dirichlet(
                face,
                _on_face(s),
                fields=f,
                hard=True,
                distance=_face_distance(Flat(np.array([[0.0, -s]]), np.array([0.0]))),  # s y
                name=f"crack_{f[2:]}",
            )
            for f, s in (("u_upper", 1.0), ("u_lower", -1.0))
        ]
    else:  # traction-free crack faces: natural in the energy form
        face_terms = [
            Neumann((face, -up), 0.0, fields="u_upper", name="crack_upper"),
            Neumann((face, up), 0.0, fields="u_lower", name="crack_lower"),
        ]

    energy = RegionEnergy(
        lambda x, u: 0.5 * _split(x, u, lambda u, f: (u.grad_of(f) ** 2).sum(1)),
        region=region,
        rule=quadrature,
        n=n,
        singular=singular,
    )
    lifting = {
        "u_upper": [("left", 1.0), ("right", 1.0), ("top", 1.0)],
        "u_lower": [("left", -1.0), ("right", -1.0), ("bottom", -1.0)],
    }
    return Problem(
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
                weight=interface_weight,
                forms="strong",
            ),
            *face_terms,
            *(
                Dirichlet(side, _on_edge(side, sign), fields=field, hard=True)
                for field, sides in lifting.items()
                for side, sign in sides
                if hard
            ),
            *([] if hard else _soft_outer(interface_points)),
        ],
        derived={"u": lambda x, u: _split(x, u, lambda u, f: u[f])},
        **common,
    )
