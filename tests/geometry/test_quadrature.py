import math

import numpy as np
import pytest
import torch
from conftest import PLATE_AREA, hex_mesh, plate_with_hole

from kinn.geometry import (
    Box,
    Disk,
    Ellipse,
    Mesh,
    Polygon,
    Rectangle,
    Sphere,
    TimeDomain,
    koch_snowflake,
)
from kinn.geometry.quadrature import duffy_rule, simplex_rule


def monomial_integral_box(powers, lo, hi):
    return np.prod([(b ** (p + 1) - a ** (p + 1)) / (p + 1) for p, a, b in zip(powers, lo, hi)])


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_gauss_on_box_is_exact_to_degree_2n_minus_1_per_axis(n):
    lo, hi = [-1.0, 0.5, 0.0], [2.0, 1.5, 0.7]
    x, w = Box(lo, hi).quadrature(n, "gauss")
    assert len(w) == n**3
    for powers in [(2 * n - 1, 0, 0), (0, 2 * n - 1, 2 * n - 1), (1, min(2, 2 * n - 1), 2 * n - 1)]:
        exact = monomial_integral_box(powers, lo, hi)
        got = (w * x[:, 0] ** powers[0] * x[:, 1] ** powers[1] * x[:, 2] ** powers[2]).sum()
        assert math.isclose(got.item(), exact, rel_tol=1e-12, abs_tol=1e-13)
    got = (w * x[:, 0] ** (2 * n)).sum().item()
    assert not math.isclose(got, monomial_integral_box((2 * n, 0, 0), lo, hi), rel_tol=1e-9)


@pytest.mark.parametrize("rule, n, degree", [("trapezoid", 9, 1), ("simpson", 9, 3)])
def test_composite_rules_are_exact_to_their_degree(rule, n, degree):
    lo, hi = [0.0, -1.0], [2.0, 3.0]
    x, w = Rectangle(lo, hi).quadrature(n, rule)
    exact = monomial_integral_box((degree, 1), lo, hi)
    assert math.isclose((w * x[:, 0] ** degree * x[:, 1]).sum().item(), exact, rel_tol=1e-12)
    wrong = (w * x[:, 0] ** (degree + 1)).sum().item()
    assert not math.isclose(wrong, monomial_integral_box((degree + 1, 0), lo, hi), rel_tol=1e-9)


