"""Prototype: KAN layers start smooth (research/REPORT.md); the old start stays available."""

import torch

from kinn.nn import KAN
from kinn.nn.layers import BSplineKANLayer, ChebyshevKANLayer


def test_layers_with_a_base_branch_start_with_zero_spline_coefficients():
    layer = BSplineKANLayer(3, 5)
    assert torch.count_nonzero(layer.spline_weight) == 0
    assert layer.base_weight.std() > 0


def test_bspline_layers_without_base_start_as_straight_lines():
    layer = BSplineKANLayer(2, 4, base=None, degree=3).double()
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)[:, None].expand(-1, 2).contiguous()
    phi = layer.edge_values(x)  # (N, 2, 4)
    second = phi[2:] - 2 * phi[1:-1] + phi[:-2]
    assert second.abs().max() < 1e-5 * phi.abs().max()  # float32 coefficients
    assert phi.abs().max() > 0


def test_chebyshev_layers_start_smooth_and_random():
    torch.manual_seed(0)
    layer = ChebyshevKANLayer(4, 8, degree=6)
    w = layer.spline_weight  # (I, K, O): degree 1 carries most of each edge
    assert (w[:, 1] ** 2).sum() > 10 * (w[:, 2:] ** 2).sum()


def test_smooth_start_keeps_activations_on_scale_and_old_start_is_available():
    torch.manual_seed(0)
    net = KAN([2, 16, 16, 1])
    x = torch.rand(4096, 2) * 2 - 1
    stds = [h.std().item() for h in net.activations(x)[1:]]
    assert all(0.1 < s < 1.5 for s in stds), stds
    for layer in net.layers:
        layer.reset_parameters(smooth=False)
        assert torch.count_nonzero(layer.spline_weight) > 0
