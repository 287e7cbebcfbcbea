import math

import numpy as np
import pytest
import torch

from kinn.geometry import (
    Box,
    Cuboid,
    Disk,
    Ellipse,
    Interval,
    Mesh,
    Polygon,
    Rectangle,
    Sphere,
    Triangle,
    koch_snowflake,
)

PLATE_AREA = 400 - 25 * math.pi / 4


@pytest.fixture(autouse=True)
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def plate_with_hole():
    return Rectangle([0, 0], [20, 20]) - Disk([0, 0], 5).named("hole")


def hex_mesh():
    """Two unit hexahedra sharing the face x = 1."""
    pts = np.array(
        [
            (0, 0, 0),
            (1, 0, 0),
            (1, 1, 0),
            (0, 1, 0),
            (0, 0, 1),
            (1, 0, 1),
            (1, 1, 1),
            (0, 1, 1),
            (2, 0, 0),
            (2, 1, 0),
            (2, 0, 1),
            (2, 1, 1),
        ],
        float,
    )
    cells = np.array([np.arange(8), [1, 8, 9, 2, 5, 10, 11, 6]])
    return Mesh(pts, {"hexahedron": cells})


def shapes():
    """Every kind of shape, keyed by a readable id."""
    l_shape = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    return {
        "interval": Interval(-1, 2),
        "rectangle": Rectangle([0, 0], [2, 1]),
        "box4d": Box([0, 0, 0, 0], [1, 2, 1, 1]),
        "disk": Disk([1, -1], 2),
        "ellipse": Ellipse([0, 0], 3, 1, angle=0.4),
        "polygon": l_shape,
        "triangle": Triangle([0, 0], [1, 0], [0, 1]),
        "snowflake": koch_snowflake(2, 3.0),
        "sphere": Sphere([0, 0, 0], 1.5),
        "cuboid": Cuboid([0, 0, 0], [1, 2, 3]),
        "mesh2d": Disk([0, 0], 1).triangulate(0.4),
        "mesh3d": hex_mesh(),
        "plate": plate_with_hole(),
        "union2d": Rectangle([0, 0], [2, 1]) | Disk([2, 0.5], 0.8),
        "intersection2d": Disk([0, 0], 1) & Rectangle([0, -2], [2, 2]),
        "csg3d": Cuboid([0, 0, 0], [2, 2, 2]) - Sphere([2, 2, 2], 1),
        "csg1d": Interval(0, 3) - Interval(1, 2).named("gap"),
    }
