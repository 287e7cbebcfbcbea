"""Distance functions for hard constraints: zero on the part, unit gradient there, smooth."""

import math

import pytest
import torch

from kinn.geometry import (
    Cuboid,
    Disk,
    Ellipse,
    Interval,
    Polygon,
    Rectangle,
    Sphere,
    TimeDomain,
    koch_snowflake,
)


def plate_with_hole():
    return Rectangle([0, 0], [20, 20]) - Disk([0, 0], 5).named("hole")


L_SHAPE = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]  # edges 2, 3 are re-entrant

CASES = {
    "interval": (Interval(0, 2), None),
    "rectangle": (Rectangle([0, 0], [2, 1]), ["left", "top"]),
    "disk": (Disk([1, 1], 2), None),
    "ellipse": (Ellipse([0, 0], 3, 1, angle=0.4), None),
    "plate": (plate_with_hole(), ["left", "hole"]),
    "l_shape": (Polygon(L_SHAPE), None),
    "snowflake": (koch_snowflake(1, 3.0), None),
    "cuboid": (Cuboid([0, 0, 0], [1, 2, 3]), ["x0_min", "x2_max"]),
    "sphere": (Sphere([0, 0, 0], 1.5), None),
    "cube_minus_ball": (Cuboid([0, 0, 0], [2, 2, 2]) - Sphere([2, 2, 2], 1).named("ball"), None),
    "union": (Rectangle([0, 0], [2, 1]) | Rectangle([0, 0], [1, 2]), None),
}


@pytest.mark.parametrize("key", CASES)
def test_distance_is_zero_with_unit_gradient_on_each_part_and_positive_inside(key):
    geom, parts = CASES[key]
    phi = geom.adf(parts)
    for part in phi.parts:
        x, normal = geom.sample_boundary(64, part=part, seed=1)
        x.requires_grad_()
        value = phi(x)
        (grad,) = torch.autograd.grad(value.sum(), x)
        assert value.abs().max() < 1e-13 * max(geom._scale(), 1), part
        # first-order normalised, pointing inwards: grad phi = -n
        assert torch.allclose(grad, -normal, atol=1e-6), part
    x = geom.sample_interior(256, seed=2).requires_grad_()
    value = phi(x)
    assert value.min() > 0
    (grad,) = torch.autograd.grad(value.sum(), x, create_graph=True)
    (hess,) = torch.autograd.grad(grad[:, 0].sum(), x)
    assert torch.isfinite(hess).all()


def test_re_entrant_edges_are_trimmed_to_the_part():
    # The line of the re-entrant edge y = 1, 1 <= x <= 2, runs on through the domain at x < 1:
    # its distance function must not vanish there.
    geom = Polygon(L_SHAPE)
    phi = geom.adf("edge2")
    line = torch.stack([torch.linspace(0.05, 0.95, 19), torch.ones(19)], 1)
    assert phi(line).min() > 0.04
    on_edge = torch.stack([torch.linspace(1.05, 1.95, 19), torch.ones(19)], 1)
    assert phi(on_edge).abs().max() < 1e-15
    # An outer edge's line meets the domain only on the edge: the plain signed distance.
    x = geom.sample_interior(32, seed=0)
    assert torch.allclose(geom.adf("edge0")(x), x[:, 1], atol=1e-15)


def test_circle_distance_is_exact_at_the_centre_and_joins_keep_the_normalisation():
    disk = Disk([1, -1], 2)
    assert disk.adf()(torch.tensor([[1.0, -1.0]])).item() == pytest.approx(2.0)
    rect = Rectangle([0, 0], [1, 1])
    x = torch.tensor([[0.5, 0.5], [0.25, 0.5]])
    # R-equivalence of the four edges: 1 / phi = sum of 1 / distance
    want = 1 / (1 / x[:, 0] + 1 / (1 - x[:, 0]) + 1 / x[:, 1] + 1 / (1 - x[:, 1]))
    assert torch.allclose(rect.adf()(x), want)


def test_space_time_parts_include_the_initial_slice():
    geom = Disk([0, 0], 1) * TimeDomain(0, 2)
    phi = geom.adf(["boundary", "initial"])
    x0 = geom.sample_initial(32, seed=0)
    xb, _ = geom.sample_boundary(32, seed=0)
    assert phi(x0).abs().max() == 0 and phi(xb).abs().max() < 1e-15
    assert phi(geom.sample_interior(64, seed=1)).min() > 0
    final = geom.adf("final")(torch.tensor([[0.0, 0.0, 0.5]]))
    assert final.item() == pytest.approx(1.5)


def test_parts_without_a_distance_function_say_what_to_pass():
    cracked = Rectangle([0, 0], [1, 1]).add_boundary_part("crack", lambda x: x[:, 1] == 0)
    with pytest.raises(ValueError, match="'crack' is claimed by a predicate.*distance="):
        cracked.adf("crack")
    with pytest.raises(ValueError, match="got 'middle'"):
        Rectangle([0, 0], [1, 1]).adf("middle")
    assert math.isfinite(plate_with_hole().adf("hole")(torch.tensor([[10.0, 10.0]])).item())