def triangle_monomial(a, b):
    """Integral of x^a y^b over the reference triangle (0,0), (1,0), (0,1)."""
    return math.factorial(a) * math.factorial(b) / math.factorial(a + b + 2)


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5, 6, 8])
def test_triangle_rules_integrate_polynomials_to_their_degree(degree):
    tri = Polygon([(0, 0), (1, 0), (0, 1)])
    x, w = tri.quadrature(degree, "triangle")
    for a in range(degree + 1):
        b = degree - a
        got = (w * x[:, 0] ** a * x[:, 1] ** b).sum().item()
        assert math.isclose(got, triangle_monomial(a, b), rel_tol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_collapsed_gauss_on_triangles_is_exact_to_degree_2n_minus_1(n):
    x, w = Polygon([(0, 0), (1, 0), (0, 1)]).quadrature(n, "gauss")
    for a in range(2 * n):
        got = (w * x[:, 0] ** a * x[:, 1] ** (2 * n - 1 - a)).sum().item()
        assert math.isclose(got, triangle_monomial(a, 2 * n - 1 - a), rel_tol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_duffy_rule_is_exact_to_degree_2n_minus_2_on_smooth_integrands(n):
    bary, w = duffy_rule(n)
    x, y = bary[:, 1], bary[:, 2]  # reference triangle (0, 0), (1, 0), (0, 1), area 1/2
    assert math.isclose(w.sum(), 1.0, rel_tol=1e-14) and (w > 0).all()
    for a in range(2 * n - 1):
        got = 0.5 * (w * x**a * y ** (2 * n - 2 - a)).sum()
        assert math.isclose(got, triangle_monomial(a, 2 * n - 2 - a), rel_tol=1e-12)


def test_duffy_rule_integrates_a_one_over_r_singularity_at_vertex_0():
    # int over the reference triangle of 1 / r (r from vertex 0) = sqrt(2) asinh(1)
    exact = math.sqrt(2) * math.asinh(1.0)
    # after the map the integrand is smooth: Gauss converges exponentially
    errors = []
    for n in (2, 6, 10):
        bary, w = duffy_rule(n)
        errors.append(abs(0.5 * (w / np.hypot(bary[:, 1], bary[:, 2])).sum() - exact) / exact)
    assert errors[0] > 1e3 * errors[1] > 1e6 * errors[2] and errors[2] < 1e-8
    bary, w = simplex_rule(2, 5)  # a plain rule of similar size misses it by percents
    plain = 0.5 * (w / np.hypot(bary[:, 1], bary[:, 2])).sum()
    assert abs(plain - exact) > 1e-2 * exact


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_tetrahedron_rules_integrate_polynomials_to_their_degree(degree):
    bary, w = simplex_rule(3, degree)
    x, y, z = bary[:, 1], bary[:, 2], bary[:, 3]
    for a, b, c in [(degree, 0, 0), (0, degree - 1, 1), (1, 0, degree - 1)]:
        exact = (
            math.factorial(a)
            * math.factorial(b)
            * math.factorial(c)
            / math.factorial(a + b + c + 3)
        )
        assert math.isclose((w * x**a * y**b * z**c).sum() / 6, exact, rel_tol=1e-12)


def test_disk_sphere_and_ellipse_rules_integrate_polynomials_exactly():
    x, w = Disk([0, 0], 2).quadrature(3)
    assert math.isclose((w * x[:, 0] ** 4).sum().item(), math.pi * 2**6 / 8, rel_tol=1e-12)
    x, w = Sphere([0, 0, 0], 1).quadrature(3)
    assert math.isclose((w * x[:, 2] ** 2).sum().item(), 4 * math.pi / 15, rel_tol=1e-12)
    x, w = Ellipse([1, 0], 3, 2).quadrature(3)
    assert math.isclose(
        (w * (x[:, 0] - 1) ** 2).sum().item(), math.pi * 3**3 * 2 / 4, rel_tol=1e-12
    )


def test_quarter_plate_with_hole_weights_sum_to_its_area():
    plate = plate_with_hole()
    for rule, n in [("gauss", 3), ("triangle", 4)]:
        x, w = plate.quadrature(n, rule)
        assert abs(w.sum().item() - PLATE_AREA) / PLATE_AREA < 1e-6
        assert (w > 0).all() and plate.inside(x).all()
    # Integrand x^2: exact value 20^4/3*... minus the quarter-disk's pi r^4 / 16.
    x, w = plate.quadrature(4)
    exact = 20**4 * 20 / 3 / 20 - math.pi * 5**4 / 16
    assert math.isclose((w * x[:, 0] ** 2).sum().item(), exact, rel_tol=1e-9)


def test_koch_snowflake_weights_sum_to_exact_area():
    snow = koch_snowflake(2, 3.0)
    assert len(snow.vertices) == 48
    exact = 10 * math.sqrt(3) / 3
    for rule in ("gauss", "triangle"):
        _, w = snow.quadrature(2, rule)
        assert abs(w.sum().item() - exact) < 1e-9
    assert abs(snow.measure - exact) < 1e-12


def test_mesh_rules_on_bilinear_quads_and_hexahedra():
    # A trapezoid quad: the bilinear map has a varying Jacobian.
    quad = Mesh(np.array([(0, 0), (2, 0), (1.5, 1), (0.5, 1)], float), {"quad": [[0, 1, 2, 3]]})
    x, w = quad.quadrature(3)
    assert math.isclose(w.sum().item(), 1.5, rel_tol=1e-13)
    assert math.isclose((w * x[:, 1]).sum().item(), 2 / 3, rel_tol=1e-12)
    x, w = hex_mesh().quadrature(2, "mesh")
    assert math.isclose((w * x[:, 0] ** 2).sum().item(), 8 / 3, rel_tol=1e-12)


def test_boundary_quadrature_sums_to_length_and_area():
    plate = plate_with_hole()
    expected = {"left": 15, "bottom": 15, "right": 20, "top": 20, "hole": 2.5 * math.pi}
    for part, length in expected.items():
        _, normals, w = plate.boundary_quadrature(4, part=part)
        assert math.isclose(w.sum().item(), length, rel_tol=1e-10)
        assert torch.allclose(normals.norm(dim=1), torch.ones(len(w)))
    _, _, w = Sphere([0, 0, 0], 2).boundary_quadrature(4)
    assert math.isclose(w.sum().item(), 16 * math.pi, rel_tol=1e-12)
    _, _, w = Box([0, 0, 0], [1, 2, 3]).boundary_quadrature(2)
    assert math.isclose(w.sum().item(), 22, rel_tol=1e-12)
    # Traction work of a uniform normal load on the hole: integral of n is the chord vector.
    _, normals, w = plate.boundary_quadrature(6, part="hole")
    assert torch.allclose((w[:, None] * normals).sum(0), torch.tensor([-5.0, -5.0]))


def test_montecarlo_weights_are_measure_over_n():
    x, w = plate_with_hole().quadrature(64, "montecarlo")
    assert x.shape == (64, 2) and torch.allclose(w, torch.full((64,), PLATE_AREA / 64))


def test_absurd_orders_are_refused_with_what_n_means():
    # Once a (592, 4000000, 2) allocation: now a message, before any array is built.
    plate = plate_with_hole()
    with pytest.raises(ValueError, match=r"n=100000 .*Gauss order per cell \(n points per dir"):
        plate.quadrature(100000)
    with pytest.raises(ValueError, match="polynomial degree"):
        plate.quadrature(100000, "triangle")
    with pytest.raises(ValueError, match=r"points per axis \(n\^3 in all\)"):
        Box([0, 0, 0], [1, 1, 1]).quadrature(1000)
    with pytest.raises(ValueError, match="radial Gauss points"):
        Disk([0, 0], 1).quadrature(10**5)
    with pytest.raises(ValueError, match="h must keep the triangulation"):
        plate.quadrature(2, h=1e-4)
    with pytest.raises(ValueError, match="per boundary patch"):
        plate.boundary_quadrature(10**8)
    with pytest.raises(ValueError, match="times n points in time"):
        (Rectangle([0, 0], [1, 1]) * TimeDomain(0, 1)).quadrature(300)
    with pytest.raises(ValueError, match="16,777,216 points, got n=4097"):
        Rectangle([0, 0], [1, 1]).quadrature(4097)  # 4096^2 = 2^24 is the largest allowed
