import numpy as np
import pytest
import torch

from kinn.nn import bspline_basis, bspline_basis_general, bspline_matrix, uniform_grid
from kinn.nn.bspline import matrix_rows, scatter_dense, uniform_local


def cox_de_boor(x: np.ndarray, knots: np.ndarray, degree: int) -> np.ndarray:
    """Textbook recursion on the extended knot vector, one point at a time (the reference)."""
    n = len(knots) - degree - 1
    out = np.zeros((len(x), n))
    for row, xv in enumerate(x):
        b = np.array([1.0 if knots[j] <= xv < knots[j + 1] else 0.0 for j in range(len(knots) - 1)])
        for p in range(1, degree + 1):
            nxt = np.zeros(len(knots) - p - 1)
            for j in range(len(nxt)):
                left = (xv - knots[j]) / (knots[j + p] - knots[j]) * b[j]
                right = (knots[j + p + 1] - xv) / (knots[j + p + 1] - knots[j + 1]) * b[j + 1]
                nxt[j] = left + right
            b = nxt
        out[row] = b
    return out


def extended_knots(lo, hi, grid, degree):
    h = (hi - lo) / grid
    return lo + h * np.arange(-degree, grid + degree + 1)


@pytest.mark.parametrize("degree", range(1, 10))
@pytest.mark.parametrize("grid", [3, 7, 50])
def test_matrix_form_equals_cox_de_boor_to_round_off(degree, grid):
    lo, hi = -1.3, 2.1
    rng = np.random.default_rng(degree * 100 + grid)
    x = np.concatenate([rng.uniform(lo, hi, 200), np.linspace(lo, hi, grid + 1)[:-1]])
    ref = cox_de_boor(x, extended_knots(lo, hi, grid, degree), degree)
    knots = uniform_grid((lo, hi), grid, 1, dtype=torch.float64)
    ours = bspline_basis(torch.tensor(x)[:, None], knots, degree)[:, 0].numpy()
    assert ours.shape == (len(x), grid + degree)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("degree", [1, 3, 6, 12])
def test_bases_are_a_partition_of_unity_inside_and_outside(degree):
    knots = uniform_grid((-1.0, 1.0), 6, 3, dtype=torch.float64)
    x = torch.linspace(-1.5, 1.5, 301, dtype=torch.float64)[:, None].expand(-1, 3)
    b = bspline_basis(x, knots, degree)
    torch.testing.assert_close(b.sum(-1), torch.ones(301, 3, dtype=torch.float64))


def test_bases_continue_c2_then_linearly_outside_the_domain():
    # value, slope and curvature carry over at each end; the curvature fades to zero over one
    # spacing (h = 0.5 here), then every basis is a straight line
    knots = uniform_grid((-1.0, 1.0), 4, 1, dtype=torch.float64)
    for degree in (2, 3, 5):
        for end in (-1.0, 1.0):
            side = torch.tensor([[end - 1e-12], [end + 1e-12]], dtype=torch.float64)
            for r in range(3):
                b = bspline_basis_general(side, knots, degree, r)
                torch.testing.assert_close(b[0], b[1], rtol=0, atol=1e-9)
            curvature = bspline_basis_general(side[:1] * 0 + end, knots, degree, 2)
            assert curvature.abs().sum() > 0  # the continuation is not the linear one
        far = torch.tensor([[-1.6], [-7.0], [1.6], [9.0]], dtype=torch.float64)
        zero = bspline_basis_general(far, knots, degree, 2)
        assert torch.equal(zero, torch.zeros_like(zero))
        slope = bspline_basis_general(far, knots, degree, 1)
        torch.testing.assert_close(slope[0], slope[1])
        torch.testing.assert_close(slope[2], slope[3])
        b = bspline_basis(far, knots, degree)
        torch.testing.assert_close(b[1] - b[0], (far[1] - far[0]) * slope[0])
        torch.testing.assert_close(b[3] - b[2], (far[3] - far[2]) * slope[2])


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_derivatives_outside_the_domain_match_finite_differences(degree):
    knots = uniform_grid((-1.0, 1.0), 5, 1, dtype=torch.float64)
    x = torch.linspace(-2.3, 2.3, 467, dtype=torch.float64)[:, None]
    eps = 1e-6
    for r in (1, 2, 3):
        ours = bspline_basis_general(x, knots, degree, r)
        upper = bspline_basis_general(x + eps, knots, degree, r - 1)
        lower = bspline_basis_general(x - eps, knots, degree, r - 1)
        fd = (upper - lower) / (2 * eps)
        # the third derivative jumps at the ends and one spacing beyond them
        near = ((x.abs() - 1).abs() < 2 * eps) | ((x.abs() - 1.4).abs() < 2 * eps)
        keep = ~near[:, 0] if r == 3 else slice(None)
        torch.testing.assert_close(ours[keep], fd[keep], rtol=1e-5, atol=1e-5 * 5**r)
        # the matrix form on the uniform grid gives the same continuation
        inv_h, lo = (
            torch.tensor([2.5], dtype=torch.float64),
            torch.tensor([-1.0], dtype=torch.float64),
        )
        m, vals = uniform_local(x, lo, inv_h, 5, matrix_rows(degree, r), r, r)
        torch.testing.assert_close(scatter_dense(m, vals[0], 5 + degree), ours)


