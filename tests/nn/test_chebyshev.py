import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev

from kinn.nn import chebyshev_basis


@pytest.mark.parametrize("degree", [1, 2, 5, 13])
def test_recurrence_equals_numpy_chebyshev(degree):
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)[:, None]
    ours = chebyshev_basis(x, degree)[:, 0].numpy()
    for n in range(degree + 1):
        ref = chebyshev.chebval(x[:, 0].numpy(), np.eye(degree + 1)[n])
        np.testing.assert_allclose(ours[:, n], ref, atol=1e-12)


def test_gradients_are_finite_at_the_ends():
    x = torch.tensor([[-1.0], [1.0]], dtype=torch.float64, requires_grad=True)
    chebyshev_basis(x, 8).sum().backward()
    assert torch.isfinite(x.grad).all()
    # d/dx T_n(1) = n^2, summed over n = 0..8
    assert x.grad[1, 0].item() == pytest.approx(sum(n * n for n in range(9)))


def test_degree_zero_is_refused():
    with pytest.raises(ValueError, match="degree"):
        chebyshev_basis(torch.zeros(2, 1), 0)
