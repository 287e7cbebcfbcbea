import math

import pytest
import torch
from conftest import plate_with_hole

from kinn.geometry import Box, Disk, Interval, Polygon, Rectangle


def test_plate_with_hole_has_named_parts_from_its_operands():
    plate = plate_with_hole()
    assert list(plate.boundary_parts) == ["left", "right", "bottom", "top", "hole"]
    x, n = plate.sample_boundary(100, part="hole", seed=0)
    assert torch.allclose(x.norm(dim=1), torch.full((100,), 5.0))
    assert torch.allclose(n, -x / 5)  # outward from the plate = into the hole
    assert set(plate.boundary_part_of(x)) == {"hole"}


@pytest.mark.parametrize("part", ["left", "right", "bottom", "top", "hole"])
def test_samples_of_a_part_lie_on_that_part_only(part):
    plate = plate_with_hole()
    x, _ = plate.sample_boundary(64, part=part, seed=3)
    assert plate.on_boundary(x, part=part).all()
    assert set(plate.boundary_part_of(x)) == {part}


def test_whole_boundary_samples_cover_each_part_in_proportion_to_length():
    plate = plate_with_hole()
    x, _ = plate.sample_boundary(4096, seed=0)
    parts = plate.boundary_part_of(x)
    total = 70 + 2.5 * math.pi
    assert abs(parts.count("hole") / 4096 - 2.5 * math.pi / total) < 0.01
    assert abs(parts.count("top") / 4096 - 20 / total) < 0.01


def test_primitive_part_names_follow_the_field():
    assert list(Interval(0, 1).boundary_parts) == ["left", "right"]
    assert list(Rectangle([0, 0], [1, 1]).boundary_parts) == ["left", "right", "bottom", "top"]
    assert list(Box([0, 0, 0], [1, 1, 1]).boundary_parts)[:2] == ["x0_min", "x0_max"]
    assert list(Disk([0, 0], 1).boundary_parts) == ["boundary"]
    assert list(Disk([0, 0], 1, name="hole").boundary_parts) == ["hole"]


def test_user_predicate_claims_a_crack_from_the_bottom_edge():
    plate = plate_with_hole().add_boundary_part("crack", lambda x: (x[:, 1] == 0) & (x[:, 0] < 10))
    assert list(plate.boundary_parts)[-1] == "crack"
    x, _ = plate.sample_boundary(50, part="crack", seed=0)
    assert (x[:, 1] == 0).all() and (x[:, 0] >= 5).all() and (x[:, 0] < 10).all()
    xb, _ = plate.sample_boundary(50, part="bottom", seed=0)
    assert (xb[:, 0] >= 10).all()
    _, _, w = plate.boundary_quadrature(200, part="crack")
    assert abs(w.sum().item() - 5.0) < 0.05


def test_operand_predicate_parts_survive_csg():
    notch = Rectangle([0, 0], [4, 2]).add_boundary_part("loaded", lambda x: x[:, 0] == 4)
    shape = notch - Disk([2, 2], 0.5)
    assert "loaded" in shape.boundary_parts
    x, n = shape.sample_boundary(30, part="loaded", seed=0)
    assert (x[:, 0] == 4).all() and (n == torch.tensor([1.0, 0.0])).all()
    _, _, w = shape.boundary_quadrature(3, part="loaded")
    assert math.isclose(w.sum().item(), 2.0, rel_tol=1e-12)


def test_polygon_edges_can_be_grouped_under_names():
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], edge_names={"clamped": [3], "load": [1]})
    assert list(square.boundary_parts) == ["edge0", "load", "edge2", "clamped"]
    x, n = square.sample_boundary(20, part="clamped", seed=0)
    assert (x[:, 0] == 0).all() and (n == torch.tensor([-1.0, 0.0])).all()
    # Clockwise input keeps each name on its own edge.
    cw = Polygon([(0, 0), (0, 1), (1, 1), (1, 0)], edge_names=["west", "north", "east", "south"])
    x, n = cw.sample_boundary(10, part="north", seed=0)
    assert (x[:, 1] == 1).all() and (n == torch.tensor([0.0, 1.0])).all()


def test_unknown_part_and_bad_names_raise():
    plate = plate_with_hole()
    with pytest.raises(ValueError, match="part must be a boundary part of.*got 'crack'"):
        plate.sample_boundary(4, part="crack")
    with pytest.raises(ValueError, match="already exists"):
        plate.add_boundary_part("left", lambda x: x[:, 0] == 0)
    with pytest.raises(ValueError, match="name"):
        Disk([0, 0], 1).named("")


def test_a_cut_may_not_reuse_the_outer_shapes_part_names():
    # The notch's remaining edges face +x and +y; calling them "left" and "top" merged them
    # with the outer edges of those names.
    with pytest.raises(ValueError, match=r"\['left', 'top'\].*named\('notch'\)"):
        Rectangle([-1, -1], [1, 1]) - Rectangle([0, -1], [1, 0])
    shape = Rectangle([-1, -1], [1, 1]) - Rectangle([0, -1], [1, 0]).named("notch")
    assert list(shape.boundary_parts) == ["left", "right", "bottom", "top", "notch"]
    x, n = shape.sample_boundary(40, part="left", seed=0)
    assert (x[:, 0] == -1).all() and (n == torch.tensor([-1.0, 0.0])).all()
    # Unions merge parts of the same name (same orientation): no error.
    assert "left" in (Rectangle([0, 0], [2, 1]) | Rectangle([0, 0], [1, 2])).boundary_parts
