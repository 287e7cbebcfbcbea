"""Fourier features in front of a KAN: jets agree with nested autograd."""

import pytest
import torch
from torch import nn

from kinn.diff import jet, jet_of
from kinn.nn import KAN, FourierFeatures


@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_jets_through_fourier_features_match_autograd(hessian):
    torch.manual_seed(0)
    net = nn.Sequential(FourierFeatures(2, 5, 2.0), KAN([12, 4, 1], grid=4)).double()
    x = torch.rand(16, 2, dtype=torch.float64) * 2 - 1
    fast = jet(net, x, 2, hessian, derivatives="jet")
    slow = jet_of(net, x, 2, hessian)
    torch.testing.assert_close(fast.value, slow.value)
    torch.testing.assert_close(fast.grad, slow.grad)
    torch.testing.assert_close(fast.hess, slow.hess)


def test_features_are_fixed_and_checked():
    f = FourierFeatures(3, 4, 1.5, seed=1)
    assert f.out_dim == 11 and not any(p.requires_grad for p in f.parameters())
    assert torch.equal(f.B, FourierFeatures(3, 4, 1.5, seed=1).B)
    with pytest.raises(ValueError, match="scale must be a positive number, got 0"):
        FourierFeatures(3, 4, 0)
