import pytest
import torch

import kinn.diff
from kinn.diff import divergence, grad, hessian, laplacian, partial


@pytest.fixture
def xu():
    x = torch.rand(20, 2, dtype=torch.float64).requires_grad_()
    u = torch.stack([x[:, 0] ** 2 * x[:, 1], torch.sin(x[:, 0]) + x[:, 1] ** 3], dim=1)
    return x, u


def test_grad_of_a_known_field(xu):
    x, u = xu
    g = grad(u, x)
    assert g.shape == (20, 2, 2)
    torch.testing.assert_close(g[:, 0, 0], 2 * x[:, 0] * x[:, 1])
    torch.testing.assert_close(g[:, 1, 1], 3 * x[:, 1] ** 2)
    assert not hasattr(kinn.diff, "jacobian")  # one name for it: grad


def test_hessian_laplacian_and_divergence(xu):
    x, u = xu
    h = hessian(u, x)
    assert h.shape == (20, 2, 2, 2)
    torch.testing.assert_close(h[:, 0, 0, 1], 2 * x[:, 0])
    torch.testing.assert_close(h[:, 0, 0, 1], h[:, 0, 1, 0])
    lap = laplacian(u, x)
    torch.testing.assert_close(lap[:, 1], -torch.sin(x[:, 0]) + 6 * x[:, 1])
    torch.testing.assert_close(divergence(u, x), 2 * x[:, 0] * x[:, 1] + 3 * x[:, 1] ** 2)


def test_partial_derivatives_by_name(xu):
    x, u = xu
    torch.testing.assert_close(partial(u, x, "t", ("x", "t"))[:, 0], x[:, 0] ** 2)
    torch.testing.assert_close(partial(u, x, "xt", ("x", "t"))[:, 0], 2 * x[:, 0])
    torch.testing.assert_close(partial(u, x, "x1,x1", ("x1", "x2"))[:, 0], 2 * x[:, 1])


def test_operators_name_bad_input(xu):
    x, u = xu
    with pytest.raises(ValueError, match="requires_grad|require grad"):
        grad(u, x.detach())
    with pytest.raises(ValueError, match="not in"):
        partial(u, x, "z", ("x", "y"))
    with pytest.raises(ValueError, match="m == d"):
        divergence(u[:, :1], x)
