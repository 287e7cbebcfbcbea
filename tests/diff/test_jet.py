import pytest
import torch
from torch import nn

from kinn.diff import jet, jet_of, register_jet_rule, rules, supports_jet
from kinn.nn import KAN, MLP, BSplineKANLayer, ChebyshevKANLayer


@pytest.fixture(autouse=True)
def _float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def _points(d=2, n=64):
    """Random points plus grid knots and the domain's ends (where bases switch pieces)."""
    x = torch.rand(n, d) * 2 - 1
    knots = torch.linspace(-1, 1, 11)
    x[:11, 0] = knots
    x[11:22, -1] = knots
    return x


def _rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


NETWORKS = {
    **{f"bspline_k{k}": lambda k=k: KAN([2, 5, 3, 2], grid=10, degree=k) for k in range(2, 8)},
    "chebyshev": lambda: KAN([2, 4, 2], basis="chebyshev", degree=6),
    "chebyshev_tanh_base": lambda: KAN([2, 4, 2], basis="chebyshev", degree=5, base="tanh"),
    "mlp_tanh": lambda: MLP([2, 16, 16, 2], activation="tanh"),
    **{f"mlp_{a}": lambda a=a: MLP([2, 8, 1], activation=a) for a in ("sin", "silu", "gelu")},
    "mlp_softplus": lambda: MLP([2, 8, 1], activation="softplus"),
    "mixed_stack": lambda: nn.Sequential(
        BSplineKANLayer(2, 4, grid=6, degree=3),
        nn.Linear(4, 4),
        nn.Tanh(),
        ChebyshevKANLayer(4, 3),
        nn.SiLU(),
        nn.Linear(3, 1),
    ),
}


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_jet_equals_nested_autograd(name, hessian):
    net = NETWORKS[name]()
    x = _points()
    ours = jet(net, x, order=2, hessian=hessian, derivatives="jet")
    ref = jet_of(net, x, order=2, hessian=hessian)
    assert _rel(ours.value, ref.value) < 1e-12
    assert _rel(ours.grad, ref.grad) < 1e-10
    assert _rel(ours.hess, ref.hess) < 1e-10
    assert ours.grad.shape == (64, ref.value.shape[1], 2)


def test_jet_on_a_non_uniform_grid_equals_autograd():
    net = KAN([3, 4, 1], grid=6, degree=4)
    net.update_grid(torch.randn(400, 3) * 0.4, mode="quantile")
    assert not net.layers[0].uniform
    x = torch.randn(50, 3) * 0.4
    ours, ref = jet(net, x, derivatives="jet"), jet_of(net, x)
    assert _rel(ours.hess, ref.hess) < 1e-10


def test_jet_loss_backpropagates_to_the_same_parameter_gradients():
    net = KAN([2, 6, 1], grid=8, degree=3)
    x = _points()

    def loss(j):
        return (j.laplacian() + j.value).square().mean() + j.grad.square().mean()

    params = list(net.parameters())
    g_jet = torch.autograd.grad(loss(jet(net, x, derivatives="jet")), params)
    g_ref = torch.autograd.grad(loss(jet_of(net, x)), params)
    for a, b in zip(g_jet, g_ref):
        assert _rel(a, b) < 1e-9


def test_outside_the_domain_the_c1_extension_matches_autograd():
    net = KAN([1, 3, 1], grid=5, domain=(-1, 1))
    x = torch.tensor([[-1.5], [-1.0], [1.0], [2.0]])
    ours, ref = jet(net, x, derivatives="jet"), jet_of(net, x)
    torch.testing.assert_close(ours.grad, ref.grad)
    torch.testing.assert_close(ours.hess, ref.hess)


def test_order_one_and_zero_give_fewer_terms():
    net = MLP([3, 8, 2])
    x = torch.rand(5, 3)
    j1 = jet(net, x, order=1)
    assert j1.hess is None and j1.grad.shape == (5, 2, 3)
    j0 = jet(net, x, order=0)
    assert j0.grad is None
    torch.testing.assert_close(j0.value, net(x))


def test_partial_names_and_products_follow_calculus():
    x = torch.rand(30, 2)
    f = jet_of(lambda x: torch.sin(x[:, :1]) * x[:, 1:], x)
    g = jet_of(lambda x: x[:, :1] ** 2 + x[:, 1:], x)
    prod = f * g
    ref = jet_of(lambda x: (torch.sin(x[:, :1]) * x[:, 1:]) * (x[:, :1] ** 2 + x[:, 1:]), x)
    torch.testing.assert_close(prod.hess, ref.hess)
    torch.testing.assert_close((f + g).grad, f.grad + g.grad)
    torch.testing.assert_close(f.partial("xt", ("x", "t"))[:, 0], torch.cos(x[:, 0]))
    torch.testing.assert_close(f.laplacian()[:, 0], -torch.sin(x[:, 0]) * x[:, 1])


def test_activation_settings_without_a_rule_fall_back_to_autograd():
    net = nn.Sequential(nn.Linear(2, 3), nn.GELU(approximate="tanh"), nn.Linear(3, 1))
    assert not supports_jet(net)
    x = torch.rand(6, 2)
    torch.testing.assert_close(jet(net, x).hess, jet_of(net, x).hess)


class Odd(nn.Module):
    """No jet rule: mixes its inputs through exp, optionally after a KAN layer."""

    def __init__(self, inner=None):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        x = x if self.inner is None else self.inner(x)
        return torch.exp(0.5 * x).sum(1, keepdim=True) * x


def test_a_network_without_rules_falls_back_to_autograd():
    net = Odd()
    assert not supports_jet(net)
    x = torch.rand(6, 2)
    torch.testing.assert_close(jet(net, x).hess, jet_of(net, x).hess)
    with pytest.raises(ValueError, match="no jet rule for module Odd"):
        jet(net, x, derivatives="jet")


