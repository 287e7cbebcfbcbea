import pytest
import torch

from kinn.nn import HIDDEN_DOMAIN, KAN, MLP


def test_kan_and_mlp_share_the_calling_convention():
    x = torch.rand(9, 2)
    for net in (KAN([2, 5, 3]), KAN([2, 5, 3], basis="chebyshev"), MLP([2, 5, 3])):
        assert net(x).shape == (9, 3)


def test_kan_refine_keeps_the_network_function():
    net = KAN([2, 4, 1], grid=5, domain=[(-1, 1), (-3, 3)])
    x = torch.rand(400, 2) * 2 - 1
    before = net(x).detach()
    net.refine(10)
    after = net(x).detach()
    assert ((after - before).norm() / before.norm()).item() < 1e-4


def test_a_small_kan_fits_a_smooth_function():
    torch.manual_seed(0)
    x = torch.rand(512, 2) * 2 - 1
    y = torch.sin(torch.pi * x[:, :1]) * x[:, 1:] ** 2
    net = KAN([2, 5, 1], grid=8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = (net(x) - y).square().mean()
        loss.backward()
        opt.step()
    assert loss.item() < 2e-3 * y.square().mean().item() * 10


def test_compiled_forward_matches_eager():
    net = KAN([2, 4, 1])
    x = torch.rand(32, 2) * 2 - 1
    compiled = torch.compile(net, backend="eager", fullgraph=False)
    torch.testing.assert_close(compiled(x), net(x))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"width": [2]}, "width"),
        ({"width": [2, 0, 1]}, "width"),
        ({"width": [2, 3, 1], "basis": "fourier"}, "basis"),
        ({"width": [2, 3, 1], "hidden_domain": (2, -2)}, "hidden_domain"),
    ],
)
def test_bad_network_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        KAN(**kwargs)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        MLP([2, 3, 1], activation="swoosh")


def _bounds(net):
    return [layer.domain_bounds()[0].tolist() for layer in net.layers]


def test_hidden_layers_default_to_the_wider_hidden_domain():
    assert _bounds(KAN([2, 5, 5, 1])) == [[-1, 1], list(HIDDEN_DOMAIN), list(HIDDEN_DOMAIN)]
    assert _bounds(KAN([2, 5, 1], hidden_domain=(-2, 2))) == [[-1, 1], [-2, 2]]
    assert _bounds(KAN([2, 5, 1], domain=[(0, 1), (-3, 3)])) == [[0, 1], [-3, 3]]


@pytest.mark.parametrize("overrides", [[], ["model.hidden_domain=[-2,2]"]])
def test_the_app_builds_the_kan_that_python_builds(overrides):
    from hydra import compose, initialize_config_module

    from kinn.app.build import build_network
    from kinn.app.schema import register

    register()
    with initialize_config_module("kinn.conf", version_base="1.3"):
        cfg = compose("config", overrides=["model=kan", *overrides])
    net, _ = build_network(cfg.model, 2, 1)
    hidden = (-2, 2) if overrides else None
    assert _bounds(net) == _bounds(KAN([2, 16, 16, 1], hidden_domain=hidden))