def test_matrix_rows_of_derivatives_match_finite_differences():
    knots = uniform_grid((0.0, 1.0), 5, 1, dtype=torch.float64)
    x = torch.rand(50, 1, dtype=torch.float64) * 0.98 + 0.01
    eps = 1e-6
    for degree in (2, 3, 5):
        for r in (1, 2):
            ours = bspline_basis_general(x, knots, degree, derivative=r)
            lower = bspline_basis_general(x + eps, knots, degree, r - 1)
            upper = bspline_basis_general(x - eps, knots, degree, r - 1)
            fd = (lower - upper) / (2 * eps)
            torch.testing.assert_close(ours, fd, rtol=1e-4, atol=1e-4 * 5**r)
    m1 = bspline_matrix(3, 1)
    assert torch.allclose(m1[-1], torch.zeros(4, dtype=torch.float64))


def test_general_path_equals_matrix_form_on_uniform_knots():
    knots = uniform_grid((-2.0, 3.0), 9, 2, dtype=torch.float64)
    x = torch.rand(100, 2, dtype=torch.float64) * 7 - 3  # includes points outside
    for degree in (1, 3, 7):
        torch.testing.assert_close(
            bspline_basis_general(x, knots, degree), bspline_basis(x, knots, degree)
        )


def test_general_path_matches_reference_on_non_uniform_knots():
    inner = np.array([-1.0, -0.7, -0.1, 0.05, 0.6, 1.0])
    degree = 3
    ext = np.concatenate(
        [
            inner[0] - (inner[1] - inner[0]) * np.arange(degree, 0, -1),
            inner,
            inner[-1] + (inner[-1] - inner[-2]) * np.arange(1, degree + 1),
        ]
    )
    x = np.random.default_rng(0).uniform(-1, 1, 100)
    ref = cox_de_boor(x, ext, degree)
    ours = bspline_basis_general(torch.tensor(x)[:, None], torch.tensor(inner)[None], degree)
    np.testing.assert_allclose(ours[:, 0].numpy(), ref, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"degree": 0}, "degree"),
        ({"degree": 13}, "degree"),
        ({"grid": torch.zeros(2, 1)}, "grid"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    args = {"x": torch.zeros(4, 2), "grid": uniform_grid((-1.0, 1.0), 4, 2), "degree": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bspline_basis(**args)


def test_non_uniform_knots_are_refused_by_the_matrix_form():
    knots = torch.tensor([[-1.0, -0.5, 0.3, 1.0]])
    with pytest.raises(ValueError, match="not uniform"):
        bspline_basis(torch.zeros(3, 1), knots, 2)


def test_uniform_grid_rejects_empty_domain():
    with pytest.raises(ValueError, match="lo < hi"):
        uniform_grid((1.0, 1.0), 4, 2)
