import pytest
import torch

from kinn.geometry import Rectangle, rad, rar


def peaked(x):
    """A residual concentrated near the corner (1, 1)."""
    return torch.exp(-50 * ((x - 1) ** 2).sum(dim=1))


def test_rar_returns_the_points_of_largest_residual():
    square = Rectangle([0, 0], [1, 1])
    new = rar(square, peaked, n_candidates=2000, n_add=20, seed=0)
    assert new.shape == (20, 2) and square.inside(new).all()
    candidates = square.sample_interior(2000, "random", seed=0)
    threshold = peaked(candidates).topk(20).values.min()
    assert (peaked(new) >= threshold).all() and (peaked(new) > 0.4).all()


def test_rad_concentrates_points_where_the_residual_is_large():
    square = Rectangle([0, 0], [1, 1])
    new = rad(square, peaked, 400, k=2, c=0.0, seed=0)
    uniform = square.sample_interior(400, "random", seed=0)
    assert new.shape == (400, 2) and square.inside(new).all()
    assert peaked(new).mean() > 3 * peaked(uniform).mean()
    assert torch.equal(new, rad(square, peaked, 400, k=2, c=0.0, seed=0))


def test_adaptive_hooks_reject_bad_counts():
    square = Rectangle([0, 0], [1, 1])
    with pytest.raises(ValueError, match="n_add"):
        rar(square, peaked, 10, 0)
    with pytest.raises(ValueError, match="exceeds"):
        rar(square, peaked, 10, 20)
    with pytest.raises(ValueError, match="k >= 0"):
        rad(square, peaked, 10, k=-1)
