import pytest
import torch

from kinn.nn import BSplineKANLayer, ChebyshevKANLayer


@pytest.fixture(autouse=True)
def _float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def _x(n=16, i=3, lo=-1.0, hi=1.0):
    return (torch.rand(n, i) * (hi - lo) + lo).requires_grad_()


@pytest.mark.parametrize("degree", [1, 3, 5])
def test_bspline_layer_passes_gradcheck_and_gradgradcheck(degree):
    layer = BSplineKANLayer(3, 2, grid=4, degree=degree)
    x = _x()
    assert torch.autograd.gradcheck(
        lambda x, c, b: layer(x), (x, layer.spline_weight, layer.base_weight)
    )
    assert torch.autograd.gradgradcheck(lambda x: layer(x), (x,))


def test_chebyshev_layer_passes_gradcheck():
    layer = ChebyshevKANLayer(3, 2, degree=6)
    x = _x(lo=-3, hi=3)
    assert torch.autograd.gradcheck(lambda x, c: layer(x), (x, layer.spline_weight))
    assert torch.autograd.gradgradcheck(lambda x: layer(x), (x,))


@pytest.mark.parametrize("layer_cls", [BSplineKANLayer, ChebyshevKANLayer])
def test_forward_equals_sum_of_edge_functions(layer_cls):
    layer = layer_cls(4, 3)
    x = _x(50, 4)
    torch.testing.assert_close(layer(x), layer.edge_values(x).sum(1) + layer.bias)


def test_pruned_edges_contribute_nothing():
    layer = BSplineKANLayer(3, 2)
    layer.edge_mask[1, 0] = 0
    x = _x(20, 3)
    phi = layer.edge_values(x)
    assert torch.equal(phi[:, 1, 0], torch.zeros(20))
    x2 = x.detach().clone()
    x2[:, 1] = 0.7  # moving a pruned input changes nothing for that output
    torch.testing.assert_close(layer(x2)[:, 0], layer(x.detach())[:, 0])


@pytest.mark.parametrize("new_grid", [20, 30])
def test_refine_to_a_multiple_of_the_grid_keeps_any_function(new_grid):
    layer = BSplineKANLayer(2, 3, grid=10, degree=3)
    x = torch.linspace(-1, 1, 1001)[:, None].expand(-1, 2)
    before = layer(x).detach()
    layer.refine(new_grid)
    assert layer.grid_size == new_grid and layer.spline_weight.shape == (2, new_grid + 3, 3)
    after = layer(x).detach()
    assert ((after - before).norm() / before.norm()).item() < 1e-4


def test_refine_to_any_finer_grid_keeps_a_smooth_function():
    layer = BSplineKANLayer(1, 1, grid=10, degree=3, base=None)
    t = torch.linspace(-1, 1, 400)[:, None]
    target = torch.sin(2 * t) + 0.3 * t**2
    opt = torch.optim.LBFGS(layer.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (layer(t) - target).square().mean()
        loss.backward()
        return loss

    opt.step(closure)
    before = layer(t).detach()
    layer.refine(13)
    after = layer(t).detach()
    assert ((after - before).norm() / before.norm()).item() < 1e-4


def test_quantile_grid_update_is_exact_on_non_uniform_knots():
    layer = BSplineKANLayer(2, 2, grid=6, degree=3)
    with torch.no_grad():  # smooth edge functions: coefficients sampled at Greville abscissae
        greville = torch.linspace(-1 - 1 / 3, 1 + 1 / 3, 9)
        layer.spline_weight.copy_(torch.sin(2 * greville)[None, :, None] + torch.arange(2.0))
    data = torch.randn(500, 2) * 0.3
    before = layer(data).detach()
    layer.update_grid(data, mode="quantile")
    assert not layer.uniform
    after = layer(data).detach()
    assert ((after - before).norm() / before.norm()).item() < 5e-3
    x = _x(10, 2, -0.5, 0.5)
    assert torch.autograd.gradcheck(lambda x: layer(x), (x,))


def test_state_dict_round_trip_restores_a_non_uniform_grid():
    layer = BSplineKANLayer(2, 2, grid=5)
    layer.update_grid(torch.randn(300, 2), mode="quantile")
    fresh = BSplineKANLayer(2, 2, grid=5)
    fresh.load_state_dict(layer.state_dict())
    assert not fresh.uniform
    x = torch.rand(7, 2)
    torch.testing.assert_close(fresh(x), layer(x))


def test_variance_preserving_init_keeps_the_scale_through_depth():
    torch.manual_seed(1)
    x = torch.randn(4000, 32) * 2 / 3
    h = x
    for _ in range(8):
        h = BSplineKANLayer(32, 32, domain=(-2, 2))(h)
    ratio = (h.std() / x.std()).item()
    assert 0.5 < ratio < 2.0


def test_float32_and_float64_agree():
    layer = BSplineKANLayer(3, 2)
    x = torch.rand(10, 3) * 2 - 1
    y64 = layer(x)
    y32 = layer.float()(x.float())
    torch.testing.assert_close(y32.double(), y64, rtol=1e-5, atol=1e-6)
    layer.double()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"degree": 0}, "degree"),
        ({"grid": 0}, "grid"),
        ({"domain": (1.0, -1.0)}, "domain"),
        ({"in_features": 0}, "in_features"),
        ({"base": "swish2"}, "activation"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    args = {"in_features": 2, "out_features": 2, **kwargs}
    with pytest.raises(ValueError, match=name):
        BSplineKANLayer(**args)


def test_wrong_input_width_is_named():
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        BSplineKANLayer(3, 2)(torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        ChebyshevKANLayer(3, 2)(torch.zeros(5, 2))


@pytest.mark.parametrize("layer_cls", [BSplineKANLayer, ChebyshevKANLayer])
def test_an_empty_batch_gives_an_empty_output(layer_cls):
    layer = layer_cls(3, 2)
    x = torch.zeros(0, 3, requires_grad=True)
    y = layer(x)
    assert y.shape == (0, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
