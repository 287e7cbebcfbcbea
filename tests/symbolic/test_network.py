import random

import numpy as np
import pytest
import sympy
import torch

from kinn.nn import KAN
from kinn.symbolic import (
    SymbolicKAN,
    assemble_formula,
    auto_symbolic,
    edge_scores,
    fit_arrays,
    fit_edge,
    prune,
    sparsity_penalty,
    train_affine,
)


def _train(model, x, y, steps=60):
    opt = torch.optim.LBFGS(model.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        return loss

    opt.step(closure)


def test_symbolic_wrapper_without_locked_edges_is_the_network():
    kan = KAN([2, 3, 1]).double()
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    assert torch.allclose(SymbolicKAN(kan)(x), kan(x))


def test_sparsity_penalty_is_a_differentiable_scalar():
    kan = KAN([2, 3, 1]).double()
    x = torch.rand(40, 2, dtype=torch.float64)
    pen = sparsity_penalty(kan, x)
    pen.backward()
    assert pen.ndim == 0 and pen > 0
    assert kan.layers[0].spline_weight.grad is not None
    with pytest.raises(ValueError, match="l1"):
        sparsity_penalty(kan, x, l1=-1.0)


def test_prune_removes_the_edges_of_an_unused_input():
    torch.manual_seed(0)
    kan = KAN([2, 2, 1], grid=5).double()
    x = torch.rand(200, 2, dtype=torch.float64) * 2 - 1
    y = torch.sin(2 * x[:, :1])
    _train(kan, x, y, 80)
    with torch.no_grad():  # make the unused input's edges clearly weak
        kan.layers[0].spline_weight[1].mul_(1e-3)
        kan.layers[0].base_weight[1].mul_(1e-3)
    scores = edge_scores(kan, x)
    assert scores[0].shape == (2, 2) and float(scores[0].max()) == pytest.approx(1.0)
    masks = prune(kan, x, threshold=0.05)
    assert masks[0][1].sum() == 0
    assert torch.equal(kan.layers[0].edge_mask, masks[0])


def test_assemble_formula_composes_edges_masks_and_biases():
    x1, x2 = sympy.symbols("x1 x2")
    edges = [
        {(0, 0): lambda u: 2 * u, (1, 0): lambda u: u**2, (1, 1): sympy.sin},
        {(0, 0): sympy.exp, (1, 0): lambda u: 3 * u},
    ]
    masks = [np.array([[1, 0], [1, 0]]), np.array([[1], [1]])]
    biases = [np.array([0.5, 0.0]), np.array([1.0])]
    (out,) = assemble_formula(edges, masks, biases, [x1, x2])
    want = sympy.exp(2 * x1 + x2**2 + 0.5) + 3 * 0 + 1.0
    assert sympy.simplify(out - want) == 0
    with pytest.raises(ValueError, match="no formula"):
        assemble_formula([{}], [np.ones((1, 1))], [np.zeros(1)], [x1])


def test_auto_symbolic_locks_every_edge_and_the_formula_matches_the_network():
    torch.manual_seed(0)
    kan = KAN([2, 1], grid=8).double()
    x = torch.rand(300, 2, dtype=torch.float64) * 2 - 1
    y = (torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)[:, None]
    _train(kan, x, y, 100)
    sym, fits = auto_symbolic(kan, x)
    assert sym.is_symbolic() and set(fits) == {(0, 0, 0), (0, 1, 0)}
    assert fits[(0, 0, 0)].chosen.name in {"sin", "cos"}
    assert fits[(0, 1, 0)].chosen.name == "x^2"
    mse = train_affine(sym, x, y)
    assert mse < 1e-4
    (formula,) = sym.formula(list(sympy.symbols("a b")))
    f = sympy.lambdify(sympy.symbols("a b"), formula, "numpy")
    xt = torch.rand(100, 2, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        net = sym(xt)[:, 0].numpy()
    assert np.allclose(f(*xt.numpy().T), net, atol=1e-8)
    assert np.allclose(f(*xt.numpy().T), np.sin(np.pi * xt[:, 0].numpy()) + xt[:, 1].numpy() ** 2,
                       atol=2e-2)  # fmt: skip


def test_locked_edge_replaces_the_spline_of_that_edge_only():
    kan = KAN([1, 1]).double()
    x = torch.linspace(-1, 1, 64, dtype=torch.float64)[:, None]
    sym = SymbolicKAN(kan)
    fit = fit_edge(np.linspace(-1, 1, 64), np.sin(np.linspace(-1, 1, 64))).chosen
    sym.lock(0, 0, 0, fit)
    want = torch.sin(x[:, 0]) + kan.layers[0].bias[0]
    assert torch.allclose(sym(x)[:, 0], want, atol=1e-9)
    with pytest.raises(ValueError, match="outside layer"):
        sym.lock(0, 2, 0, fit)
    with pytest.raises(ValueError, match="every unmasked edge"):
        SymbolicKAN(KAN([1, 2, 1])).formula()


def test_training_and_fitting_leave_the_callers_random_streams_alone():
    X = np.linspace(-1, 1, 60)[:, None]
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    fit_arrays(X, np.sin(2 * X[:, 0]), hidden=2, steps=20)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert random.getstate() == states[2]
