import math

import numpy as np
import pytest
import torch
from conftest import PLATE_AREA, plate_with_hole, shapes

from kinn.geometry import Ball, Cuboid, Disk, Interval, Mesh, Polygon, Rectangle, Sphere

SHAPES = shapes()
IDS = list(SHAPES)


@pytest.mark.parametrize("name", IDS)
def test_interior_samples_lie_inside(name):
    geom = SHAPES[name]
    x = geom.sample_interior(200, seed=0)
    assert x.shape == (200, geom.dim)
    assert geom.inside(x).all()
    assert (geom.distance(x) <= 1e-12).all()


@pytest.mark.parametrize("name", IDS)
def test_boundary_samples_lie_on_boundary_with_unit_outward_normals(name):
    geom = SHAPES[name]
    x, n = geom.sample_boundary(200, seed=1)
    assert x.shape == n.shape == (200, geom.dim)
    assert geom.on_boundary(x).all()
    assert torch.allclose(n.norm(dim=1), torch.ones(200))
    eps = 1e-7 * float(torch.stack(geom.bbox).diff(dim=0).norm())
    # Outward: a small step along n leaves the domain, a step against it enters.
    assert (geom.distance(x + eps * n) > 0).all()
    assert (geom.distance(x - eps * n) < 0).all()
    assert torch.allclose(geom.boundary_normal(x), n, atol=1e-9)


@pytest.mark.parametrize("name", IDS)
def test_measure_matches_quadrature_weights(name):
    geom = SHAPES[name]
    rule = "gauss" if "gauss" in geom.rules else "montecarlo"
    _, w = geom.quadrature(3, rule) if rule == "gauss" else geom.quadrature(4096, "montecarlo")
    assert math.isclose(w.sum().item(), geom.measure, rel_tol=1e-9 if rule == "gauss" else 1e-12)


@pytest.mark.parametrize(
    "name", ["rectangle", "disk", "polygon", "ellipse", "sphere", "cuboid", "mesh2d"]
)
def test_primitive_distance_is_exact(name):
    geom = SHAPES[name]
    lo, hi = (b.numpy() for b in geom.bbox)
    rng = np.random.default_rng(0)
    x = torch.as_tensor(lo - 0.5 + (hi - lo + 1) * rng.random((60, geom.dim)))
    boundary, _ = geom.sample_boundary(20000 if geom.dim == 2 else 60000, method="sobol", seed=2)
    nearest = torch.cdist(x, boundary).min(dim=1).values
    d = geom.distance(x)
    sign = torch.where(geom.inside(x), -1.0, 1.0)
    assert torch.allclose(d.abs(), nearest, atol=0.03 if geom.dim == 3 else 2e-3)
    assert torch.all(torch.sign(d) == sign)


def test_csg_distance_is_zero_on_boundary_and_signed():
    plate = plate_with_hole()
    x, _ = plate.sample_boundary(100, seed=0)
    assert plate.distance(x).abs().max() < 1e-12
    assert plate.distance(x, smooth=True).abs().max() < 1e-10
    inner = plate.sample_interior(100, seed=0)
    assert (plate.distance(inner, smooth=True) <= 0).all()
    assert plate.distance(torch.tensor([[1.0, 1.0], [25.0, 3.0]])).gt(0).all()


def test_plate_measure_is_exact():
    assert math.isclose(plate_with_hole().measure, PLATE_AREA, rel_tol=1e-12)


def test_float32_boundary_points_pass_the_default_tolerance():
    torch.set_default_dtype(torch.float32)
    plate = plate_with_hole()
    x, n = plate.sample_boundary(500, seed=0)
    assert x.dtype == n.dtype == torch.float32
    assert plate.on_boundary(x).all()
    xq, w = plate.quadrature(3)
    assert w.dtype == torch.float32 and abs(w.sum().item() - PLATE_AREA) / PLATE_AREA < 1e-6


def test_bbox_and_dtype_follow_default():
    r = Rectangle([0, -1], [2, 1])
    lo, hi = r.bbox
    assert lo.tolist() == [0, -1] and hi.tolist() == [2, 1]
    x = r.sample_interior(8, dtype=torch.float32)
    assert x.dtype == torch.float32


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "self-intersecting"),
        (lambda: Polygon([(0, 0), (1, 1), (2, 2)]), "degenerate"),
        (lambda: Polygon([(0, 0), (1, 0), (1, 0), (0, 1)]), "degenerate"),
        (lambda: Disk([0, 0], 0.0), "radius"),
        (lambda: Sphere([0, 0, 0], -1), "radius"),
        (lambda: Ball([0, 0], float("nan")), "radius"),
        (lambda: Rectangle([0, 0], [1, -1]), "xmax > xmin"),
        (lambda: Interval(1, 1), "l < r"),
        (lambda: Disk([0, 0], 1) & Disk([5, 5], 1), "empty"),
        (lambda: Disk([0, 0], 1) - Rectangle([-2, -2], [2, 2]), "empty"),
        (lambda: Cuboid([0, 0, 0], [1, 1, 1]) & Sphere([3, 3, 3], 0.5), "empty"),
        (lambda: Disk([0, 0], 1) | Cuboid([0, 0, 0], [1, 1, 1]), "dimension"),
        (lambda: Mesh(np.zeros((3, 2)), {"line": np.array([[0, 1]])}), "no cells"),
        (lambda: Mesh(np.zeros((3, 2)), {"triangle": np.zeros((0, 3), int)}), "no cells"),
        (lambda: Disk([0, 0], 1).sample_interior(0), "n must be a positive integer"),
        (lambda: Disk([0, 0], 1).sample_boundary(-3), "n must be a positive integer"),
        (lambda: Disk([0, 0], 1).quadrature(0), "n must be a positive integer"),
        (lambda: Disk([0, 0], 1).sample_interior(4, method="magic"), "unknown sampling method"),
        (lambda: Disk([0, 0], 1).quadrature(4, rule="simpson"), "rule must be one of"),
        (lambda: Rectangle([0, 0], [1, 1]).quadrature(4, rule="simpson"), "odd n"),
        (lambda: Disk([0, 0], 1).inside(torch.zeros(3, 3)), "shape"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "build, area, perimeter",
    [
        (lambda: Rectangle([0, 0], [2, 1]) | Rectangle([0, 0], [1, 2]), 3, 8),
        (lambda: Rectangle([0, 0], [1, 1]) | Rectangle([1, 0], [2, 1]), 2, 6),
        (lambda: Rectangle([0, 0], [2, 1]) & Rectangle([0, 0], [1, 1]), 1, 4),
        (lambda: Rectangle([0, 0], [2, 1]) - Rectangle([1, 0], [3, 1]).named("cut"), 1, 4),
        (lambda: Rectangle([0, 0], [2, 2]) - Rectangle([0.5, 1], [1.5, 2]).named("cut"), 3, 10),
        (lambda: Disk([0, 0], 1) - Rectangle([0, -2], [2, 2]), math.pi / 2, math.pi + 2),
    ],
)
def test_csg_boundary_is_exact_where_operand_edges_coincide(build, area, perimeter):
    geom = build()
    _, _, w = geom.boundary_quadrature(2)
    _, wq = geom.quadrature(2)
    assert math.isclose(geom.measure, area, rel_tol=1e-10)
    assert math.isclose(wq.sum().item(), area, rel_tol=1e-10)
    assert math.isclose(w.sum().item(), perimeter, rel_tol=1e-10)