@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_modules_without_rules_inside_a_stack_get_autograd_rows(hessian):
    net = nn.Sequential(
        BSplineKANLayer(2, 3, grid=5),
        Odd(),
        nn.Linear(3, 3),
        Odd(ChebyshevKANLayer(3, 2, degree=4)),
        nn.Tanh(),
    )
    assert not supports_jet(net)
    x = _points()
    ours, ref = jet(net, x, hessian=hessian), jet_of(net, x, hessian=hessian)
    for a, b in [(ours.value, ref.value), (ours.grad, ref.grad), (ours.hess, ref.hess)]:
        assert _rel(a, b) < 1e-12
    with pytest.raises(ValueError, match="no jet rule for module Odd"):
        jet(net, x, derivatives="jet")

    def loss(j):
        return j.hess.square().mean() + j.grad.square().mean()

    params = list(net.parameters())
    g_ours = torch.autograd.grad(loss(jet(net, x, hessian=hessian)), params)
    g_ref = torch.autograd.grad(loss(ref), params)
    for a, b in zip(g_ours, g_ref):
        assert _rel(a, b) < 1e-10


class RBFLayer(nn.Module):
    """A new KAN layer type in one class: Gaussian radial bases on every edge (FastKAN).

    x ``(N, I)`` -> ``(N, O)``; its jets come from ``jet_rows``, no edit to kinn needed.
    """

    def __init__(self, i, o, k=8):
        super().__init__()
        self.register_buffer("centres", torch.linspace(-1, 1, k))
        self.h = 2 / (k - 1)
        self.weight = nn.Parameter(torch.randn(o, i * k) / (i * k) ** 0.5)

    def bases(self, v, order):
        """``[b, b', b'']`` at v ``(N, I)``, each ``(N, I, K)``."""
        t = (v[..., None] - self.centres) / self.h
        b = torch.exp(-t * t)
        return [b, -2 * t * b / self.h, (4 * t * t - 2) * b / self.h**2][: order + 1]

    def forward(self, x):
        return self.bases(x, 0)[0].flatten(1) @ self.weight.t()

    def jet_rows(self, J, layout):
        rows = layout.pointwise(J, self.bases)  # (R, N, I, K)
        return layout.linear(rows.flatten(2), self.weight)


@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_a_new_layer_type_with_jet_rows_equals_nested_autograd(hessian):
    net = nn.Sequential(RBFLayer(2, 6), nn.Tanh(), RBFLayer(6, 2))
    assert supports_jet(net)
    x = _points()
    ours = jet(net, x, hessian=hessian, derivatives="jet")
    ref = jet_of(net, x, hessian=hessian)
    for a, b in [(ours.value, ref.value), (ours.grad, ref.grad), (ours.hess, ref.hess)]:
        assert _rel(a, b) < 1e-12
    params = list(net.parameters())
    g_ours = torch.autograd.grad(ours.hess.square().sum(), params)
    g_ref = torch.autograd.grad(ref.hess.square().sum(), params)
    for a, b in zip(g_ours, g_ref):
        assert _rel(a, b) < 1e-10


class Cube(nn.Module):
    def forward(self, x):
        return x**3


def test_a_registered_rule_gives_a_module_type_jets(monkeypatch):
    monkeypatch.setattr(rules, "_RULES", dict(rules._RULES))  # leave the registry as it was
    net = nn.Sequential(nn.Linear(2, 3), Cube(), nn.Linear(3, 1))
    assert not supports_jet(net)
    register_jet_rule(
        Cube, lambda m, J, layout: layout.pointwise(J, lambda v, n: [v**3, 3 * v**2, 6 * v])
    )
    assert supports_jet(net)
    x = _points()
    torch.testing.assert_close(jet(net, x, derivatives="jet").hess, jet_of(net, x).hess)
    with pytest.raises(ValueError, match="cls must be a torch.nn.Module subclass"):
        register_jet_rule(int, lambda m, J, layout: J)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"order": 3}, "order"),
        ({"hessian": "band"}, "hessian"),
        ({"derivatives": "fd"}, "derivatives"),
    ],
)
def test_bad_jet_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        jet(MLP([2, 3, 1]), torch.rand(4, 2), **kwargs)


@pytest.mark.parametrize("derivatives", ["jet", "autograd"])
def test_second_derivative_is_continuous_where_a_hidden_value_leaves_the_grid(derivatives):
    # A strong-form residual must not jump when a parameter moves a hidden value across the
    # next layer's grid end: a quasi-Newton line search meets such a jump as a wall.
    torch.manual_seed(0)
    inner = BSplineKANLayer(1, 1, grid=5, domain=(-1.0, 1.0)).double()
    outer = BSplineKANLayer(1, 1, grid=5, domain=(-1.0, 1.0)).double()
    with torch.no_grad():
        for layer in (inner, outer):
            layer.spline_weight.normal_()
    net = nn.Sequential(inner, outer)
    x = torch.tensor([[0.3]], dtype=torch.float64)
    with torch.no_grad():  # put the hidden value exactly on the outer grid's end
        inner.bias.add_(1.0 - inner(x)[0, 0])
    uxx = []
    for shift in (-1e-9, 0.0, 1e-9):
        with torch.no_grad():
            inner.bias.add_(shift)
        uxx.append(float(jet(net, x, derivatives=derivatives).hess.detach().reshape(-1)[0]))
        with torch.no_grad():
            inner.bias.sub_(shift)
    assert abs(outer.spline_weight).sum() > 0 and abs(uxx[1]) > 1e-3
    assert abs(uxx[0] - uxx[1]) < 1e-6 and abs(uxx[2] - uxx[1]) < 1e-6
